"""Correctly signed callbacks with hostile bodies (issue 11: the fuzzing of the API stops at the
signature check, which no outsider passes; a gateway with a bug, or one whose secret leaked, does).
Whatever the signed body holds, the portal answers 200 or 400 — never a 5xx — and a refused callback
records nothing and moves no money (docs/SECURITY.md "Callbacks in")."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import ChannelEvent, ChannelPayment, PaymentOrder
from sandbox import signing
from tests.support.engine import check_invariants, checkout_online
from tests.support.online_gateway import CALLBACK_SECRET, MERCHANT

PAYMENT_PATH = "/api/v1/payment/callback/online/ONLINE_UNIONPAY"
REFUND_PATH = "/api/v1/payment/callback/refund/ONLINE_UNIONPAY"

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False), st.just(""), st.just("\x00"), st.just("PAY\x00"),
    st.just("\ud800"), st.just("x" * 10_000), st.just("NaN"), st.just("Infinity"), st.just("-1.00"),
    st.just("1e400"), st.just("2026-13-45T99:00:00"), st.just("0.001"), st.text(max_size=40),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
FIELDS = ["merchantNo", "type", "status", "merchantOrderNo", "amount", "gatewayTxnId", "paidAt",
          "failReason", "eventId", "merchantRefundNo", "refundId"]


class RawBody(bytes):
    """A body sent as it is."""


def _post(client, path: str, payload) -> int:
    # ensure_ascii keeps a lone surrogate as its \ud800 escape, which the parser turns back into one
    body = payload if isinstance(payload, RawBody) else json.dumps(payload, ensure_ascii=True, default=str).encode()
    resp = client.post(path, data=body, headers={signing.HEADER: signing.sign(CALLBACK_SECRET, body),
                                                 "Content-Type": "application/json"})
    return resp.status_code


def _state(cp_id: int):
    db.session.expire_all()
    events = db.session.scalar(sa.select(sa.func.count()).select_from(ChannelEvent))
    status = db.session.scalar(sa.select(ChannelPayment.status).where(ChannelPayment.id == cp_id))
    paid = db.session.scalars(sa.select(PaymentOrder.paid_amount).order_by(PaymentOrder.id)).all()
    db.session.rollback()
    return events, status, paid


@pytest.fixture
def processing_payment(online, engine_setup):
    _pids, _res, cp = checkout_online(engine_setup)
    return cp


@settings(max_examples=120, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_a_signed_callback_with_any_body_is_answered_without_a_server_error(client, processing_payment, data):
    cp = processing_payment
    base = {"merchantNo": MERCHANT, "type": data.draw(st.sampled_from(["payment", "refund"])),
            "status": "FAILED", "merchantOrderNo": cp.channel_payment_id, "amount": str(cp.amount),
            "gatewayTxnId": cp.channel_transaction_id, "paidAt": None, "failReason": "declined",
            "eventId": "EV-fuzz", "merchantRefundNo": "RF-nope", "refundId": None}
    for name in data.draw(st.lists(st.sampled_from(FIELDS), min_size=1, max_size=3, unique=True)):
        base[name] = data.draw(HOSTILE)
    # The status stays FAILED or hostile: a fuzzed body never pays the order, so every answer can be
    # checked against "nothing moved or the payment failed".
    before = _state(cp.id)
    path = PAYMENT_PATH if base.get("type") == "payment" else REFUND_PATH
    status = _post(client, path, base)
    assert status in (200, 400), (status, base)
    after = _state(cp.id)
    if status == 400:
        assert after == before, base
    assert after[1] in ("PROCESSING", "FAILED")
    assert all(p == Decimal("0.00") for p in after[2])
    check_invariants()


def test_a_signed_callback_that_is_not_an_object_is_refused(client, processing_payment):
    deep = RawBody(b'{"a":' * 5000 + b"{}" + b"}" * 5000)  # json.dumps itself cannot write it
    for payload in ([], "payment", 1, None, [{"type": "payment"}], deep):
        assert _post(client, PAYMENT_PATH, payload) == 400
