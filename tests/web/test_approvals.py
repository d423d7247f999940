"""/approvals: the reseller approver's queue (maker-checker). Operators and staff cannot approve; the
maker of a payment cannot approve it; a rejection needs a reason, shown next to the field when
missing, and the operator then sees it on the payment."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import MergedPayment, Reseller
from app.services.ledgers import wallet
from tests.support.checkout_screen import order_row, orders, pay
from tests.support.engine import check_invariants
from tests.support.html import dom
from tests.support.web import csrf_token


@pytest.fixture
def low_threshold(app, shop):
    with app.app_context():
        db.session.execute(sa.update(Reseller).values(approval_threshold=Decimal("1000.00")))
        db.session.commit()


@pytest.fixture
def operator(signed_in, low_threshold):
    return signed_in("operator@r1001.example")


@pytest.fixture
def approver(signed_in, low_threshold):
    return signed_in("approver@r1001.example")


def status(app, mp_id: str) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(MergedPayment.status).where(MergedPayment.merged_payment_id == mp_id))


def post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/payments"), **data})


def waiting(app, operator, amount="5000.00", channel="WALLET") -> tuple[str, str]:
    (pid,) = orders(app, amount)
    return pid, pay(operator, [(pid, amount, channel)])


def test_operators_and_staff_cannot_approve(app, operator, signed_in):
    _, mp_id = waiting(app, operator)
    assert operator.get("/approvals").status_code == 403
    assert post(operator, f"/approvals/{mp_id}/approve").status_code == 403
    assert post(operator, f"/approvals/{mp_id}/reject", reason="no").status_code == 403
    for email in ("finance@example.com", "admin@example.com"):
        assert signed_in(email).get("/approvals").status_code == 403
    assert app.test_client().get("/approvals").status_code == 302
    assert status(app, mp_id) == "PENDING_APPROVAL"


def test_approver_sees_the_companys_waiting_payments_and_approves(app, operator, approver, signed_in):
    pid, mp_id = waiting(app, operator)
    (small,) = orders(app, "10.00")
    pay(operator, [(small, "10.00", "WALLET")])  # below the threshold: not in the queue
    (theirs,) = orders(app, "900.00", reseller="R1002")
    other_mp = pay(signed_in("operator@r1002.example"), [(theirs, "900.00", "WALLET")])
    page = approver.get("/approvals?lang=en")
    assert page.status_code == 200
    tree = dom(page)
    rows = tree.all("approval-row")
    assert [r["data-merged-payment-id"] for r in rows] == [mp_id]
    assert rows[0].one("allocation")["data-payment-id"] == pid and "¥5,000.00" in rows[0].text
    assert "operator@r1001.example" in rows[0].text and other_mp not in page.get_data(as_text=True)
    response = post(approver, f"/approvals/{mp_id}/approve")
    assert response.status_code == 303
    assert "was approved" in dom(approver.get("/approvals")).one("flash").text
    assert status(app, mp_id) == "SUCCEEDED" and order_row(app, pid).payment_status == "PAID"
    assert not dom(approver.get("/approvals")).all("approval-row")
    with app.app_context():
        check_invariants()


def test_the_maker_cannot_approve_their_own_payment(app, approver):
    _, mp_id = waiting(app, approver)  # an approver may check out too; another approver must approve it
    tree = dom(approver.get("/approvals?lang=en"))
    row = tree.one("approval-row")
    assert row.all("own-payment") and not row.all("approve") and row.all("reject")
    response = post(approver, f"/approvals/{mp_id}/approve")
    assert response.status_code == 403
    assert "another approver must approve it" in dom(response).one("approval-error").text
    assert status(app, mp_id) == "PENDING_APPROVAL"


@pytest.mark.parametrize("reason", ["", "   "])
def test_rejecting_needs_a_reason_shown_next_to_the_field(app, operator, approver, reason):
    pid, mp_id = waiting(app, operator)
    approver.get("/approvals?lang=en")
    response = post(approver, f"/approvals/{mp_id}/reject", reason=reason)
    assert response.status_code == 422
    row = dom(response).one("approval-row", data_merged_payment_id=mp_id)
    error = row.one("reject-reason-error")
    assert "Give a reason" in error.text
    assert row.one("reject-reason-input")["aria-describedby"] == error["id"]
    assert status(app, mp_id) == "PENDING_APPROVAL"


def test_rejection_with_a_reason_releases_and_the_operator_sees_it(app, operator, approver):
    pid, mp_id = waiting(app, operator)
    response = post(approver, f"/approvals/{mp_id}/reject", reason="本月预算已用完 / budget used up")
    assert response.status_code == 303
    assert status(app, mp_id) == "CANCELLED"
    assert order_row(app, pid).reserved_amount == 0 and order_row(app, pid).payment_status == "UNPAID"
    tree = dom(operator.get(f"/payments/{mp_id}?lang=en"))
    assert "budget used up" in tree.one("reject-reason").text
    with app.app_context():
        check_invariants()


def test_another_companys_payment_is_404_for_the_approver(app, approver, signed_in):
    with app.app_context():
        db.session.execute(sa.update(Reseller).values(approval_threshold=Decimal("100.00")))
        db.session.commit()
    (theirs,) = orders(app, "900.00", reseller="R1002")
    other_mp = pay(signed_in("operator@r1002.example"), [(theirs, "900.00", "WALLET")])
    assert post(approver, f"/approvals/{other_mp}/approve").status_code == 404
    assert post(approver, f"/approvals/{other_mp}/reject", reason="x").status_code == 404
    assert post(approver, f"/approvals/{other_mp}/reject", reason="").status_code == 404
    assert status(app, other_mp) == "PENDING_APPROVAL"


def test_approval_rechecks_the_wallet(app, operator, approver):
    _, mp_id = waiting(app, operator, amount="400000.00")
    with app.app_context():
        r1001 = db.session.scalar(sa.select(Reseller.id).where(Reseller.code == "R1001"))
        wallet.post(r1001, Decimal("-450000.00"), "ADJUST", reference=None, actor="tests")
        db.session.commit()
    approver.get("/approvals?lang=en")
    response = post(approver, f"/approvals/{mp_id}/approve")
    assert response.status_code == 409
    assert "wallet balance is no longer enough" in dom(response).one("approval-error").text
    assert status(app, mp_id) == "PENDING_APPROVAL"


def test_approving_twice_says_it_no_longer_waits(app, operator, approver):
    _, mp_id = waiting(app, operator)
    assert post(approver, f"/approvals/{mp_id}/approve").status_code == 303
    approver.get("/approvals?lang=en")
    again = post(approver, f"/approvals/{mp_id}/approve")
    assert again.status_code == 409 and "no longer waiting for approval" in again.get_data(as_text=True)


def test_approvals_in_chinese(app, operator, approver):
    waiting(app, operator)
    body = approver.get("/approvals?lang=zh").get_data(as_text=True)
    assert "审批" in body and "批准" in body and "驳回" in body
