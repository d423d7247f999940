"""The finance system's wallet top-up (docs/API.md §7): 201 with the entry and the balance right after
it, a replay of ``requestId`` 200 with ``duplicate: true`` and the same entry, the same ``requestId``
with another body 422 IDEMPOTENCY_KEY_REUSED, an unknown reseller 404, amounts > 0, scope ``finance``,
and a bank serial that tops up a reseller once (the screen's rule too); nothing stored on a refusal."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.blueprints.api.wallets import WalletTopUpOut
from app.extensions import db
from app.models import OutboxEvent, Reseller, WalletChange, WalletEntry
from tests.support.api import assert_error, assert_ok, conforms

URL = "/api/v1/integration/finance/wallets/{}/top-up"


@pytest.fixture
def fin(api_with, reseller):
    return api_with("finance")


def _state(app) -> tuple:
    with app.app_context():
        return (db.session.scalar(sa.select(Reseller.wallet_balance).where(Reseller.code == "R1001")),
                *(db.session.scalar(sa.select(sa.func.count()).select_from(m))
                  for m in (WalletEntry, WalletChange, OutboxEvent)))


def test_a_top_up_is_booked_once_and_replayed(app, fin):
    body = {"requestId": "TU-1", "amount": "1250.50", "bankSerialNo": "ICBC-77", "memo": "deposit"}
    data = assert_ok(fin.post(URL.format("R1001"), json=body), 201)
    conforms(WalletTopUpOut, data)
    assert (data["resellerId"], data["amount"], data["balance"], data["bankSerialNo"], data["duplicate"]) == (
        "R1001", "1250.50", "1250.50", "ICBC-77", False)
    again = assert_ok(fin.post(URL.format("R1001"), json=body), 200)
    assert again == {**data, "duplicate": True}
    assert _state(app)[:3] == (Decimal("1250.50"), 1, 1)
    with app.app_context():
        event = db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.id.desc())).first()
        assert event.event_type == "wallet.changed"
    before = _state(app)
    assert_error(fin.post(URL.format("R1001"), json={**body, "amount": "1.00"}), 422, "IDEMPOTENCY_KEY_REUSED")
    # the same bank serial under another requestId: refused, nothing stored
    assert_error(fin.post(URL.format("R1001"), json={**body, "requestId": "TU-2"}), 409, "STATE_CONFLICT")
    assert _state(app) == before


@pytest.mark.parametrize("body, status, code", [
    ({"requestId": "X", "amount": "0.00"}, 422, "VALIDATION_ERROR"),
    ({"requestId": "X", "amount": "-5.00"}, 422, "VALIDATION_ERROR"),
    ({"requestId": "X", "amount": "1.005"}, 422, "VALIDATION_ERROR"),
    ({"amount": "5.00"}, 422, "VALIDATION_ERROR"),
    ({"requestId": "X"}, 422, "VALIDATION_ERROR"),
])
def test_bad_bodies_store_nothing(app, fin, body, status, code):
    before = _state(app)
    assert_error(fin.post(URL.format("R1001"), json=body), status, code, fields=None if status != 422 else
                 [next(iter({"requestId", "amount"} - set(body)), "amount")])
    assert _state(app) == before


def test_unknown_reseller_is_404_and_other_scopes_are_403(app, fin, api_with):
    before = _state(app)
    assert_error(fin.post(URL.format("R9999"), json={"requestId": "Y", "amount": "5.00"}), 404, "NOT_FOUND")
    other = api_with("payments")
    resp = other.post(URL.format("R1001"), json={"requestId": "Z", "amount": "5.00"})
    assert resp.status_code == 403
    assert _state(app) == before
