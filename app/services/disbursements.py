"""Disbursements (代付, DESIGN.md §9, API.md §9): payouts to bank accounts through the payout
gateway (the ONLINE channel row named by ``DISBURSE_CHANNEL_CODE``; sandbox/PROTOCOL.md §4.5–4.6).

Flow: ``create`` validates, inserts an INIT row (unique ``request_id``) and commits, then calls the
bank with no transaction open, using our ``order_no`` as ``merchantPayoutNo`` (the gateway is
idempotent per number, so any repeat of the call never pays twice). A synchronous answer is final;
PROCESSING, a timeout or a connection error leave the order PROCESSING with ``next_poll_at``.
``poll_due`` (worker) queries due orders with backoff (5 s doubling, MAX_POLL_ATTEMPTS), then parks
them as MANUAL for finance (``settle_manual``). ``handle_callback`` applies the bank's signed payout
callback. A final state writes ``disbursement.completed`` to the outbox (webhooks) and, when the
order has a ``notifyUrl``, a ``disbursement.notify`` outbox row that ``deliver_notifications``
POSTs, signed, with retries.

Notify rows live in ``outbox_events`` with status NOTIFY (the webhook fan-out takes only PENDING
rows), then SENT or DEAD; attempts and the next due time are kept in the payload's ``_delivery``.
They are signed Standard-Webhooks style (``webhook-id``/``webhook-timestamp``/``webhook-signature``,
see webhook_send) with ``DISBURSE_NOTIFY_SECRET`` (a ``whsec_`` secret; derived from SECRET_KEY when
unset) and sent under webhook_send's address policy (``DISBURSE_NOTIFY_ALLOW_PRIVATE`` allows
loopback/private receivers, for the demo and tests).

Account numbers: encrypted (``account_no_enc``) plus a masked copy; only the masked form is put in
audit rows, outbox payloads, logs and responses.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import httpx
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..channels.online import signature
from ..domain.errors import Forbidden, IdempotencyKeyReused, NotFound, StateConflict, ValidationFailed
from ..domain.money import money_str
from ..domain.timeutil import SHANGHAI, shanghai_day_bounds, to_shanghai_iso
from ..extensions import db
from ..models import Disbursement, Merchant, OutboxEvent
from ..models.types import now_utc
from . import audit, crypto, ids, outbox, webhook_send
from .actor import SYSTEM, Actor
from .idempotency import request_fingerprint
from .tx import transaction

log = logging.getLogger(__name__)

DEFAULT_BANK_CODES = ("ICBC", "ABC", "BOC", "CCB", "BOCOM", "CMB", "SPDB", "CITIC")
FIRST_POLL = timedelta(seconds=5)
MAX_POLL_ATTEMPTS = 8
INIT_GRACE = timedelta(seconds=60)  # an INIT order whose bank call never finished is retried after this
NOTIFY_MAX_ATTEMPTS = 8
NOTIFY_BASE = timedelta(seconds=5)
NOTIFY_LEASE = timedelta(seconds=60)
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


@dataclass(frozen=True)
class BankAnswer:
    status: str  # SUCCESS | FAILED | PROCESSING | UNKNOWN | NOT_FOUND
    bank_serial_no: str | None = None
    fail_reason: str | None = None
    amount: Decimal | None = None


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
            merchant = _lock_merchant(req.merchant_id)
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


def _lock_merchant(merchant_id: str) -> Merchant:
    stmt = sa.select(Merchant).where(Merchant.merchant_id == merchant_id)
    if _is_pg():
        stmt = stmt.with_for_update()  # serialises the daily-limit check per merchant
    merchant = db.session.scalar(stmt)
    if merchant is None or not merchant.active:
        raise ValidationFailed("unknown or inactive merchant", field="merchantId")
    return merchant


def insert_order(actor: Actor, req: DisbursementRequest, fingerprint: str, now: datetime, source: str = "API",
                 refund_transaction_pk: int | None = None, merchant: Merchant | None = None) -> Disbursement:
    """Store a request as an INIT order, in the caller's transaction: valid, the merchant active and
    the amount within its single and daily limits (ValidationFailed otherwise)."""
    _validate(req)
    merchant = merchant or _lock_merchant(req.merchant_id)
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


# --- the bank -----------------------------------------------------------------------------------

def payout_channel_code() -> str:
    return current_app.config.get("DISBURSE_CHANNEL_CODE") or "ONLINE_UNIONPAY"


def _gateway():
    from .channels import config_by_code

    code = payout_channel_code()
    with transaction():
        cfg = config_by_code(code)
    if cfg is None:
        raise StateConflict(f"payout channel {code} is not configured")
    return cfg


def _post(path: str, payload: dict) -> httpx.Response:
    cfg = _gateway()
    body = json.dumps({"merchantNo": cfg.config["merchant_no"], **payload}, separators=(",", ":")).encode()
    secret = cfg.secrets.get("api_secret")
    headers = {"Content-Type": "application/json", signature.HEADER: signature.sign(secret, body)}
    timeout = float(current_app.config.get("DISBURSE_BANK_TIMEOUT_SECONDS") or 10.0)
    return httpx.post(cfg.config["base_url"].rstrip("/") + path, content=body, headers=headers,
                      timeout=httpx.Timeout(timeout, connect=min(3.0, timeout)), follow_redirects=False)


def _answer(response: httpx.Response) -> BankAnswer:
    try:
        data = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return BankAnswer("UNKNOWN")
    if response.status_code == 404:
        return BankAnswer("NOT_FOUND")
    if response.status_code >= 500 or response.status_code == 429:
        return BankAnswer("UNKNOWN")
    if response.status_code != 200:
        # A 4xx: the gateway created nothing (PROTOCOL §2) — the channel rejected it, fail fast.
        reason = f"{data.get('code', response.status_code)}: {data.get('message', '')}"
        return BankAnswer("FAILED", fail_reason=reason[:500])
    status = data.get("status")
    if status not in ("SUCCESS", "FAILED", "PROCESSING"):
        return BankAnswer("UNKNOWN")
    return BankAnswer(status, data.get("bankSerialNo"), data.get("failReason"),
                      Decimal(str(data["amount"])) if data.get("amount") is not None else None)


def _call_bank(order_no: str) -> BankAnswer:
    """POST /api/payouts with our order number (idempotent at the bank). No transaction is open."""
    with transaction():
        d = get(order_no)
        payload = {"merchantPayoutNo": d.order_no, "accountNo": crypto.decrypt(d.account_no_enc),
                   "accountName": d.account_name, "bankCode": d.bank_code, "amount": money_str(d.amount),
                   "purpose": d.purpose or "", "notifyUrl": _callback_url()}
    try:
        return _answer(_post("/api/payouts", payload))
    except httpx.HTTPError as exc:
        log.warning("payout %s: %s calling the bank; will query", order_no, type(exc).__name__)
        return BankAnswer("UNKNOWN")


def _query_bank(order_no: str) -> BankAnswer:
    try:
        return _answer(_post("/api/payouts/query", {"merchantPayoutNo": order_no}))
    except httpx.HTTPError as exc:
        log.warning("payout query %s: %s", order_no, type(exc).__name__)
        return BankAnswer("UNKNOWN")


def _callback_url() -> str:
    return current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/") + "/api/v1/disburse/callback"


# --- applying answers ---------------------------------------------------------------------------

def _lock(order_no: str) -> Disbursement | None:
    stmt = sa.select(Disbursement).where(Disbursement.order_no == order_no)
    if _is_pg():
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt)


def _finish(d: Disbursement, actor: Actor, status: str, serial: str | None, reason: str | None,
            now: datetime, action: str = "disbursement.complete") -> None:
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
        row = outbox.event_row("disbursement.notify", "disbursement", d.order_no, {
            **payload, "_delivery": {"url": d.notify_url, "eventId": event_id, "attempts": 0,
                                     "nextAt": now.isoformat()}})
        row["status"] = "NOTIFY"  # not PENDING: the webhook fan-out leaves it alone
        db.session.execute(sa.insert(OutboxEvent.__table__), row)
    if d.refund_transaction_id is not None:  # a WIRE refund's payout: its part settles with it
        from . import refund_wire

        refund_wire.on_final(d, actor)


def _apply(order_no: str, answer: BankAnswer, actor: Actor, now: datetime | None = None,
           from_create: bool = False) -> str:
    """Record the bank's answer; returns the order's status afterwards."""
    now = now or now_utc()
    with transaction():
        d = _lock(order_no)
        if d.status in FINAL:
            return d.status
        if answer.status in FINAL:
            _finish(d, actor, answer.status, answer.bank_serial_no, answer.fail_reason, now)
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
        answer = _call_bank(order_no) if status == "INIT" else _query_bank(order_no)
        if answer.status == "NOT_FOUND":  # the first call never reached the bank: send it (same number)
            answer = _call_bank(order_no)
        if answer.status in FINAL:
            _apply(order_no, answer, SYSTEM, now=now)
            counts["final"] += 1
            continue
        with transaction():
            d = _lock(order_no)
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


# --- the bank's callback ------------------------------------------------------------------------

@dataclass(frozen=True)
class CallbackAnswer:
    status: int
    text: str


def handle_callback(headers: dict, body: bytes) -> CallbackAnswer:
    try:
        cfg = _gateway()
    except StateConflict:
        return CallbackAnswer(404, "unknown channel")
    secrets = [s for s in (cfg.secrets.get("callback_secret"), cfg.secrets.get("callback_secret_previous")) if s]
    header = next((v for k, v in headers.items() if k.lower() == signature.HEADER.lower()), None)
    if not signature.verify(secrets, header, body):
        return CallbackAnswer(400, "bad or stale signature")
    try:
        data = json.loads(body, parse_float=Decimal)
        if data.get("type") != "payout" or data.get("merchantNo") != cfg.config.get("merchant_no"):
            return CallbackAnswer(400, "not a payout callback for us")
        order_no, status = data["merchantPayoutNo"], data["status"]
        amount = Decimal(str(data["amount"]))
    except (ValueError, KeyError, TypeError, ArithmeticError, AttributeError):
        return CallbackAnswer(400, "malformed callback")
    with transaction():
        d = db.session.scalar(sa.select(Disbursement).where(Disbursement.order_no == order_no))
        if d is None:
            return CallbackAnswer(400, "unknown payout")
        if d.amount != amount:
            log.warning("payout callback %s: amount %s differs from ours %s", order_no, amount, d.amount)
            return CallbackAnswer(400, "amount mismatch")
    if status not in FINAL:
        return CallbackAnswer(200, "success")
    answer = BankAnswer(status, data.get("bankSerialNo"), data.get("failReason"), amount)
    with transaction():
        d = _lock(order_no)
        if d.status in FINAL:
            if d.status != status:
                log.error("payout callback %s says %s but the order is %s; left as is", order_no, status, d.status)
            return CallbackAnswer(200, "success")
        # MANUAL too: the bank's word settles an order finance has not settled yet.
        _finish(d, Actor(type="channel", id=cfg.code), answer.status, answer.bank_serial_no, answer.fail_reason,
                now_utc())
    return CallbackAnswer(200, "success")


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
        d = _lock(order_no)
        if d is None:
            raise NotFound(f"no disbursement {order_no}")
        if d.status != "MANUAL":
            raise StateConflict(f"disbursement {order_no} is {d.status}, not MANUAL")
        _finish(d, actor, outcome, (bank_serial_no or "").strip() or None, (reason or "").strip() or None,
                now_utc(), action="disbursement.settle_manual")
    with transaction():
        return get(order_no)


# --- notifyUrl ----------------------------------------------------------------------------------

def notify_secret() -> str:
    secret = current_app.config.get("DISBURSE_NOTIFY_SECRET")
    if secret:
        return secret
    derived = hashlib.sha256(f"{current_app.config['SECRET_KEY']}:disburse-notify".encode()).digest()
    return webhook_send.SECRET_PREFIX + base64.b64encode(derived).decode()


def deliver_notifications(now: datetime | None = None, batch: int = 50) -> dict[str, int]:
    """POST due ``disbursement.notify`` rows to their notifyUrl (signed), retrying with backoff
    (5 s doubling) up to NOTIFY_MAX_ATTEMPTS, then DEAD. 2xx = delivered."""
    now = now or now_utc()
    counts = {"sent": 0, "retrying": 0, "dead": 0}
    with transaction():
        stmt = (sa.select(OutboxEvent.id, OutboxEvent.payload).where(
            OutboxEvent.event_type == "disbursement.notify", OutboxEvent.status == "NOTIFY")
            .order_by(OutboxEvent.id).limit(batch * 4))
        if _is_pg():
            stmt = stmt.with_for_update(skip_locked=True)
        rows = db.session.execute(stmt).all()
        due = [(r.id, r.payload) for r in rows
               if datetime.fromisoformat(r.payload["_delivery"]["nextAt"]) <= now][:batch]
        for row_id, payload in due:  # a lease: another worker does not send it meanwhile
            leased = {**payload, "_delivery": {**payload["_delivery"], "nextAt": (now + NOTIFY_LEASE).isoformat()}}
            db.session.execute(sa.update(OutboxEvent.__table__).where(OutboxEvent.id == row_id)
                               .values(payload=leased))
    allow_private = bool(current_app.config.get("DISBURSE_NOTIFY_ALLOW_PRIVATE", False))
    timeout = float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS") or 10.0)
    secret = notify_secret()
    for row_id, payload in due:
        delivery = payload["_delivery"]
        body = json.dumps({"type": "disbursement.completed",
                           "data": {k: v for k, v in payload.items() if k != "_delivery"}},
                          separators=(",", ":"), ensure_ascii=False).encode()
        target = webhook_send.Target(delivery_id=row_id, attempt_no=delivery["attempts"] + 1, endpoint_id=0,
                                     url=delivery["url"], allow_private=allow_private, secrets=(secret,),
                                     msg_id=delivery["eventId"], body=body)
        with webhook_send.make_client(timeout) as client:
            result = webhook_send.send(target, webhook_send.route(target.url, allow_private), client, timeout)
        attempts = delivery["attempts"] + 1
        if result.ok:
            status, counts["sent"] = "SENT", counts["sent"] + 1
        elif attempts >= NOTIFY_MAX_ATTEMPTS:
            status, counts["dead"] = "DEAD", counts["dead"] + 1
        else:
            status, counts["retrying"] = "NOTIFY", counts["retrying"] + 1
        new_payload = {**payload, "_delivery": {**delivery, "attempts": attempts, "lastError": result.error,
                                                "nextAt": (now + NOTIFY_BASE * 2 ** (attempts - 1)).isoformat()}}
        with transaction():
            db.session.execute(sa.update(OutboxEvent.__table__).where(OutboxEvent.id == row_id)
                               .values(status=status, payload=new_payload, dispatched_at=now))
    return counts


# --- merchants (admin / CLI) --------------------------------------------------------------------

def upsert_merchant(actor: Actor, merchant_id: str, name: str, single_limit: Decimal, daily_limit: Decimal,
                    active: bool = True) -> tuple[Merchant, bool]:
    """Create or update a payout merchant and its limits (audited). Returns (merchant, created)."""
    if not re.match(r"^[A-Za-z0-9_-]{1,32}$", merchant_id or ""):
        raise ValidationFailed("merchant id must be 1–32 of A-Z a-z 0-9 _ -", field="merchantId")
    if single_limit <= 0 or daily_limit <= 0 or single_limit.as_tuple().exponent < -2 \
            or daily_limit.as_tuple().exponent < -2:
        raise ValidationFailed("limits must be positive with at most two decimals", field="singleLimit")
    with transaction():
        m = db.session.scalar(sa.select(Merchant).where(Merchant.merchant_id == merchant_id))
        created = m is None
        before = None if created else {"name": m.name, "active": m.active, "singleLimit": money_str(m.single_limit),
                                       "dailyLimit": money_str(m.daily_limit)}
        if created:
            m = Merchant(merchant_id=merchant_id)
            db.session.add(m)
        m.name, m.active, m.single_limit, m.daily_limit = name, active, single_limit, daily_limit
        db.session.flush()
        audit.record(actor, "merchant.create" if created else "merchant.update", "merchant", merchant_id, before,
                     {"name": name, "active": active, "singleLimit": money_str(single_limit),
                      "dailyLimit": money_str(daily_limit)})
    return m, created
