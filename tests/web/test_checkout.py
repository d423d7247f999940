"""/checkout through the test client with CSRF on: one row per order, the engine's every rule shown
next to the right row (live, and on submit), tampered fields, the one-time form token.

The helpers are in tests/support/checkout_screen.py and tests/support/html.py (``dom``, a small HTML tree
to find elements by data-testid); the ``shop`` and ``operator`` fixtures in tests/web/conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Channel, ChannelPayment, MergedPayment, PaymentOrder, PaymentTransaction, Reseller
from app.services.orders.creation import NewPaymentOrder, create_payment_order
from app.services.orders.update import OrderChanges, update_payment_order
from app.services.platform.actor import Actor
from tests.support.checkout_screen import (
    HX,
    checkout_token,
    count,
    form_rows,
    order_row,
    orders,
    pay,
    row_errors,
    submit,
    validate_live,
)
from tests.support.engine import check_invariants
from tests.support.factories import add_channel
from tests.support.html import dom
from tests.support.web import csrf_token

SYSTEM = Actor(type="system", id="tests")

# --- the page -------------------------------------------------------------------------------------

def test_one_row_per_selected_order_with_payable_default_and_channel_hints(app, operator):
    a, b = orders(app, "1000.00", "2500.50")
    with app.app_context():
        restricted = add_channel("WIRE_VIP", "WIRE", available_to_all=False)
        ch = db.session.get(Channel, restricted)
        ch.resellers = [db.session.scalar(sa.select(Reseller).where(Reseller.code == "R1002"))]
        add_channel("OFF", "WIRE", enabled=False)
        now = datetime.now(UTC)  # in its maintenance window: not offered either
        add_channel("MAINT", "WIRE", maintenance_start=now - timedelta(minutes=5),
                    maintenance_end=now + timedelta(hours=2))
        add_channel("MAINT_LATER", "WIRE", sort_order=9, maintenance_start=now + timedelta(hours=1),
                    maintenance_end=now + timedelta(hours=2))
        db.session.commit()
    response = operator.get(f"/checkout?ids={a},{b}&lang=en")
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    tree = dom(response)
    rows = tree.all("alloc-row")
    assert [r["data-payment-id"] for r in rows] == [a, b]
    assert [r.one("alloc-amount")["value"] for r in rows] == ["1000.00", "2500.50"]
    select = rows[0].one("alloc-channel")
    assert select.tag == "select"
    options = select.all(tag="option")
    assert [(o["value"], o["data-kind"]) for o in options] == [("WALLET", "WALLET"), ("CREDIT", "CREDIT"),
                                                              ("WIRE_ICBC", "WIRE"), ("MAINT_LATER", "WIRE")]
    assert all(r.one("alloc-channel").one(tag="option", selected="")["value"] == "WALLET" for r in rows)
    assert tree.one("checkout-total").text == "¥3,500.50"
    hints = tree.one("channel-hints")
    assert "¥500,000.00" in hints.one("wallet-balance").text and hints.one("available-credit").text == "¥1,000,000.00"
    assert [h["data-channel"] for h in hints.all("channel-hint")] == ["WALLET", "CREDIT", "WIRE_ICBC", "MAINT_LATER"]
    assert tree.all("checkout-submit") and not tree.all("alloc-error")


def test_checkout_page_in_chinese_by_default_and_english(app, operator):
    (a,) = orders(app, "1000.00")
    zh = operator.get(f"/checkout?ids={a}&lang=zh").get_data(as_text=True)
    assert "合计" in zh and "提交支付" in zh and "企业钱包" in zh
    en = operator.get(f"/checkout?ids={a}&lang=en").get_data(as_text=True)
    assert "Total" in en and "Submit payment" in en and "Company wallet" in en
    body = operator.post("/checkout/validate", data=form_rows([(a, "1.005", "WALLET")]),
                         headers={**HX, "X-CSRFToken": csrf_token(operator, "/checkout?lang=zh")})
    assert "最多两位小数" in " ".join(row_errors(body)[a])


def test_nothing_selected_is_an_empty_state(operator):
    tree = dom(operator.get("/checkout?lang=en"))
    assert not tree.all("alloc-row") and "No payment orders are selected" in tree.text


def test_only_reseller_users_check_out(app, signed_in, shop):
    assert app.test_client().get("/checkout").status_code == 302
    for email in ("finance@example.com", "admin@example.com"):
        assert signed_in(email).get("/checkout").status_code == 403


def test_posts_without_the_csrf_token_are_refused(app, operator):
    (a,) = orders(app, "100.00")
    assert operator.post("/checkout/validate", data=form_rows([(a, "1.00", "WALLET")]), headers=HX).status_code == 400
    _, token = checkout_token(operator, [a])
    assert operator.post("/checkout", data={"token": token, **form_rows([(a, "1.00", "WALLET")])}).status_code == 400
    assert count(app, MergedPayment) == 0


# --- every rule of the engine, next to its row ----------------------------------------------------

def _stop(app, pid, action):
    with app.app_context():
        update_payment_order(SYSTEM, pid, OrderChanges(action=action, present=frozenset({"action"})))


def _case(app, client, name):
    """(rows, {row index: expected words}) for one rule; row 0 is the bad one unless said otherwise."""
    good = orders(app, "50.00")[0]
    if name.startswith("amount "):
        (pid,) = orders(app, "1000.00")
        amount, words = {
            "amount zero": ("0", "greater than 0"), "amount 0.00": ("0.00", "greater than 0"),
            "amount negative": ("-1.00", "greater than 0"), "amount three decimals": ("10.005", "two decimals"),
            "amount letters": ("abc", "two decimals"), "amount empty": ("", "two decimals"),
            "amount above payable": ("1000.01", "more than the payable ¥1,000.00"),
        }[name]
        return [(pid, amount, "WIRE_ICBC"), (good, "50.00", "WIRE_ICBC")], {0: words}
    if name == "another reseller's order":
        (theirs,) = orders(app, "777.77", reseller="R1002")
        return [(theirs, "100.00", "WIRE_ICBC"), (good, "50.00", "WIRE_ICBC")], {0: "does not exist"}
    if name in ("stopped order", "frozen order"):
        (pid,) = orders(app, "100.00")
        _stop(app, pid, "STOP" if name == "stopped order" else "FREEZE")
        return [(pid, "100.00", "WIRE_ICBC"), (good, "50.00", "WIRE_ICBC")], {
            0: "is Stopped and cannot be paid" if name == "stopped order" else "is Frozen and cannot be paid"}
    if name == "paid order":
        (pid,) = orders(app, "100.00")
        pay(client, [(pid, "100.00", "WALLET")])
        return [(pid, "1.00", "WIRE_ICBC"), (good, "50.00", "WIRE_ICBC")], {0: "is Paid and cannot be paid"}
    if name == "disabled channel":
        with app.app_context():
            add_channel("WIRE_OFF", "WIRE", name_en="Old wire", enabled=False)
        return [(good, "50.00", "WIRE_OFF")], {0: "switched off"}
    if name == "channel in its maintenance window":
        with app.app_context():
            now = datetime.now(UTC)
            add_channel("WIRE_MAINT", "WIRE", name_en="Maintained wire", maintenance_start=now - timedelta(hours=1),
                        maintenance_end=now + timedelta(hours=1))
        return [(good, "50.00", "WIRE_MAINT")], {0: "is in maintenance"}
    if name == "channel of another reseller":
        with app.app_context():
            ch = db.session.get(Channel, add_channel("WIRE_VIP", "WIRE", name_en="VIP wire", available_to_all=False))
            ch.resellers = [db.session.scalar(sa.select(Reseller).where(Reseller.code == "R1002"))]
            db.session.commit()
        return [(good, "50.00", "WIRE_VIP")], {0: "is not available to your company"}
    if name == "unknown channel":
        return [(good, "50.00", "NOPE")], {0: "Choose a payment channel"}
    if name == "above channel maximum (both rows)":
        with app.app_context():
            add_channel("WIRE_SMALL", "WIRE", name_en="Small wire", min_amount=Decimal("10.00"),
                        max_amount=Decimal("150.00"))
        a, b = orders(app, "100.00", "100.00")
        return [(a, "100.00", "WIRE_SMALL"), (b, "100.00", "WIRE_SMALL"), (good, "50.00", "WIRE_ICBC")], {
            0: "takes at most ¥150.00", 1: "takes at most ¥150.00"}
    if name == "below channel minimum":
        with app.app_context():
            add_channel("WIRE_SMALL", "WIRE", name_en="Small wire", min_amount=Decimal("10.00"))
        return [(good, "5.00", "WIRE_SMALL")], {0: "takes at least ¥10.00"}
    if name == "daily limit":
        with app.app_context():
            add_channel("WIRE_DAILY", "WIRE", name_en="Daily wire", daily_limit_per_reseller=Decimal("150.00"))
        (first,) = orders(app, "100.00")
        pay(client, [(first, "100.00", "WIRE_DAILY")])
        (second,) = orders(app, "100.00")
        return [(second, "50.01", "WIRE_DAILY")], {0: "allows ¥150.00 per day"}
    if name == "wallet balance":
        (pid,) = orders(app, "600000.00")
        return [(pid, "500000.01", "WALLET")], {0: "wallet balance is ¥500,000.00"}
    if name == "available credit":
        (pid,) = orders(app, "2000000.00")
        return [(pid, "1000000.01", "CREDIT")], {0: "available credit is ¥1,000,000.00"}
    if name == "credit for a credit repayment":
        (paid,) = orders(app, "1000.00")
        pay(client, [(paid, "1000.00", "CREDIT")])
        with app.app_context():
            from app.models import CreditRecord

            rec = db.session.scalar(sa.select(CreditRecord))
            repayment = create_payment_order(SYSTEM, NewPaymentOrder(
                order_id=rec.order_id, reseller_code="R1001", payment_type="CREDIT_REPAYMENT",
                payment_amount=Decimal("400.00"), credit_record_id=rec.credit_record_id), idempotency_key=None,
                fingerprint="x").order.payment_id
        return [(repayment, "400.00", "CREDIT")], {0: "credit repayment cannot be paid with credit"}
    if name == "the same order twice":
        return [(good, "10.00", "WIRE_ICBC"), (good, "10.00", "WIRE_ICBC")], {1: "listed twice"}
    raise AssertionError(name)


CASES = ["amount zero", "amount 0.00", "amount negative", "amount three decimals", "amount letters", "amount empty",
         "amount above payable", "another reseller's order", "stopped order", "frozen order", "paid order",
         "disabled channel", "channel in its maintenance window",
         "channel of another reseller", "unknown channel", "above channel maximum (both rows)",
         "below channel minimum", "daily limit", "wallet balance", "available credit",
         "credit for a credit repayment", "the same order twice"]


def _snapshot(app):
    with app.app_context():
        return (count(app, MergedPayment), count(app, PaymentTransaction),
                db.session.execute(sa.select(Reseller.wallet_balance, Reseller.credit_used)
                                   .where(Reseller.code == "R1001")).one(),
                sorted(db.session.execute(sa.select(PaymentOrder.payment_id, PaymentOrder.reserved_amount)).all()))


def _assert_next_to_rows(errors: dict[str, list[str]], rows, expected: dict[int, str]):
    for i, (pid, _amount, _channel) in enumerate(rows):
        if i in expected:
            assert any(expected[i] in e for e in errors[pid]), (i, errors)
        elif rows.count(rows[i]) == 1:
            assert errors[pid] == [], (i, errors)


@pytest.mark.parametrize("case", CASES)
def test_every_engine_rule_is_shown_live_next_to_its_row(app, operator, case):
    operator.get("/checkout?lang=en")
    rows, expected = _case(app, operator, case)
    response = validate_live(operator, rows)
    assert response.status_code == 422
    tree = dom(response)
    assert tree.one(id="checkout-summary")  # the summary is the target; each row's feedback comes out of band
    assert all(f["hx-swap-oob"] == "true" for f in tree.all("alloc-feedback"))
    if case != "the same order twice":
        _assert_next_to_rows(row_errors(response), rows, expected)
    else:
        feedback = tree.all("alloc-feedback")
        assert not feedback[0].all("alloc-error") and "listed twice" in feedback[1].one("alloc-error").text


@pytest.mark.parametrize("case", CASES)
def test_every_engine_rule_refuses_the_submit_next_to_its_row_and_stores_nothing(app, operator, case):
    operator.get("/checkout?lang=en")
    rows, expected = _case(app, operator, case)
    before = _snapshot(app)
    response = submit(operator, rows)
    assert response.status_code == 422
    tree = dom(response)
    alloc_rows = tree.all("alloc-row")
    assert len(alloc_rows) == len(rows)
    for i, words in expected.items():
        assert alloc_rows[i]["data-payment-id"] == rows[i][0]
        assert any(words in e.text for e in alloc_rows[i].all("alloc-error")), (case, i, tree.text[:3000])
    for i, row in enumerate(alloc_rows):
        if i not in expected and [r[0] for r in rows].count(rows[i][0]) == 1:
            assert not row.all("alloc-error")
    assert _snapshot(app) == before
    with app.app_context():
        check_invariants()


def test_no_rows_is_an_error_for_the_whole_form(app, operator):
    operator.get("/checkout?lang=en")
    response = operator.post("/checkout", data={"csrf_token": csrf_token(operator, "/checkout"), "token": "t" * 32})
    assert response.status_code == 422 and "Select at least one payment order" in dom(response).text


# --- tampering ------------------------------------------------------------------------------------

def test_another_resellers_order_shows_none_of_its_data(app, operator):
    (theirs,) = orders(app, "777.77", reseller="R1002", business_desc="secret project of R1002")
    (mine,) = orders(app, "100.00")
    with app.app_context():
        their_order_id = db.session.scalar(sa.select(PaymentOrder.order_id).where(PaymentOrder.payment_id == theirs))
    for response in (operator.get(f"/checkout?ids={theirs},{mine}&lang=en"),
                     submit(operator, [(theirs, "100.00", "WALLET"), (mine, "100.00", "WALLET")]),
                     validate_live(operator, [(theirs, "100.00", "WALLET")])):
        body = response.get_data(as_text=True)
        assert "777.77" not in body and their_order_id not in body and "secret project" not in body
        assert "does not exist" in " ".join(row_errors(response)[theirs])
    assert count(app, MergedPayment) == 0


def test_tampered_amounts_and_channel_reach_the_engine_and_are_refused(app, operator):
    operator.get("/checkout?lang=en")
    a, b, c = orders(app, "100.00", "100.00", "100.00")
    rows = [(a, "-50.00", "WALLET"), (b, "10.123", "WALLET"), (c, "10.00", "<script>x</script>")]
    response = submit(operator, rows)
    assert response.status_code == 422
    errors = row_errors(response)
    assert "greater than 0" in errors[a][0] and "two decimals" in errors[b][0] and "Choose a payment channel" in \
        errors[c][0]
    assert "<script>x</script>" not in response.get_data(as_text=True)
    assert count(app, MergedPayment) == 0 and order_row(app, a).reserved_amount == 0


def test_a_missing_or_forged_form_token_asks_to_submit_again(app, operator):
    operator.get("/checkout?lang=en")
    (a,) = orders(app, "100.00")
    response = submit(operator, [(a, "100.00", "WALLET")], token="x")
    assert response.status_code == 422 and "This form has expired" in dom(response).text
    fresh = dom(response).one(tag="input", name="token")["value"]
    assert fresh != "x" and len(fresh) >= 16
    assert count(app, MergedPayment) == 0


# --- submit ---------------------------------------------------------------------------------------

def test_double_submit_makes_one_merged_payment(app, operator):
    a, b = orders(app, "1000.00", "300.00")
    rows = [(a, "400.00", "WIRE_ICBC"), (b, "300.00", "WALLET")]
    csrf, token = checkout_token(operator, [a, b])
    data = {"csrf_token": csrf, "token": token, **form_rows(rows)}
    first = operator.post("/checkout", data=data)
    second = operator.post("/checkout", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app, MergedPayment) == 1
    assert order_row(app, a).reserved_amount == Decimal("400.00") and order_row(app, b).paid_amount == \
        Decimal("300.00")
    page = operator.get(second.headers["Location"] + "?lang=en")
    assert "already submitted" in page.get_data(as_text=True)
    with app.app_context():
        check_invariants()


def test_submit_creates_the_merged_payment_and_goes_to_its_page(app, operator):
    a, b = orders(app, "1000.00", "2000.00")
    mp_id = pay(operator, [(a, "1000.00", "WALLET"), (b, "500.00", "WIRE_ICBC")])
    with app.app_context():
        mp = db.session.scalar(sa.select(MergedPayment).where(MergedPayment.merged_payment_id == mp_id))
        assert mp.total_amount == Decimal("1500.00") and mp.status == "PROCESSING"
        assert mp.created_by_user_id is not None
        kinds = sorted(db.session.scalars(sa.select(ChannelPayment.channel_kind)))
        assert kinds == ["WALLET", "WIRE"]
    assert order_row(app, a).payment_status == "PAID" and order_row(app, b).payment_status == "PAYING"
    # A partly paid order is offered again with what is still payable.
    tree = dom(operator.get(f"/checkout?ids={b}"))
    assert tree.one("alloc-row").one("alloc-amount")["value"] == "1500.00"


def test_above_the_threshold_the_payment_waits_for_an_approver(app, operator):
    (a,) = orders(app, "2000000.00")
    mp_id = pay(operator, [(a, "1500000.00", "WIRE_ICBC")])
    page = dom(operator.get(f"/payments/{mp_id}?lang=en"))
    assert page.one("payment-status")["data-status"] == "PENDING_APPROVAL"
    assert "waits for an approver" in page.one("flash").text


def test_live_validation_of_good_rows_answers_200_with_the_total_and_approval_hint(app, operator):
    operator.get("/checkout?lang=en")
    a, b = orders(app, "1500000.00", "300.00")
    response = validate_live(operator, [(a, "999999.99", "WIRE_ICBC"), (b, "0.02", "WIRE_ICBC")])
    assert response.status_code == 200
    tree = dom(response)
    assert tree.one("checkout-total").text == "¥1,000,000.01"
    assert "approval threshold" in tree.one("needs-approval").text
    assert not tree.all("alloc-error") and len(tree.all("alloc-feedback")) == 2


def test_live_validation_without_htmx_answers_the_whole_page(app, operator):
    (a,) = orders(app, "100.00")
    response = operator.post("/checkout/validate", data={
        "csrf_token": csrf_token(operator, "/checkout"), "token": "t" * 32, **form_rows([(a, "200.00", "WALLET")])})
    assert response.status_code == 422
    assert dom(response).one("alloc-row").all("alloc-error")


def test_an_order_whose_rest_is_in_flight_says_so(app, operator):
    (a,) = orders(app, "100.00")
    pay(operator, [(a, "100.00", "WIRE_ICBC")])  # all of it reserved by a wire transfer in progress
    response = operator.get(f"/checkout?ids={a}&lang=en")
    row = dom(response).one("alloc-row")
    assert row.one("alloc-amount")["value"] == ""
    assert "Nothing is payable on this order now" in row.one("alloc-error").text
    refused = submit(operator, [(a, "10.00", "WIRE_ICBC")])
    assert refused.status_code == 422 and "Nothing is payable" in " ".join(row_errors(refused)[a])
