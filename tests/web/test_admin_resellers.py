"""/admin/resellers (docs/SCREENS.md): approval threshold, credit limit and term, the refund bank
account shown masked and stored encrypted; every field's error beside it in en and zh-CN, nothing
stored; every change audited (the account masked in the audit log too); only admins."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry, Reseller
from app.services.platform import crypto
from tests.support import screen_setup
from tests.support.html import dom, refused_field
from tests.support.routes import ADMIN, FIN, OP1
from tests.support.web import csrf_token, done

GOOD = {"approval_threshold": "800,000.00", "credit_limit": "1200000", "credit_term_days": "45",
        "account_no": "", "account_name": "", "bank_code": ""}
ACCOUNT = "6222 0202 0011 2233 445"


@pytest.fixture
def admin(signed_in, portal):
    return signed_in(ADMIN)


def post(client, data, code="R1001"):
    return done(client.post(f"/admin/resellers/{code}",
                            data={**data, "csrf_token": csrf_token(client, "/admin/resellers")}))


@screen_setup.in_app
def stored(code: str = "R1001") -> dict:
    r = db.session.scalar(sa.select(Reseller).where(Reseller.code == code))
    row = {"threshold": r.approval_threshold, "limit": r.credit_limit, "term": r.credit_term_days,
           "account_enc": r.refund_account_no_enc, "name": r.refund_account_name, "bank": r.refund_bank_code,
           "version": r.version}
    db.session.rollback()
    return row


@screen_setup.in_app
def audits() -> list[AuditEntry]:
    rows = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "reseller.update")
                              .order_by(AuditEntry.id)).all()
    found = [(r.target_id, r.before, r.after) for r in rows]
    db.session.rollback()
    return found


def test_only_admins_see_or_change_reseller_settings(signed_in, portal):
    before = stored()
    for who in (FIN, OP1):
        client = signed_in(who)
        assert done(client.get("/admin/resellers")).status_code == 403
        assert done(client.get("/admin/resellers/R1001")).status_code == 403
        token = csrf_token(client, "/account/password")
        assert done(client.post("/admin/resellers/R1001", data={**GOOD, "csrf_token": token})).status_code == 403
    assert stored() == before and audits() == []


def test_settings_are_saved_the_account_masked_and_encrypted_and_audited(admin):
    response = post(admin, {**GOOD, "account_no": ACCOUNT, "account_name": "华东重工设备销售有限公司",
                            "bank_code": "icbc"})
    assert response.status_code == 303
    row = stored()
    assert (row["threshold"], row["limit"], row["term"], row["name"], row["bank"]) == (
        Decimal("800000.00"), Decimal("1200000.00"), 45, "华东重工设备销售有限公司", "ICBC")
    assert "6222020200112233445" not in row["account_enc"]
    with screen_setup.APP["app"].app_context():
        assert crypto.decrypt(row["account_enc"]) == "6222020200112233445"
    listing = done(admin.get("/admin/resellers")).get_data(as_text=True)
    form = done(admin.get("/admin/resellers/R1001")).get_data(as_text=True)
    for page in (listing, form):
        assert "6222 **** **** 3445" in page and "6222020200112233445" not in page
    [(target, before, after)] = audits()
    assert target == "R1001"
    assert before["approvalThreshold"] == "1000000.00" and after["approvalThreshold"] == "800000.00"
    assert after["creditLimit"] == "1200000.00" and after["creditTermDays"] == 45
    assert after["refundBankAccount"]["accountNo"] == "6222 **** **** 3445"
    assert "6222020200112233445" not in str(before) + str(after)
    # left empty, the stored account stays
    assert post(admin, GOOD).status_code == 303
    assert stored()["account_enc"] == row["account_enc"]


BAD = [
    ("approval_threshold", {"approval_threshold": ""}, "Enter the amount", None),
    ("approval_threshold", {"approval_threshold": "-1"}, "Enter an amount in yuan", None),
    ("approval_threshold", {"approval_threshold": "1.005"}, "two decimals", None),
    ("credit_limit", {"credit_limit": "abc"}, "Enter an amount in yuan", None),
    ("credit_limit", {"credit_limit": "99999999999999"}, "too large", None),
    ("credit_term_days", {"credit_term_days": "x"}, "Enter whole days from 0 to 3650",
     "请输入 0 到 3650 之间的整数天数"),
    ("credit_term_days", {"credit_term_days": "3651"}, "Enter whole days from 0 to 3650", None),
    ("account_no", {"account_no": "12AB", "account_name": "某公司", "bank_code": "ICBC"}, "6 to 32 digits",
     "6 到 32 位数字"),
    ("account_name", {"account_no": "6222020200112233445", "bank_code": "ICBC"}, "account holder", "户名"),
    ("bank_code", {"account_no": "6222020200112233445", "account_name": "某公司", "bank_code": "1"}, "bank code",
     "银行代码"),
]


@pytest.mark.parametrize("field,change,english,chinese", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_a_bad_field_is_refused_beside_itself_and_nothing_is_stored(admin, field, change, english, chinese):
    before = stored()
    for lang, words in (("en", english), ("zh", chinese)):
        admin.get(f"/admin/resellers?lang={lang}")
        response = post(admin, {**GOOD, **change})
        refused_field(response, field, words)
        assert "6222020200112233445" not in response.get_data(as_text=True)  # never echoed back
    assert stored() == before and audits() == []


def test_a_credit_limit_below_the_credit_in_use_is_refused_beside_it(admin):
    with screen_setup.APP["app"].app_context():
        r = db.session.scalar(sa.select(Reseller).where(Reseller.code == "R1001"))
        r.credit_used = Decimal("5000.00")
        db.session.commit()
    before = stored()
    response = post(admin, {**GOOD, "credit_limit": "4999.99"})
    assert response.status_code == 422
    [error] = dom(response).all("field-error")
    assert error["data-field"] == "credit_limit" and "5,000.00" in error.text
    assert stored() == before and audits() == []


def test_an_unknown_reseller_is_404(admin):
    assert done(admin.get("/admin/resellers/R9999")).status_code == 404
    assert post(admin, GOOD, code="R9999").status_code == 404
