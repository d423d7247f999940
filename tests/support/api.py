"""Helpers shared by the API contract tests (tests/integration/test_api_*.py): paths, request
bodies, envelope assertions, and direct database set-up through the models."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from pydantic import BaseModel

from app.blueprints.api.schemas import ErrorOut
from app.domain import numbers
from app.domain.order_status import derive_payment_status, derive_refund_status
from app.extensions import db
from app.models import (
    AuditEntry,
    CreditRecord,
    IdempotencyKey,
    OutboxEvent,
    PaymentOrder,
    PaymentTransaction,
    Reseller,
    StatusLog,
)

API = "/api/v1/integration"
CREATE = f"{API}/payment/create"
LIST = f"{API}/payment"
REPAYMENT = f"{API}/credit/repayment"
CREDIT_RECORDS = f"{API}/credit/records"

# The tables that must not change when a request is refused.
COUNTED = (PaymentOrder, IdempotencyKey, AuditEntry, OutboxEvent, StatusLog)

MONEY = re.compile(r"^-?\d+\.\d{2}$")

# Every field of docs/API.md §3's PaymentOrder example.
ORDER_FIELDS = (
    "paymentId", "orderId", "resellerId", "paymentType", "paymentAmount", "paidAmount", "refundedAmount",
    "actualAmount", "remainingAmount", "reservedAmount", "payableAmount", "currency", "paymentStatus",
    "refundStatus", "paymentDeadline", "businessDesc", "priority", "relatedBusinessId", "relatedBusinessType",
    "businessExpireDate", "tags", "overdue", "createdAt", "updatedAt",
)
MONEY_FIELDS = ("paymentAmount", "paidAmount", "refundedAmount", "actualAmount", "remainingAmount",
                "reservedAmount", "payableAmount")


def status_url(payment_id: str) -> str:
    return f"{API}/payment/{payment_id}/status"


def order_url(payment_id: str) -> str:
    return f"{API}/payment/{payment_id}"


def txns_url(payment_id: str) -> str:
    return f"{API}/payment/{payment_id}/transactions"


def reseller_url(code: str) -> str:
    return f"{API}/resellers/{code}"


def limit_url(code: str) -> str:
    return f"{API}/credit/{code}/limit"


def order_body(**over) -> dict:
    """A valid create body; keyword arguments override (a value of ``...`` removes the field)."""
    body = {"orderId": "SO20261122001", "resellerId": "R1001", "paymentType": "ADVANCE_PAYMENT",
            "paymentAmount": "1250000.00"}
    body.update(over)
    return {k: v for k, v in body.items() if v is not ...}


def with_raw(body: dict, field: str, raw: str) -> str:
    """``body`` as JSON text with ``field`` set to the literal JSON text ``raw`` (numbers keep their digits)."""
    rest = {k: v for k, v in body.items() if k != field}
    text = json.dumps(rest, ensure_ascii=False)
    return text[:-1] + (", " if rest else "") + f"{json.dumps(field)}: {raw}}}"


def send(api, method: str, path: str, data, content_type: str | None = "application/json", headers=None):
    """A raw request (bytes or text body) with the API key."""
    kwargs = {"method": method, "data": data, "headers": api._headers(headers)}
    if content_type is not None:
        kwargs["content_type"] = content_type
    return api.client.open(path, **kwargs)


def assert_error(resp, status: int, code: str, fields=None) -> dict:
    """The error envelope of docs/API.md §1. ``fields``: the field names ``errors`` must name (each of
    them); None means a non-field error, which carries no ``errors`` list."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    assert resp.mimetype == "application/json", resp.mimetype
    body = resp.get_json()
    ErrorOut.model_validate(body)
    assert body["code"] == code, body
    assert body["message"]
    if fields is None:
        assert "errors" not in body, body
    else:
        named = {e["field"] for e in body["errors"]}
        assert set(fields) <= named, (fields, body)
        assert all(e["message"] for e in body["errors"])
    return body


def assert_ok(resp, status: int = 200) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    body = resp.get_json()
    assert body["code"] == "OK" and isinstance(body["message"], str), body
    return body["data"]


def conforms(model: type[BaseModel], data: dict) -> None:
    """The documented response schema matches the actual response (extra fields are refused)."""
    model.model_validate(data)


def assert_shanghai_time(value: str | None) -> None:
    assert value is not None
    assert value.endswith("+08:00"), value
    datetime.fromisoformat(value)


def assert_order_shape(data: dict) -> None:
    missing = [f for f in ORDER_FIELDS if f not in data]
    assert not missing, missing
    for f in MONEY_FIELDS:
        assert isinstance(data[f], str) and MONEY.match(data[f]), (f, data[f])
    for f in ("createdAt", "updatedAt"):
        assert_shanghai_time(data[f])
    if data["paymentDeadline"] is not None:
        assert_shanghai_time(data["paymentDeadline"])
    assert data["currency"] == "CNY"
    assert isinstance(data["tags"], dict) and isinstance(data["overdue"], bool)


# --- database set-up through the models -------------------------------------------------------

def trail(app, target_id: str) -> tuple[int, int]:
    """(audit rows, outbox events) about one object."""
    with app.app_context():
        audits = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                   .where(AuditEntry.target_id == target_id))
        events = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)
                                   .where(OutboxEvent.aggregate_id == target_id))
        return audits, events


def order_row(app, payment_id: str) -> dict:
    with app.app_context():
        o = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.payment_id == payment_id))
        return {c.key: getattr(o, c.key) for c in sa.inspect(PaymentOrder).column_attrs}


def set_order(app, payment_id: str, **values) -> None:
    """Set columns of an order directly (e.g. ``reserved_amount`` to put money in flight)."""
    with app.app_context():
        db.session.execute(sa.update(PaymentOrder).where(PaymentOrder.payment_id == payment_id).values(**values))
        db.session.commit()


def _restatus(o: PaymentOrder) -> None:
    if o.payment_status not in ("STOPPED", "FROZEN"):
        o.payment_status = derive_payment_status(amount=o.payment_amount, paid=o.paid_amount,
                                                 reserved=o.reserved_amount,
                                                 last_attempt_failed=o.last_attempt_failed).value
    o.refund_status = derive_refund_status(paid=o.paid_amount, refunded=o.refunded_amount,
                                           refunding=o.refunding_amount,
                                           last_refund_failed=o.last_refund_failed).value


def add_transaction(app, payment_id: str, amount: str, *, kind: str = "PAYMENT", status: str = "SUCCESS",
                    channel: str = "ONLINE_UNIONPAY", channel_txn: str | None = None, original: str | None = None,
                    created_at: datetime | None = None) -> str:
    """Insert a transaction and keep the order's running totals consistent (docs/DOMAIN.md §3):
    a SUCCESS PAYMENT adds to paid; a SUCCESS REFUND (``amount`` positive, stored negative) adds to
    refunded on the order and on ``original``."""
    with app.app_context():
        o = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.payment_id == payment_id))
        amt = Decimal(amount)
        now = created_at or datetime.now(UTC)
        t = PaymentTransaction(
            transaction_id=numbers.transaction_id(), payment_order_id=o.id, order_id=o.order_id,
            reseller_id=o.reseller_id, transaction_type=kind, status=status,
            amount=amt if kind == "PAYMENT" else -amt, refunded_amount=Decimal("0.00"),
            refunding_amount=Decimal("0.00"), channel_code=channel, channel_kind="ONLINE",
            channel_transaction_id=channel_txn, business_order_id=None, created_at=now,
            completed_at=now if status != "PROCESSING" else None,
        )
        if original:
            orig = db.session.scalar(sa.select(PaymentTransaction)
                                     .where(PaymentTransaction.transaction_id == original))
            t.original_transaction_id = orig.id
            if status == "SUCCESS":
                orig.refunded_amount += amt
        if status == "SUCCESS":
            if kind == "PAYMENT":
                o.paid_amount += amt
            else:
                o.refunded_amount += amt
        _restatus(o)
        db.session.add(t)
        db.session.commit()
        return t.transaction_id


def add_credit_record(app, reseller_code: str, order_id: str, amount: str = "100000.00",
                      outstanding: str | None = None, due: date | None = None) -> str:
    with app.app_context():
        reseller_id = db.session.scalar(sa.select(Reseller.id).where(Reseller.code == reseller_code))
        rec = CreditRecord(
            credit_record_id=numbers.credit_record_id(), reseller_id=reseller_id, order_id=order_id,
            amount=Decimal(amount), outstanding_amount=Decimal(outstanding or amount),
            due_date=due or (date.today() + timedelta(days=30)), status="OPEN",
        )
        db.session.add(rec)
        db.session.commit()
        return rec.credit_record_id


class Api:
    """A small wrapper around the test client that sends the Bearer key."""

    def __init__(self, client, key: str):
        self.client, self.key = client, key

    def _headers(self, extra=None):
        h = {"Authorization": f"Bearer {self.key}"}
        h.update(extra or {})
        return h

    def post(self, path, json=None, data=None, headers=None, content_type="application/json"):
        if json is not None:
            return self.client.post(path, json=json, headers=self._headers(headers))
        return self.client.post(path, data=data, headers=self._headers(headers), content_type=content_type)

    def patch(self, path, json=None, headers=None):
        return self.client.patch(path, json=json, headers=self._headers(headers))

    def put(self, path, json=None, headers=None):
        return self.client.put(path, json=json, headers=self._headers(headers))

    def delete(self, path, headers=None):
        return self.client.delete(path, headers=self._headers(headers))

    def get(self, path, headers=None, query_string=None):
        return self.client.get(path, headers=self._headers(headers), query_string=query_string)
