"""Set-up for screen tests through the services, the way tests/engine do: channels, orders, check-outs,
vouchers, and reading rows back as plain values. Each helper runs in an app context of its own (``in_app``):
a test must not keep one open around the test client's requests (they would share ``g``, and with it
the CSRF token of another session)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import wraps
from types import SimpleNamespace

import sqlalchemy as sa

from app.domain.enums import StatementSource
from app.extensions import db
from app.models import (
    AuditEntry,
    BankReceipt,
    Channel,
    ChannelPayment,
    PaymentOrder,
    ReconciliationException,
    Reseller,
    StoredFileChunk,
    User,
    Voucher,
)
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.ledgers import wallet_changes
from app.services.platform import file_store
from app.services.platform.actor import Actor
from app.services.reconciliation import runs
from app.services.reconciliation.lines import Line
from app.services.reconciliation.statement_import import import_statement
from app.services.vouchers import upload as voucher_upload

from . import factories
from .files import minimal_pdf

PDF = minimal_pdf()
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
HTMX = {"HX-Request": "true"}
_n = {"orders": 0}
APP: dict = {}  # "app": the session's app, set by the autouse fixture ``web_app`` of tests/web/conftest.py


def in_app(fn):
    @wraps(fn)
    def run(*args, **kwargs):
        with APP["app"].app_context():
            return fn(*args, **kwargs)

    return run


@in_app
def add_channel(code: str, kind: str, secrets: dict | None = None, **kw) -> int:
    """factories.add_channel, open for a week by default."""
    return factories.add_channel(code, kind, **{"expire_seconds": 7 * 86400, "secrets": secrets, **kw})


def add_wire_channel() -> None:
    add_channel("WIRE_ICBC", "WIRE", config={"account_name": "收款公司", "account_no": "6222020200112233445",
                                             "bank_name": "ICBC"})


@in_app
def make_order(reseller: str = "R1001", amount: str = "1000.00", deadline=None, **kw) -> str:
    """An order SO-WEB-00001, SO-WEB-00002, ... (or ``order_id``) created through the service."""
    _n["orders"] += 1
    return factories.create_order(kw.pop("order_id", f"SO-WEB-{_n['orders']:05d}"), reseller, amount,
                                  kw.pop("payment_type", "ADVANCE_PAYMENT"), deadline,
                                  actor=Actor(type="api_client", id="tests"), **kw)


@in_app
def user_id(email: str) -> int:
    return db.session.scalar(sa.select(User.id).where(User.email == email))


@in_app
def reseller_pk(code: str) -> int:
    return db.session.scalar(sa.select(Reseller.id).where(Reseller.code == code))


@in_app
def pay(rows, channel: str, reseller: str = "R1001", email: str = "operator@r1001.example") -> SimpleNamespace:
    """Check out ``rows`` [(payment id, amount)] over one channel; returns its channel payment."""
    actor = Actor(type="user", id=email)
    result = checkout.submit(actor, user_id(email), reseller_pk(reseller),
                             [AllocationIn(pid, amount, channel) for pid, amount in rows])
    cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == result.merged_pk)
                           .order_by(ChannelPayment.id))
    return SimpleNamespace(id=cp.id, channel_payment_id=cp.channel_payment_id, wire_reference=cp.wire_reference,
                           merged_payment_id=result.merged_payment_id, status=cp.status)


def wire_payment(rows, reseller: str = "R1001", email: str = "operator@r1001.example") -> SimpleNamespace:
    return pay(rows, "WIRE_ICBC", reseller, email)


@in_app
def upload(cp, data: bytes = PDF, name: str = "回单.pdf", reseller: str = "R1001",
           email: str = "operator@r1001.example") -> int:
    v = voucher_upload.upload(Actor(type="user", id=email), user_id(email), reseller_pk(reseller),
                              cp.channel_payment_id, name, data)
    return v.id


def _snap(obj, *names) -> SimpleNamespace:
    return SimpleNamespace(**{n: getattr(obj, n) for n in names})


@in_app
def order(payment_id: str) -> SimpleNamespace:
    o = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.payment_id == payment_id))
    return _snap(o, "payment_status", "paid_amount", "reserved_amount", "refund_status", "refunded_amount")


@in_app
def voucher(voucher_id: int) -> SimpleNamespace:
    v = db.session.get(Voucher, voucher_id)
    return _snap(v, "status", "received_amount", "reject_reason", "reviewed_by_user_id", "stored_name")


@in_app
def replace_voucher_bytes(voucher_id: int, data: bytes) -> None:
    """The stored bytes of a (one-chunk) voucher changed after its checks (storage written to behind
    the portal's back)."""
    stored = file_store.find(voucher_upload.file_key(db.session.get(Voucher, voucher_id)))
    db.session.execute(sa.update(StoredFileChunk).where(StoredFileChunk.file_id == stored.id).values(data=data))
    db.session.commit()


@in_app
def channel_payment_status(cp_pk: int) -> str:
    return db.session.get(ChannelPayment, cp_pk).status


@in_app
def wallet_of(code: str) -> Decimal:
    return db.session.scalar(sa.select(Reseller.wallet_balance).where(Reseller.code == code))


@in_app
def count(model, *conds) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*conds))


def post(client, path: str, data: dict, token: str, htmx: bool = False, lang: str | None = None):
    """A form post with the token in the body, or an HTMX one with the token in X-CSRFToken."""
    headers = {**HTMX, "X-CSRFToken": token} if htmx else {}
    body = dict(data) if htmx else {**data, "csrf_token": token}
    if lang:
        path += ("&" if "?" in path else "?") + f"lang={lang}"
    return client.post(path, data=body, headers=headers)


def snapshot(payment_ids, voucher_id):
    return ([tuple(vars(order(p)).values()) for p in payment_ids], tuple(vars(voucher(voucher_id)).values()),
            wallet_of("R1001"), count(AuditEntry))


NO_BANK = "http://127.0.0.1:9"  # nothing listens: the adapter reports the bank unavailable


def add_online_channel() -> None:
    add_channel("ONLINE_UNIONPAY", "ONLINE", config={"base_url": NO_BANK, "merchant_no": "MCH1001"},
                secrets={"api_secret": "test-api-secret", "callback_secret": "test-callback-secret"},
                expire_seconds=86400)


@in_app
def pending_wallet_top_up(code: str, email: str = "finance2@example.com", serial: str = "BANK-PENDING-1") -> int:
    """A top-up of the reseller's wallet above its approval threshold, asked by ``email``: PENDING."""
    r = db.session.scalar(sa.select(Reseller).where(Reseller.code == code))
    uid = user_id.__wrapped__(email)
    change = wallet_changes.request_change(Actor("user", str(uid)), uid, r.id, wallet_changes.TOPUP,
                                           r.approval_threshold + Decimal("0.01"), "big deposit", serial)
    assert change.status == wallet_changes.PENDING
    return change.id


@in_app
def recon_exception(channel_code: str = "WALLET", reference: str = "CPX-UNKNOWN", day=None) -> int:
    """An OPEN MISSING_IN_SYSTEM exception: the channel's statement of ``day`` (default 2026-03-12) lists a
    payment we never made. Returns the exception's id."""
    day = day or date(2026, 3, 12)
    channel_id = db.session.scalar(sa.select(Channel.id).where(Channel.code == channel_code))
    imported = import_statement(channel_id, channel_code, day, StatementSource.GATEWAY,
                                [Line("payment", f"GW-{reference}", reference, Decimal("88.00"), "SUCCESS", None)],
                                runs.RECONCILIATION)
    runs.reconcile(channel_id, day, imported.import_id)
    return db.session.scalar(sa.select(ReconciliationException.id)
                             .where(ReconciliationException.reference == reference))


@in_app
def open_receipt(amount: str = "500.00", reference: str = "BR-OPEN-1", memo: str = "货款",
                 suggestions: list | None = None) -> int:
    """An unidentified bank receipt (OPEN, no reference in the memo) on our ICBC account, as the wire
    auto-match leaves it. Returns its id."""
    row = BankReceipt(our_account="6222020200112233445", bank_reference=reference, value_date=date(2026, 3, 12),
                      amount=Decimal(amount), currency="CNY", payer_name="华东设备有限公司",
                      payer_account="6217000011112222", memo=memo, state="OPEN", reason="NO_REFERENCE",
                      suggestions=suggestions, received_by="tests")
    db.session.add(row)
    db.session.commit()
    return row.id
