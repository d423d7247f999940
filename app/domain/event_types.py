"""The catalogue of outbox event types (docs/DOMAIN.md §7, docs/API.md §10): the one list that the
emitters use (``services/platform/outbox.emit`` takes an ``EventType``), that webhook endpoints
subscribe to, and that ``GET /api/v1/integration/event-types`` answers.

A type in ``RESERVED`` is in the API contract but not emitted by this version yet (the capability
that emits it is not built); endpoints may subscribe to it ahead of time. tests/unit/test_event_types.py
holds the catalogue to the code both ways: every type is emitted somewhere or reserved, nothing is
emitted that is not in the catalogue.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    PAYMENT_ORDER_CREATED = "payment_order.created"
    PAYMENT_ORDER_UPDATED = "payment_order.updated"
    PAYMENT_ORDER_STATUS_CHANGED = "payment_order.status_changed"
    PAYMENT_ORDER_DEADLINE_REMINDER = "payment_order.deadline_reminder"
    TRANSACTION_SUCCEEDED = "transaction.succeeded"
    TRANSACTION_FAILED = "transaction.failed"
    MERGED_PAYMENT_COMPLETED = "merged_payment.completed"
    REFUND_CREATED = "refund.created"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    CREDIT_REPAYMENT_COMPLETED = "credit_repayment.completed"
    CREDIT_REPAYMENT_FAILED = "credit_repayment.failed"
    WALLET_CHANGED = "wallet.changed"
    VOUCHER_UPLOADED = "voucher.uploaded"
    VOUCHER_REJECTED = "voucher.rejected"
    DISBURSEMENT_COMPLETED = "disbursement.completed"
    DISBURSEMENT_BATCH_COMPLETED = "disbursement_batch.completed"
    RECONCILIATION_COMPLETED = "reconciliation.completed"
    RECONCILIATION_EXCEPTIONS_FOUND = "reconciliation.exceptions_found"
    STATEMENT_READY = "statement.ready"
    RESELLER_UPSERTED = "reseller.upserted"
    ALERT_RAISED = "alert.raised"


DESCRIPTIONS: dict[EventType, str] = {
    EventType.PAYMENT_ORDER_CREATED: "A payment order was created (the order as GET .../status shows it).",
    EventType.PAYMENT_ORDER_UPDATED: "A payment order's amount, deadline, description, priority or tags changed.",
    EventType.PAYMENT_ORDER_STATUS_CHANGED: "A payment order's payment or refund status changed "
                                            "(orderId, status, paid and remaining amounts, channel, transaction).",
    EventType.PAYMENT_ORDER_DEADLINE_REMINDER: "A payment order's deadline is 7, 3 or 1 days away, or past.",
    EventType.TRANSACTION_SUCCEEDED: "A payment transaction succeeded.",
    EventType.TRANSACTION_FAILED: "A payment transaction failed, expired or was cancelled (with the reason).",
    EventType.MERGED_PAYMENT_COMPLETED: "Every channel payment of a merged payment is final.",
    EventType.REFUND_CREATED: "A refund was accepted and allocated to payments.",
    EventType.REFUND_SUCCEEDED: "A part of a refund was paid back.",
    EventType.REFUND_FAILED: "A part of a refund failed (with the reason).",
    EventType.CREDIT_REPAYMENT_COMPLETED: "A credit record was repaid (in full or in part).",
    EventType.CREDIT_REPAYMENT_FAILED: "A credit repayment was reversed or could not be booked.",
    EventType.WALLET_CHANGED: "Finance topped up or adjusted a reseller's wallet.",
    EventType.VOUCHER_UPLOADED: "A reseller uploaded a wire transfer voucher.",
    EventType.VOUCHER_REJECTED: "Finance rejected a wire transfer voucher (with the reason).",
    EventType.DISBURSEMENT_COMPLETED: "A disbursement (payout) reached SUCCESS or FAILED.",
    EventType.DISBURSEMENT_BATCH_COMPLETED: "Every payout of a disbursement batch is final.",
    EventType.RECONCILIATION_COMPLETED: "A channel's daily reconciliation finished.",
    EventType.RECONCILIATION_EXCEPTIONS_FOUND: "A daily reconciliation found differences for finance to resolve.",
    EventType.STATEMENT_READY: "A reseller's monthly statement is ready to download.",
    EventType.RESELLER_UPSERTED: "A reseller's master data was created or changed.",
    EventType.ALERT_RAISED: "An operational alert was opened (id, kind, severity, subject, message, details); "
                            "sent once per alert.",
}

# In the contract (docs/API.md §10), not emitted by this version (none now: every type has its emitter).
RESERVED: frozenset[EventType] = frozenset()

# Not an event: the kind of the outbox rows that carry a disbursement's notifyUrl deliveries
# (services/payouts/notify.py). They never reach webhook endpoints (their status is NOTIFY).
NOTIFY_URL_ROW = "disbursement.notify"

# Subscribing to this means every type, including those added later.
ALL = "*"


def describe(event_type: EventType) -> str:
    text = DESCRIPTIONS[event_type]
    return f"{text} (Not emitted by this version yet.)" if event_type in RESERVED else text


def catalogue() -> list[tuple[str, str]]:
    """(type, description) of every type, in catalogue order."""
    return [(t.value, describe(t)) for t in EventType]


def is_known(name: str) -> bool:
    return name in EventType._value2member_map_
