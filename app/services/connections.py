"""Connections between areas that must not import each other, made once when the app is built.

Payouts know nothing of why a payout was made; an area that makes payouts for its own purpose
registers what must settle with them when they become final (payouts/final_state.py):

- REFUND payouts pay WIRE refund parts: the part settles with its payout (refunds/wire.py).
- BATCH payouts pay the rows of a finance batch: the batch completes with its last payout
  (payouts/batch_run.py).

Documents: the kinds of document are entries of ``documents/registry.py``, registered here; a
merged payment that completes with money paid asks for its receipt (settlement/merged_status.py
``on_completed`` → documents/receipts.py), a refund that paid money back asks for its refund receipt
(refunds/part_settlement.py ``on_refund_final`` → documents/refund_receipts.py); statements and finance
reports register their types (statements/document.py, reports/document.py).

Wallet changes know nothing of bank receipts: an unidentified receipt assigned to a reseller above its
approval threshold waits with its top-up, and follows the second finance user's decision
(ledgers/wallet_changes.py ``on_decided`` → reconciliation/receipt_actions.py); so does a
reconciliation exception whose accepted channel SUCCESS waits as a wallet top-up
(→ reconciliation/exception_approval.py).

Notifications: a completed merged payment tells every user of the paying company
(notifications/announcements.py).

Webhooks: a commit that wrote outbox events wakes their delivery (platform/outbox.py ``on_committed``
→ webhooks/wake.py).
"""

from __future__ import annotations

from ..domain.enums import PayoutSource
from .documents import receipts, refund_receipts
from .ledgers import wallet_changes
from .notifications import announcements
from .payouts import batch_run
from .payouts import final_state as payout_final_state
from .platform import outbox
from .reconciliation import day_document as reconciliation_day_document
from .reconciliation import exception_approval, receipt_actions
from .refunds import part_settlement as refund_settlement
from .refunds import wire as refund_wire
from .reports import document as report_document
from .settlement import merged_status
from .statements import document as statement_document
from .webhooks import wake as webhook_wake


def connect_areas() -> None:
    payout_final_state.on_final(PayoutSource.REFUND, refund_wire.on_payout_final)
    payout_final_state.on_final(PayoutSource.BATCH, batch_run.on_payout_final)
    receipts.register()
    statement_document.register()
    report_document.register()
    reconciliation_day_document.register()
    merged_status.on_completed(receipts.on_merged_completed)
    merged_status.on_completed(announcements.on_merged_completed)
    refund_receipts.register()
    refund_settlement.on_refund_final(refund_receipts.on_refund_final)
    wallet_changes.on_decided(receipt_actions.on_wallet_change_decided)
    wallet_changes.on_decided(exception_approval.on_wallet_change_decided)
    outbox.on_committed(webhook_wake.wake)
