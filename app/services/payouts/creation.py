"""Creating a payout (代付, docs/DOMAIN.md §9, docs/API.md §9), instructed by settlement through the
API, caused by a WIRE refund (refunds/wire.py) or by a finance batch.

Flow: ``create`` validates, inserts an INIT row (unique ``request_id``) and commits, then calls the
bank with no transaction open (``payouts/bank.py``), using our ``order_no`` as ``merchantPayoutNo``
(the gateway is idempotent per number, so any repeat of the call never pays twice). A synchronous
answer is final; PROCESSING, a timeout or a connection error leave the order PROCESSING with
``next_poll_at``. ``polling.poll_due`` (worker) queries due orders with backoff (5 s doubling,
MAX_POLL_ATTEMPTS), then parks them as MANUAL for finance (``manual.settle_manual``). The bank's
signed callback is ``callback``. A final state (``final_state.finish``) writes
``disbursement.completed`` to the outbox, queues the notifyUrl delivery (``notify``) and settles
what the payout was for, all in one transaction. Merchants and their limits: ``merchants``.

Account numbers: encrypted (``account_no_enc``) plus a masked copy; only the masked form is put in
audit rows, outbox payloads, logs and responses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...domain import numbers
from ...domain.enums import DisbursementStatus, PayoutSource
from ...domain.errors import IdempotencyKeyReused, ValidationFailed
from ...domain.money import money_str
from ...domain.timeutil import SHANGHAI, shanghai_day_bounds
from ...extensions import db
from ...models import Disbursement, Merchant
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import crypto
from ..platform.actor import SYSTEM, Actor
from ..platform.unit_of_work import discard, transaction
from . import bank as payout_bank
from .bank import BankAnswer
from .final_state import apply_answer
from .merchants import lock_merchant
from .request import RESERVED_PREFIXES, DisbursementRequest, validate
from .view import get

INIT_GRACE = timedelta(seconds=60)  # an INIT order whose bank call never finished is retried after this


@dataclass(frozen=True)
class Created:
    order: Disbursement
    duplicate: bool

    @property
    def status_code(self) -> int:
        return 200 if self.duplicate else 201


def _existing(request_id: str) -> Disbursement | None:
    return db.session.scalar(sa.select(Disbursement).where(Disbursement.request_id == request_id))


def _replay(existing: Disbursement, fingerprint: str) -> Created:
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused("requestId was already used with a different body")
    return Created(existing, duplicate=True)


def create(actor: Actor, req: DisbursementRequest, now: datetime | None = None) -> Created:
    """Validate, store INIT, call the bank (outside any transaction), apply its answer."""
    fingerprint = req.fingerprint()
    with transaction():
        existing = _existing(req.request_id)
        if existing is not None:
            return _replay(existing, fingerprint)
    if req.request_id.startswith(RESERVED_PREFIXES):
        raise ValidationFailed(f"requestId may not start with {' or '.join(map(repr, RESERVED_PREFIXES))}",
                               field="requestId")
    validate(req)
    try:
        with transaction():
            merchant = lock_merchant(req.merchant_id)
            existing = _existing(req.request_id)  # a concurrent first call committed meanwhile
            if existing is not None:
                return _replay(existing, fingerprint)
            order_no = insert_order(actor, req, fingerprint, now or now_utc(), merchant=merchant).order_no
    except IntegrityError:
        discard()
        with transaction():
            existing = _existing(req.request_id)
            if existing is None:
                raise
            return _replay(existing, fingerprint)
    send(order_no, now)
    with transaction():
        return Created(get(order_no), duplicate=False)


def send(order_no: str, now: datetime | None = None) -> str:
    """Call the bank for a stored INIT order (no transaction open) and apply its answer."""
    return apply_answer(order_no, call_bank(order_no), SYSTEM, now=now, from_create=True)


def insert_order(actor: Actor, req: DisbursementRequest, fingerprint: str, now: datetime,
                 source: PayoutSource = PayoutSource.API,
                 refund_transaction_pk: int | None = None, merchant: Merchant | None = None) -> Disbursement:
    """Store a request as an INIT order, in the caller's transaction: valid, the merchant active and
    the amount within its single and daily limits (ValidationFailed otherwise)."""
    validate(req)
    merchant = merchant or lock_merchant(req.merchant_id)
    if req.amount > merchant.single_limit:
        raise ValidationFailed(f"amount above the single limit {money_str(merchant.single_limit)}",
                               field="amount")
    start, end = shanghai_day_bounds(now.astimezone(SHANGHAI).date())
    used = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Disbursement.amount), 0)).where(
        Disbursement.merchant_id == merchant.id, Disbursement.status != DisbursementStatus.FAILED,
        Disbursement.created_at >= start, Disbursement.created_at < end)) or Decimal("0")
    if Decimal(used) + req.amount > merchant.daily_limit:
        raise ValidationFailed(f"amount above the daily limit {money_str(merchant.daily_limit)} "
                               f"(used today {money_str(Decimal(used))})", field="amount")
    masked = crypto.mask_account(req.bank_account_no)
    d = Disbursement(
        order_no=numbers.disbursement_no(), request_id=req.request_id, request_hash=fingerprint,
        merchant_id=merchant.id, account_no_enc=crypto.encrypt(req.bank_account_no),
        account_no_masked=masked, account_name=req.bank_account_name, bank_code=req.bank_code,
        amount=req.amount, currency=req.currency, purpose=req.purpose or "", client_ip=req.client_ip,
        notify_url=req.notify_url, status=DisbursementStatus.INIT, source=source,
        refund_transaction_id=refund_transaction_pk,
        poll_attempts=0, next_poll_at=now + INIT_GRACE, created_at=now, updated_at=now,
    )
    db.session.add(d)
    db.session.flush()
    audit.record(actor, "disbursement.create", "disbursement", d.order_no, None, {
        "merchantId": req.merchant_id, "amount": money_str(req.amount), "bankCode": req.bank_code,
        "bankAccountNo": masked, "requestId": req.request_id, "source": source, "status": DisbursementStatus.INIT})
    return d


def call_bank(order_no: str) -> BankAnswer:
    """Send a stored order to the bank (no transaction open while it runs)."""
    with transaction():
        d = get(order_no)
        payload = {"accountNo": crypto.decrypt(d.account_no_enc), "accountName": d.account_name,
                   "bankCode": d.bank_code, "amount": money_str(d.amount), "purpose": d.purpose or "",
                   "notifyUrl": payout_bank.callback_url()}
    return payout_bank.pay(order_no, payload)

