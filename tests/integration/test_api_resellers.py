"""Resellers (docs/API.md §6): upsert, read with wallet balance, masked and encrypted bank accounts,
the credit scope for credit fields, and bad inputs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.blueprints.api.schemas import ResellerOut
from app.extensions import db
from app.models import Reseller
from tests.support.api import (
    CREATE,
    assert_error,
    assert_ok,
    assert_shanghai_time,
    conforms,
    order_body,
    reseller_url,
    trail,
)

ACCOUNT = "6222021234563445"
MASKED = "6222 **** **** 3445"

NEW = {"name": "Hangzhou Boilers Co.", "status": "ACTIVE", "creditLimit": "500000.00", "creditTermDays": 45,
       "approvalThreshold": "200000.00",
       "refundBankAccount": {"accountNo": ACCOUNT, "accountName": "杭州锅炉有限公司", "bankCode": "ICBC"}}


def test_upsert_creates_then_updates(app, api, row_counts):
    before = row_counts()
    r = api.put(reseller_url("R5005"), json=NEW)
    d = assert_ok(r, 201)
    conforms(ResellerOut, d)
    assert d["resellerId"] == "R5005" and d["name"] == "Hangzhou Boilers Co."
    assert (d["status"], d["creditLimit"], d["creditTermDays"], d["approvalThreshold"]) == (
        "ACTIVE", "500000.00", 45, "200000.00")
    assert d["creditStatus"] == "ACTIVE" and d["walletBalance"] == "0.00"
    assert d["refundBankAccount"] == {"accountNo": MASKED, "accountName": "杭州锅炉有限公司", "bankCode": "ICBC"}
    assert_shanghai_time(d["createdAt"])
    assert_shanghai_time(d["updatedAt"])
    assert ACCOUNT not in r.get_data(as_text=True)
    after = row_counts()
    assert after["audit_log"] - before["audit_log"] == 1
    audits, events = trail(app, "R5005")
    assert audits == 1 and events >= 1

    # Update: only what is sent changes.
    r2 = api.put(reseller_url("R5005"), json={"name": "Hangzhou Boilers Group", "status": "SUSPENDED"})
    d2 = assert_ok(r2, 200)
    conforms(ResellerOut, d2)
    assert (d2["name"], d2["status"], d2["creditLimit"], d2["creditTermDays"]) == (
        "Hangzhou Boilers Group", "SUSPENDED", "500000.00", 45)
    assert d2["refundBankAccount"]["accountNo"] == MASKED and d2["createdAt"] == d["createdAt"]
    audits2, events2 = trail(app, "R5005")
    assert audits2 == 2 and events2 >= events + 1


def test_get_shows_wallet_and_masked_account(app, api, make_reseller):
    make_reseller("R1001", wallet="1234.50")
    assert_ok(api.put(reseller_url("R1001"), json={"refundBankAccount": NEW["refundBankAccount"]}))
    r = api.get(reseller_url("R1001"))
    d = assert_ok(r)
    conforms(ResellerOut, d)
    assert d["walletBalance"] == "1234.50" and d["refundBankAccount"]["accountNo"] == MASKED
    assert ACCOUNT not in r.get_data(as_text=True)


def test_account_number_is_encrypted_at_rest_and_kept_out_of_logs(app, api):
    assert_ok(api.put(reseller_url("R5005"), json=NEW), 201)
    with app.app_context():
        raw = db.session.execute(sa.text("SELECT refund_account_no_enc FROM resellers WHERE code = 'R5005'")).scalar()
        assert raw and ACCOUNT not in raw and "3445" not in raw
        for table, column in (("audit_log", '"after"'), ("outbox_events", "payload")):
            texts = db.session.execute(sa.text(f"SELECT CAST({column} AS TEXT) FROM {table}")).scalars().all()
            assert texts and not any(ACCOUNT in (t or "") for t in texts), table


def test_suspended_reseller_cannot_get_orders(api):
    assert_ok(api.put(reseller_url("R1001"), json={"name": "R", "status": "SUSPENDED"}), 201)
    assert_error(api.post(CREATE, json=order_body()), 422, "VALIDATION_ERROR", ["resellerId"])
    assert_ok(api.put(reseller_url("R1001"), json={"status": "ACTIVE"}))
    assert_ok(api.post(CREATE, json=order_body()), 201)


@pytest.mark.parametrize("body", [
    {"name": "New Co", "creditLimit": "1000.00"},
    {"name": "New Co", "creditTermDays": 10},
    {"name": "New Co", "creditStatus": "SUSPENDED"},
])
def test_credit_fields_need_the_credit_scope(api_with, row_counts, body):
    caller = api_with("resellers")
    before = row_counts()
    assert_error(caller.put(reseller_url("R6006"), json=body), 403, "FORBIDDEN")
    assert row_counts() == before
    assert_ok(caller.put(reseller_url("R6006"), json={"name": "New Co"}), 201)


def test_credit_scope_alone_changes_credit_fields_only(api_with, make_reseller, row_counts):
    make_reseller("R1001")
    credit = api_with("credit")
    d = assert_ok(credit.put(reseller_url("R1001"), json={"creditLimit": "80000.00", "creditTermDays": 60}))
    assert (d["creditLimit"], d["creditTermDays"]) == ("80000.00", 60)
    before = row_counts()
    assert_error(credit.put(reseller_url("R1001"), json={"name": "Renamed"}), 403, "FORBIDDEN")
    assert_error(credit.put(reseller_url("R7007"), json={"name": "New", "creditLimit": "1.00"}), 403, "FORBIDDEN")
    assert row_counts() == before


@pytest.mark.parametrize("scopes", ["payments", "finance", "refunds", "disburse"])
def test_upsert_needs_resellers_or_credit(api_with, row_counts, scopes):
    caller = api_with(scopes)
    before = row_counts()
    assert_error(caller.put(reseller_url("R6006"), json={"name": "X"}), 403, "FORBIDDEN")
    assert row_counts() == before


@pytest.mark.parametrize(("scopes", "status"), [
    ("resellers", 200), ("credit", 200), ("payments", 200), ("finance", 200), ("disburse", 403), ("refunds", 403),
])
def test_get_scopes(api_with, make_reseller, scopes, status):
    make_reseller("R1001")
    r = api_with(scopes).get(reseller_url("R1001"))
    if status == 200:
        assert_ok(r)
    else:
        assert_error(r, 403, "FORBIDDEN")


def test_unknown_reseller_is_404(api, row_counts):
    before = row_counts()
    assert_error(api.get(reseller_url("R9999")), 404, "NOT_FOUND")
    assert row_counts() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"status": "ACTIVE"}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": 42}, "name"),
    ({"name": "X", "status": "DELETED"}, "status"),
    ({"name": "X", "creditLimit": "-1.00"}, "creditLimit"),
    ({"name": "X", "creditLimit": "1.001"}, "creditLimit"),
    ({"name": "X", "creditLimit": "abc"}, "creditLimit"),
    ({"name": "X", "creditTermDays": -1}, "creditTermDays"),
    ({"name": "X", "creditTermDays": "30"}, "creditTermDays"),
    ({"name": "X", "creditTermDays": 3651}, "creditTermDays"),
    ({"name": "X", "creditStatus": "CLOSED"}, "creditStatus"),
    ({"name": "X", "approvalThreshold": "-5"}, "approvalThreshold"),
    ({"name": "X", "refundBankAccount": {"accountNo": "6222-0212-3456", "accountName": "A", "bankCode": "ICBC"}},
     "refundBankAccount.accountNo"),
    ({"name": "X", "refundBankAccount": {"accountNo": "12345", "accountName": "A", "bankCode": "ICBC"}},
     "refundBankAccount.accountNo"),
    ({"name": "X", "refundBankAccount": {"accountNo": ACCOUNT, "accountName": "A", "bankCode": "icbc"}},
     "refundBankAccount.bankCode"),
    ({"name": "X", "refundBankAccount": {"accountNo": ACCOUNT, "bankCode": "ICBC"}},
     "refundBankAccount.accountName"),
    ({"name": "X", "refundBankAccount": {"accountNo": ACCOUNT, "accountName": "A", "bankCode": "ICBC",
                                         "iban": "x"}}, "refundBankAccount.iban"),
    ({"name": "X", "refundBankAccount": "6222021234563445"}, "refundBankAccount"),
    ({"name": "X", "walletBalance": "100.00"}, "walletBalance"),
    ({"name": "X", "code": "R1"}, "code"),
])
def test_bad_upsert_is_422_and_nothing_is_stored(api, row_counts, body, field):
    before = row_counts()
    assert_error(api.put(reseller_url("R6006"), json=body), 422, "VALIDATION_ERROR", [field])
    assert row_counts() == before
    assert_error(api.get(reseller_url("R6006")), 404, "NOT_FOUND")


@pytest.mark.parametrize("code", ["R 1", "R1001!", "x" * 33, "R%C3%A91"])
def test_bad_reseller_id_in_path_is_422(api, row_counts, code):
    before = row_counts()
    assert_error(api.put(reseller_url(code), json={"name": "X"}), 422, "VALIDATION_ERROR", ["resellerId"])
    assert row_counts() == before


def test_reseller_rows_are_versioned(app, api):
    assert_ok(api.put(reseller_url("R5005"), json=NEW), 201)
    assert_ok(api.put(reseller_url("R5005"), json={"name": "v2"}))
    with app.app_context():
        assert db.session.scalar(sa.select(Reseller.version).where(Reseller.code == "R5005")) == 2
