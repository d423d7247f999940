"""Disbursements (代付, DESIGN.md §9, API.md §9): payouts to bank accounts, instructed by settlement
through the API or caused by a WIRE refund (refund_wire).

Flow: ``create`` validates, inserts an INIT row (unique ``request_id``) and commits, then calls the
bank with no transaction open (disbursement_bank), using our ``order_no`` as ``merchantPayoutNo``
(the gateway is idempotent per number, so any repeat of the call never pays twice). A synchronous
answer is final; PROCESSING, a timeout or a connection error leave the order PROCESSING with
``next_poll_at``. ``poll_due`` (worker) queries due orders with backoff (5 s doubling,
MAX_POLL_ATTEMPTS), then parks them as MANUAL for finance (``settle_manual``). The bank's signed
callback is disbursement_callback. A final state (``finish``) writes ``disbursement.completed`` to
the outbox (webhooks), queues the notifyUrl delivery (disbursement_notify) and settles the refund
part a refund payout pays, all in one transaction. Merchants and their limits: payout_merchants.

Account numbers: encrypted (``account_no_enc``) plus a masked copy; only the masked form is put in
audit rows, outbox payloads, logs and responses.

The names other modules use are importable from here.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..domain.errors import Forbidden, IdempotencyKeyReused, NotFound, StateConflict, ValidationFailed
from ..domain.money import money_str
from ..domain.timeutil import SHANGHAI, shanghai_day_bounds, to_shanghai_iso
from ..extensions import db
from ..models import Disbursement, Merchant
from ..models.types import now_utc
from . import audit, crypto, disbursement_bank, disbursement_notify, ids, outbox
from .actor import SYSTEM, Actor
from .disbursement_bank import BankAnswer, payout_channel_code
from .disbursement_notify import deliver_notifications, notify_secret
from .idempotency import request_fingerprint
from .payout_merchants import lock_merchant, upsert_merchant
from .tx import transaction

__all__ = [
    "DisbursementRequest", "Created", "BankAnswer", "create", "send", "insert_order", "get", "view",
    "poll_due", "settle_manual", "deliver_notifications", "notify_secret", "upsert_merchant",
    "bank_codes", "payout_channel_code", "MAX_POLL_ATTEMPTS", "RESERVED_REQUEST_PREFIX",
]

log = logging.getLogger(__name__)

DEFAULT_BANK_CODES = ("ICBC", "ABC", "BOC", "CCB", "BOCOM", "CMB", "SPDB", "CITIC")
FIRST_POLL = timedelta(seconds=5)
MAX_POLL_ATTEMPTS = 8
INIT_GRACE = timedelta(seconds=60)  # an INIT order whose bank call never finished is retried after this
OPEN = ("INIT", "PROCESSING")
RESERVED_REQUEST_PREFIX = "refund:"  # request ids of the payouts that pay WIRE refunds (refund_wire)
FINAL = ("SUCCESS", "FAILED")
ACCOUNT_RE = re.compile(r"^\d{6,32}$")


@dataclass(frozen=True)
class DisbursementRequest:
    request_id: str
    merchant_id: str
    bank_account_no: str
    bank_account_name: str
    bank_code: str
    amount: Decimal
    currency: str = "CNY"
    purpose: str = ""
    client_ip: str | None = None
    notify_url: str | None = None

    def fingerprint(self) -> str:
        return request_fingerprint({
            "merchantId": self.merchant_id, "bankAccountNo": self.bank_account_no,
            "bankAccountName": self.bank_account_name, "bankCode": self.bank_code,
            "amount": money_str(self.amount), "currency": self.currency, "purpose": self.purpose or "",
            "clientIp": self.client_ip, "notifyUrl": self.notify_url,
        })


@dataclass(frozen=True)
class Created:
    order: Disbursement
    duplicate: bool

    @property
    def status_code(self) -> int:
        return 200 if self.duplicate else 201


# --- helpers ------------------------------------------------------------------------------------

def bank_codes() -> tuple[str, ...]:
    codes = current_app.config.get("BANK_CODES") or DEFAULT_BANK_CODES
    if isinstance(codes, str):
        codes = [c.strip() for c in codes.split(",") if c.strip()]
    return tuple(codes)


def _is_pg() -> bool:
    return db.engine.dialect.name == "postgresql"


def view(d: Disbursement) -> dict:
    """The order as shown (account masked)."""
    return {"orderNo": d.order_no, "status": d.status, "amount": money_str(d.amount), "currency": d.currency,
            "bankCode": d.bank_code, "bankAccountNo": d.account_no_masked, "bankSerialNo": d.bank_serial_no,
            "failReason": d.fail_reason, "completedAt": to_shanghai_iso(d.completed_at)}


def get(order_no: str) -> Disbursement:
    d = db.session.scalar(sa.select(Disbursement).where(Disbursement.order_no == order_no))
    if d is None:
        raise NotFound(f"no disbursement {order_no}")
    return d


def _validate(req: DisbursementRequest) -> None:
    if not ACCOUNT_RE.match(req.bank_account_no or ""):
        raise ValidationFailed("bank account number must be 6–32 digits", field="bankAccountNo")
    if req.bank_code not in bank_codes():
        raise ValidationFailed(f"bank code must be one of {', '.join(bank_codes())}", field="bankCode")
    amount = req.amount
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or amount.as_tuple().exponent < -2:
        raise ValidationFailed("amount must be positive with at most two decimals", field="amount")
    if req.currency != "CNY":
        raise ValidationFailed("only CNY is supported", field="currency")
    if not (req.bank_account_name or "").strip():
        raise ValidationFailed("account name is required", field="bankAccountName")


def _existing(request_id: str) -> Disbursement | None:
    return db.session.scalar(sa.select(Disbursement).where(Disbursement.request_id == request_id))


def _replay(existing: Disbursement, fingerprint: str) -> Created:
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused("requestId was already used with a different body")
    return Created(existing, duplicate=True)


# --- create -------------------------------------------------------------------------------------

def create(actor: Actor, req: DisbursementRequest, now: datetime | None = None) -> Created:
    """Validate, store INIT, call the bank (outside any transaction), apply its answer."""
    fingerprint = req.fingerprint()
    with transaction():
        existing = _existing(req.request_id)
        if existing is not None:
            return _replay(existing, fingerprint)
    if req.request_id.startswith(RESERVED_REQUEST_PREFIX):
        raise ValidationFailed(f"requestId may not start with {RESERVED_REQUEST_PREFIX!r}", field="requestId")
    _validate(req)
    try:
        with transaction():
            merchant = lock_merchant(req.merchant_id)
            existing = _existing(req.request_id)  # a concurrent first call committed meanwhile
            if existing is not None:
                return _replay(existing, fingerprint)
            order_no = insert_order(actor, req, fingerprint, now or now_utc(), merchant=merchant).order_no
    except IntegrityError:
        db.session.rollback()
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
    return _apply(order_no, _call_bank(order_no), SYSTEM, now=now, from_create=True)


def insert_order(actor: Actor, req: DisbursementRequest, fingerprint: str, now: datetime, source: str = "API",
                 refund_transaction_pk: int | None = None, merchant: Merchant | None = None) -> Disbursement:
    """Store a request as an INIT order, in the caller's transaction: valid, the merchant active and
    the amount within its single and daily limits (ValidationFailed otherwise)."""
    _validate(req)
    merchant = merchant or lock_merchant(req.merchant_id)
    if req.amount > merchant.single_limit:
        raise ValidationFailed(f"amount above the single limit {money_str(merchant.single_limit)}",
                               field="amount")
    start, end = shanghai_day_bounds(now.astimezone(SHANGHAI).date())
    used = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Disbursement.amount), 0)).where(
        Disbursement.merchant_id == merchant.id, Disbursement.status != "FAILED",
        Disbursement.created_at >= start, Disbursement.created_at < end)) or Decimal("0")
    if Decimal(used) + req.amount > merchant.daily_limit:
        raise ValidationFailed(f"amount above the daily limit {money_str(merchant.daily_limit)} "
                               f"(used today {money_str(Decimal(used))})", field="amount")
    masked = crypto.mask_account(req.bank_account_no)
    d = Disbursement(
        order_no=ids.disbursement_no(), request_id=req.request_id, request_hash=fingerprint,
        merchant_id=merchant.id, account_no_enc=crypto.encrypt(req.bank_account_no),
        account_no_masked=masked, account_name=req.bank_account_name, bank_code=req.bank_code,
        amount=req.amount, currency=req.currency, purpose=req.purpose or "", client_ip=req.client_ip,
        notify_url=req.notify_url, status="INIT", source=source, refund_transaction_id=refund_transaction_pk,
        poll_attempts=0, next_poll_at=now + INIT_GRACE, created_at=now, updated_at=now,
    )
    db.session.add(d)
    db.session.flush()
    audit.record(actor, "disbursement.create", "disbursement", d.order_no, None, {
        "merchantId": req.merchant_id, "amount": money_str(req.amount), "bankCode": req.bank_code,
        "bankAccountNo": masked, "requestId": req.request_id, "source": source, "status": "INIT"})
    return d


def _call_bank(order_no: str) -> BankAnswer:
    """Send a stored order to the bank (no transaction open while it runs)."""
    with transaction():
        d = get(order_no)
        payload = {"accountNo": crypto.decrypt(d.account_no_enc), "accountName": d.account_name,
                   "bankCode": d.bank_code, "amount": money_str(d.amount), "purpose": d.purpose or "",
                   "notifyUrl": disbursement_bank.callback_url()}
    return disbursement_bank.pay(order_no, payload)


# --- applying answers ---------------------------------------------------------------------------

def lock(order_no: str) -> Disbursement | None:
    stmt = sa.select(Disbursement).where(Disbursement.order_no == order_no)
    if _is_pg():
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def finish(d: Disbursement, actor: Actor, status: str, serial: str | None, reason: str | None,
           now: datetime, action: str = "disbursement.complete") -> None:
    """Make a locked open order final, in the caller's transaction: audit, ``disbursement.completed``,
    the notifyUrl delivery, and the refund part it pays (refund_wire)."""
    before = {"status": d.status}
    d.status, d.bank_serial_no, d.fail_reason = status, serial, reason if status == "FAILED" else None
    d.completed_at = now
    d.next_poll_at = None
    d.updated_at = now
    merchant = db.session.get(Merchant, d.merchant_id)
    payload = {"orderNo": d.order_no, "requestId": d.request_id, "merchantId": merchant.merchant_id,
               "status": status, "amount": money_str(d.amount), "currency": d.currency,
               "bankCode": d.bank_code, "bankAccountNo": d.account_no_masked, "bankSerialNo": serial,
               "failReason": d.fail_reason, "completedAt": to_shanghai_iso(now), "source": d.source}
    audit.record(actor, action, "disbursement", d.order_no, before,
                 {"status": status, "bankSerialNo": serial, "failReason": d.fail_reason})
    event_id = outbox.emit("disbursement.completed", "disbursement", d.order_no, payload)
    if d.notify_url:
        disbursement_notify.queue(d, payload, event_id, now)
    if d.refund_transaction_id is not None:  # a WIRE refund's payout: its part settles with it
        from . import refund_wire

        refund_wire.on_final(d, actor)


def _apply(order_no: str, answer: BankAnswer, actor: Actor, now: datetime | None = None,
           from_create: bool = False) -> str:
    """Record the bank's answer; returns the order's status afterwards."""
    now = now or now_utc()
    with transaction():
        d = lock(order_no)
        if d.status in FINAL:
            return d.status
        if answer.status in FINAL:
            finish(d, actor, answer.status, answer.bank_serial_no, answer.fail_reason, now)
        elif from_create and d.status == "INIT":
            d.status = "PROCESSING"
            d.poll_attempts = 0
            d.next_poll_at = now + FIRST_POLL
            d.updated_at = now
            audit.record(actor, "disbursement.processing", "disbursement", d.order_no, {"status": "INIT"},
                         {"status": "PROCESSING", "bankAnswer": answer.status})
        return d.status


def poll_due(now: datetime | None = None, batch: int = 50) -> dict[str, int]:
    """Ask the bank about due INIT/PROCESSING orders; back off 5 s doubling, MANUAL after
    MAX_POLL_ATTEMPTS unknown answers. Takes ``now`` so tests can run the schedule on a fake clock."""
    now = now or now_utc()
    counts = {"polled": 0, "final": 0, "manual": 0}
    with transaction():
        stmt = (sa.select(Disbursement).where(Disbursement.status.in_(OPEN), Disbursement.next_poll_at <= now)
                .order_by(Disbursement.next_poll_at).limit(batch))
        if _is_pg():
            stmt = stmt.with_for_update(skip_locked=True)
        due = [(d.order_no, d.status) for d in db.session.scalars(stmt)]
        for d in db.session.scalars(sa.select(Disbursement).where(
                Disbursement.order_no.in_([n for n, _ in due]))):
            d.next_poll_at = now + timedelta(minutes=2)  # a lease: no other worker takes it meanwhile
    for order_no, status in due:
        counts["polled"] += 1
        answer = _call_bank(order_no) if status == "INIT" else disbursement_bank.query(order_no)
        if answer.status == "NOT_FOUND":  # the first call never reached the bank: send it (same number)
            answer = _call_bank(order_no)
        if answer.status in FINAL:
            _apply(order_no, answer, SYSTEM, now=now)
            counts["final"] += 1
            continue
        with transaction():
            d = lock(order_no)
            if d.status not in OPEN:
                continue
            d.poll_attempts += 1
            d.updated_at = now
            if d.poll_attempts >= MAX_POLL_ATTEMPTS:
                d.status, d.next_poll_at = "MANUAL", None
                audit.record(SYSTEM, "disbursement.manual", "disbursement", d.order_no, {"status": status},
                             {"status": "MANUAL", "pollAttempts": d.poll_attempts})
                counts["manual"] += 1
            else:
                if d.status == "INIT" and answer.status == "PROCESSING":
                    d.status = "PROCESSING"
                d.next_poll_at = now + FIRST_POLL * (2 ** d.poll_attempts)
    return counts


# --- finance ------------------------------------------------------------------------------------

def settle_manual(actor: Actor, role: str, order_no: str, outcome: str, bank_serial_no: str | None = None,
                  reason: str | None = None) -> Disbursement:
    """Finance settles a MANUAL order from the bank statement: SUCCESS with the bank serial number or
    FAILED with a reason. Audited; notifies like any final state."""
    if role != "finance":
        raise Forbidden("only finance may settle disbursements")
    if outcome not in FINAL:
        raise ValidationFailed("outcome must be SUCCESS or FAILED", field="outcome")
    if outcome == "SUCCESS" and not (bank_serial_no or "").strip():
        raise ValidationFailed("a bank serial number is required", field="bankSerialNo")
    if outcome == "FAILED" and not (reason or "").strip():
        raise ValidationFailed("a reason is required", field="reason")
    with transaction():
        d = lock(order_no)
        if d is None:
            raise NotFound(f"no disbursement {order_no}")
        if d.status != "MANUAL":
            raise StateConflict(f"disbursement {order_no} is {d.status}, not MANUAL")
        finish(d, actor, outcome, (bank_serial_no or "").strip() or None, (reason or "").strip() or None,
                now_utc(), action="disbursement.settle_manual")
    with transaction():
        return get(order_no)


def __getattr__(name: str):
    """``handle_callback`` and ``CallbackAnswer`` live in disbursement_callback, which imports this module."""
    if name in ("handle_callback", "CallbackAnswer"):
        from . import disbursement_callback

        return getattr(disbursement_callback, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
