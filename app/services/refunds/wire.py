"""WIRE refunds (docs/DOMAIN.md §6): a refund part of a wire payment is paid out as a disbursement (代付,
docs/DOMAIN.md §9) to the reseller's registered refund bank account (``refundBankAccount``, docs/API.md §6).

Who pays: the payout merchant named by ``REFUND_PAYOUT_MERCHANT_ID`` (default ``M1001``, the
merchant the demo seed creates). docs/DOMAIN.md §9 has one disbursement service whose merchants are
configured by an admin or the CLI and names no separate refund account, so a wire refund goes
through that configured merchant, its single and daily limits and the same payout gateway as
settlement's payouts; its request id is ``refund:<part transaction id>`` (a prefix the API refuses).

- Instruction (in the refund's transaction): the reseller must have a refund account whose bank
  code is in the configured list, the merchant must be active and the amount within its limits;
  otherwise the refund is refused (409 STATE_CONFLICT) and nothing is stored. The disbursement row
  (INIT, ``source`` REFUND, linked to the part) is inserted in that same transaction.
- After commit the bank is called (``disbursements.send``). A crash in between leaves the INIT row
  to the poller, which sends it with the same number (the gateway is idempotent per number).
- When the disbursement reaches a final state (the bank's answer, its callback, polling, or
  finance's MANUAL settlement) ``on_payout_final`` settles the part in that same transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from ...domain.enums import DisbursementStatus, PayoutSource
from ...domain.errors import StateConflict, ValidationFailed
from ...extensions import db
from ...models import Channel, Disbursement, PaymentTransaction, Refund, Reseller
from ...models.types import now_utc
from ..payouts import bank as payout_bank
from ..payouts import creation as payouts
from ..payouts import request as payout_request
from ..platform import crypto
from ..platform.actor import Actor
from ..platform.unit_of_work import discard
from .part_settlement import apply_part_outcome

log = logging.getLogger(__name__)

DEFAULT_MERCHANT_ID = "M1001"


@dataclass(frozen=True)
class RefundAccount:
    account_no: str
    account_name: str
    bank_code: str


def merchant_id() -> str:
    return current_app.config.get("REFUND_PAYOUT_MERCHANT_ID") or DEFAULT_MERCHANT_ID


def refund_account(reseller_id: int) -> RefundAccount:
    """The reseller's registered refund account; StateConflict when it has none that can be paid."""
    r = db.session.get_one(Reseller, reseller_id)
    if not r.refund_account_no_enc:
        raise StateConflict(f"reseller {r.code} has no registered refund bank account (refundBankAccount); "
                            f"a WIRE refund is paid out to it")
    if r.refund_bank_code not in payout_request.bank_codes():
        raise StateConflict(f"the refund bank account of reseller {r.code} has bank code {r.refund_bank_code}, "
                            f"which is not one of {', '.join(payout_request.bank_codes())}")
    return RefundAccount(crypto.decrypt(r.refund_account_no_enc), r.refund_account_name or r.name,
                         r.refund_bank_code)


def start(actor: Actor, part: PaymentTransaction, refund: Refund) -> str:
    """In the refund's transaction: the payout of one PROCESSING WIRE part (INIT). Returns its number."""
    account = refund_account(part.reseller_id)
    channel = payout_bank.payout_channel_code()
    if db.session.scalar(sa.select(Channel.id).where(Channel.code == channel)) is None:
        raise StateConflict(f"the payout channel {channel} is not configured; a WIRE refund cannot be paid out")
    req = payout_request.DisbursementRequest(
        request_id=payout_request.RESERVED_REQUEST_PREFIX + part.transaction_id, merchant_id=merchant_id(),
        bank_account_no=account.account_no, bank_account_name=account.account_name,
        bank_code=account.bank_code, amount=-part.amount, purpose=f"refund {refund.refund_order_id}"[:200])
    try:
        d = payouts.insert_order(actor, req, req.fingerprint(), now_utc(), source=PayoutSource.REFUND,
                                 refund_transaction_pk=part.id)
    except ValidationFailed as exc:
        raise StateConflict(f"the refund cannot be paid out by merchant {req.merchant_id}: {exc.message}") from exc
    part.channel_transaction_id = d.order_no
    return d.order_no


def send(order_no: str) -> str:
    """After commit: ask the bank to pay (no transaction open). Returns the payout's status."""
    try:
        return payouts.send(order_no)
    except Exception:  # the refund is committed; the poller sends an INIT payout later
        discard()
        log.exception("refund payout %s not sent now; the poller will send it", order_no)
        return DisbursementStatus.INIT


def on_payout_final(d: Disbursement, actor: Actor) -> None:
    """The final-state handler of REFUND payouts (registered in services/connections.py), called in
    the transaction that makes ``d`` final: the part it pays settles the same way."""
    part = db.session.scalar(sa.select(PaymentTransaction).where(
        PaymentTransaction.id == d.refund_transaction_id).with_for_update())
    if part is None or not apply_part_outcome(part, d.status, d.fail_reason or "", actor, d.order_no):
        log.error("payout %s is %s but its refund part is not PROCESSING; left as is", d.order_no, d.status)
