"""Finance's decisions on unidentified bank receipts (app/services/reconciliation/receipt_actions.py):
accept a suggestion or link a payment (confirmed once, through the voucher confirm's path, with the
line's amount), assign to a reseller's wallet (the wallet's top-up, its maker-checker above the
threshold), return with a reason. Bad input changes nothing; the money invariants hold after each
action; two finance users acting on one receipt at once make one effect (row locks: PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.errors import StateConflict, ValidationFailed
from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.models import AuditEntry, BankReceipt, ChannelPayment, OutboxEvent, PaymentTransaction, Reseller, WalletEntry
from app.services.bank_statements.lines import BankLine, Direction, ParsedStatement, Position, StatementFormat
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.ledgers import wallet_changes
from app.services.platform.actor import Actor
from app.services.reconciliation import receipt_actions as actions
from app.services.reconciliation import wire_matching
from tests.support.concurrency import race
from tests.support.engine import OPERATOR, check_invariants, detached, make_order, order
from tests.support.factories import add_user

OURS = "6222020200112233445"
FIN1 = Actor(type="user", id="fin1")
FIN2 = Actor(type="user", id="fin2")


@pytest.fixture
def desk(engine_setup):
    """engine_setup plus a second finance user; R1002's threshold 1,000.00, its wallet empty."""
    f2 = add_user("fin2@example.com", "finance")
    db.session.get_one(Reseller, engine_setup["R1002"]).approval_threshold = Decimal("1000.00")
    db.session.commit()
    return {**engine_setup, "f1": engine_setup["users"]["fin"], "f2": f2}


def wire_checkout(engine_setup, amount: str, reseller: str = "R1001") -> tuple[str, ChannelPayment]:
    pid = make_order(reseller=reseller, amount=amount)
    res = checkout.submit(OPERATOR, None, engine_setup[reseller], [AllocationIn(pid, amount, "WIRE_ICBC")])
    db.session.expire_all()
    cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk))
    return pid, detached(cp)


def receipt(amount: str, memo: str = "货款", ref: str = "BR-1", payer: str = "华东设备有限公司") -> int:
    """A credit line matched by the wire auto-match: left OPEN (no usable reference), with suggestions."""
    day = shanghai_today()
    line = BankLine(Position(2, 1), day, day, Decimal(amount), Direction.CREDIT, "CNY", payer, "6217000011112222",
                    memo, ref, OURS)
    report = wire_matching.match_statement(ParsedStatement(StatementFormat.CSV, "UTF-8", "GENERIC", (line,)))
    assert report.counts["unidentified"] == 1, report.counts
    pk = db.session.scalar(sa.select(BankReceipt.id).where(BankReceipt.bank_reference == ref))
    db.session.rollback()
    return pk


def row(pk: int) -> BankReceipt:
    db.session.expire_all()
    r = detached(db.session.get(BankReceipt, pk))
    db.session.rollback()
    return r


def cp_now(pk: int) -> ChannelPayment:
    db.session.expire_all()
    cp = detached(db.session.get(ChannelPayment, pk))
    db.session.rollback()
    return cp


def stored() -> tuple:
    """Everything an action could change, to show a refused one changed nothing."""
    db.session.expire_all()
    out = (tuple(db.session.execute(sa.select(BankReceipt.state, BankReceipt.wallet_change_id)
                                    .order_by(BankReceipt.id)).all()),
           tuple(db.session.execute(sa.select(ChannelPayment.status).order_by(ChannelPayment.id)).scalars()),
           tuple(db.session.execute(sa.select(Reseller.wallet_balance).order_by(Reseller.id)).scalars()),
           db.session.scalar(sa.select(sa.func.count(AuditEntry.id))),
           db.session.scalar(sa.select(sa.func.count(OutboxEvent.id))))
    db.session.rollback()
    return out


def succeeded(cp: ChannelPayment) -> int:
    n = db.session.scalar(sa.select(sa.func.count(PaymentTransaction.id)).where(
        PaymentTransaction.channel_payment_id == cp.id, PaymentTransaction.status == "SUCCESS"))
    db.session.rollback()
    return int(n or 0)


def actions_logged(prefix: str) -> list[str]:
    out = list(db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like(prefix + "%"))
                                  .order_by(AuditEntry.id)))
    db.session.rollback()
    return out


def test_accepting_the_top_suggestion_confirms_the_wire_once_with_the_line_amount(desk):
    pid, cp = wire_checkout(desk, "1234.56")
    pk = receipt("1234.56")
    suggestion = row(pk).suggestions[0]["channelPaymentId"]
    assert suggestion == cp.channel_payment_id
    actions.accept(FIN1, pk, suggestion, "same amount, payer known")
    r, got = row(pk), cp_now(cp.id)
    assert (r.state, r.channel_payment_id, r.resolved_by, r.resolution_note) == (
        "MATCHED", cp.id, "user:fin1", "same amount, payer known") and r.resolved_at is not None
    assert (got.status, got.received_amount) == ("SUCCESS", Decimal("1234.56"))
    assert order(pid).paid_amount == Decimal("1234.56") and succeeded(cp) == 1
    assert actions_logged("bank_receipt.") == ["bank_receipt.matched"]
    before = stored()
    with pytest.raises(actions.AlreadyDecided):
        actions.accept(FIN2, pk, suggestion, "again")
    assert stored() == before and succeeded(cp) == 1
    check_invariants()


def test_link_by_a_typed_reference_over_and_under_payment_follow_the_voucher_rules(desk):
    pid, cp = wire_checkout(desk, "1000.00")
    over = receipt("1100.00", ref="BR-OVER")
    wallet_before = db.session.get_one(Reseller, desk["R1001"]).wallet_balance
    db.session.rollback()
    actions.accept(FIN1, over, f" {cp.wire_reference.lower()[:4]} {cp.wire_reference.lower()[4:]} ", "memo typo")
    assert (cp_now(cp.id).status, cp_now(cp.id).received_amount) == ("SUCCESS", Decimal("1100.00"))
    assert order(pid).paid_amount == Decimal("1000.00")
    assert db.session.get_one(Reseller, desk["R1001"]).wallet_balance == wallet_before + Decimal("100.00")
    db.session.rollback()

    pid2, short = wire_checkout(desk, "1000.00")
    under = receipt("900.00", ref="BR-UNDER")
    before = stored()
    with pytest.raises(ValidationFailed) as refused:
        actions.accept(FIN1, under, short.channel_payment_id, "short")
    assert refused.value.errors[0]["field"] == "shortfall" and stored() == before
    actions.accept(FIN1, under, short.channel_payment_id, "short, accepted", actions.SHORTFALL_ACCEPT)
    assert (cp_now(short.id).status, order(pid2).paid_amount) == ("SUCCESS", Decimal("900.00"))
    check_invariants()


BAD_ACCEPT = [("", "why", "payment"), ("WZZZZZZZZZ", "why", "payment"), ("CP-NOT-OURS", "why", "payment"),
              ("{cp}", "", "note"), ("{cp}", "   ", "note"), ("{cp}", "x" * 501, "note")]


def test_bad_input_to_accept_changes_nothing(desk):
    _, cp = wire_checkout(desk, "500.00")
    pk = receipt("500.00")
    before = stored()
    for payment, note, field in BAD_ACCEPT:
        with pytest.raises(ValidationFailed) as refused:
            actions.accept(FIN1, pk, payment.format(cp=cp.channel_payment_id), note)
        assert refused.value.errors[0]["field"] == field, (payment, note)
        assert stored() == before


def test_a_payment_already_settled_is_refused(desk):
    _, cp = wire_checkout(desk, "500.00")
    first, second = receipt("500.00", ref="BR-A"), receipt("500.00", ref="BR-B")
    actions.accept(FIN1, first, cp.channel_payment_id, "this one")
    before = stored()
    with pytest.raises(actions.PaymentNotOpen):
        actions.accept(FIN1, second, cp.channel_payment_id, "the same again")
    assert stored() == before and succeeded(cp) == 1


def test_assign_up_to_the_threshold_credits_the_wallet_through_the_top_up(desk):
    r2 = desk["R1002"]
    pk = receipt("1000.00", ref="BR-DEP-1")
    actions.assign(FIN1, desk["f1"], pk, "R1002", "their deposit, confirmed by phone")
    r = row(pk)
    assert (r.state, r.reseller_id, r.resolved_by, r.resolution_note) == (
        "ASSIGNED", r2, "user:fin1", "their deposit, confirmed by phone")
    entry = db.session.scalar(sa.select(WalletEntry).where(WalletEntry.reseller_id == r2))
    assert (entry.entry_type, entry.amount, entry.reference) == ("TOPUP", Decimal("1000.00"), "BR-DEP-1")
    assert db.session.scalar(sa.select(sa.func.count(OutboxEvent.id)).where(
        OutboxEvent.event_type == "wallet.changed", OutboxEvent.aggregate_id == str(r2))) == 1
    db.session.rollback()
    assert actions_logged("bank_receipt.") == ["bank_receipt.assigned"]
    before = stored()
    with pytest.raises(actions.AlreadyDecided):
        actions.return_receipt(FIN2, pk, "too late")
    assert stored() == before
    check_invariants()


def test_bad_input_to_assign_changes_nothing(desk):
    pk = receipt("10.00")
    before = stored()
    for reseller, note, field in [("", "why", "reseller"), ("R9999", "why", "reseller"), ("R1002", "", "note")]:
        with pytest.raises(ValidationFailed) as refused:
            actions.assign(FIN1, desk["f1"], pk, reseller, note)
        assert refused.value.errors[0]["field"] == field and stored() == before


def test_a_bank_reference_already_used_as_a_top_up_serial_is_refused(desk):
    wallet_changes.request_change(FIN1, desk["f1"], desk["R1002"], "TOPUP", Decimal("10.00"), "", "BR-SEEN")
    pk = receipt("10.00", ref="BR-SEEN")
    before = stored()
    with pytest.raises(wallet_changes.DuplicateSerial):
        actions.assign(FIN1, desk["f1"], pk, "R1002", "again")
    assert stored() == before


def test_above_the_threshold_a_second_finance_user_approves(desk):
    r2 = desk["R1002"]
    pk = receipt("1000.01", ref="BR-BIG")
    actions.assign(FIN1, desk["f1"], pk, "R1002", "big deposit")
    r = row(pk)
    assert (r.state, r.reseller_id) == ("OPEN", r2) and r.wallet_change_id is not None
    assert db.session.get_one(Reseller, r2).wallet_balance == Decimal("0.00")
    db.session.rollback()
    for refused in (lambda: actions.accept(FIN2, pk, "WZZZZZZZZZ", "x"),
                    lambda: actions.return_receipt(FIN2, pk, "sent back"),
                    lambda: actions.assign(FIN2, desk["f2"], pk, "R1001", "mine")):
        with pytest.raises((actions.AlreadyDecided, ValidationFailed)):
            refused()
    change_id = actions.pending_change_id(pk)
    with pytest.raises(wallet_changes.SameUser):
        wallet_changes.approve(FIN1, desk["f1"], change_id)
    db.session.rollback()
    assert row(pk).state == "OPEN"
    wallet_changes.approve(FIN2, desk["f2"], change_id)
    r = row(pk)
    assert (r.state, r.resolution_note, r.resolved_by) == ("ASSIGNED", "big deposit", "user:fin2")
    assert db.session.get_one(Reseller, r2).wallet_balance == Decimal("1000.01")
    db.session.rollback()
    assert actions_logged("bank_receipt.") == ["bank_receipt.assign_requested", "bank_receipt.assigned"]
    check_invariants()


def test_a_rejected_assignment_leaves_the_receipt_open_and_it_can_be_returned(desk):
    pk = receipt("5000.00", ref="BR-REJ")
    actions.assign(FIN1, desk["f1"], pk, "R1002", "probably theirs")
    wallet_changes.reject(FIN2, desk["f2"], actions.pending_change_id(pk), "not theirs")
    r = row(pk)
    assert (r.state, r.reseller_id, r.wallet_change_id) == ("OPEN", None, None)
    with pytest.raises(ValidationFailed):
        actions.return_receipt(FIN1, pk, "  ")
    actions.return_receipt(FIN1, pk, "sent back to the payer, bank ref RT-9")
    r = row(pk)
    assert (r.state, r.resolution_note) == ("RETURNED", "sent back to the payer, bank ref RT-9")
    assert db.session.get_one(Reseller, desk["R1002"]).wallet_balance == Decimal("0.00")
    db.session.rollback()
    assert actions_logged("bank_receipt.") == ["bank_receipt.assign_requested", "bank_receipt.assign_rejected",
                                               "bank_receipt.returned"]
    check_invariants()


def test_two_finance_users_acting_on_one_receipt_at_once_make_one_effect(app, desk):
    r2 = desk["R1002"]
    for n in range(3):
        _, cp = wire_checkout(desk, "700.00")
        pk = receipt("700.00", ref=f"BR-RACE-{n}")
        db.session.remove()
        outcomes = race(app, lambda pk=pk: actions.assign(FIN1, desk["f1"], pk, "R1002", "theirs"),
                        lambda pk=pk, cp=cp: actions.accept(FIN2, pk, cp.channel_payment_id, "this payment"),
                        lambda pk=pk: actions.return_receipt(FIN2, pk, "sent back"))
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert len(refused) == 2 and all(isinstance(o, StateConflict) for o in refused), outcomes
        r = row(pk)
        credited = db.session.scalar(sa.select(sa.func.count(WalletEntry.id)).where(
            WalletEntry.reseller_id == r2, WalletEntry.reference == f"BR-RACE-{n}"))
        db.session.rollback()
        assert (r.state == "ASSIGNED") == (credited == 1)
        assert (r.state == "MATCHED") == (succeeded(cp) == 1)
    check_invariants()


def test_two_approvals_of_one_assignment_at_once_credit_once(app, desk):
    f3 = add_user("fin3@example.com", "finance")
    db.session.commit()
    pk = receipt("2000.00", ref="BR-TWICE")
    actions.assign(FIN1, desk["f1"], pk, "R1002", "theirs")
    change_id = actions.pending_change_id(pk)
    db.session.remove()
    outcomes = race(app, lambda: wallet_changes.approve(FIN2, desk["f2"], change_id),
                    lambda: wallet_changes.approve(Actor("user", "fin3"), f3, change_id))
    assert sum(isinstance(o, StateConflict) for o in outcomes) == 1, outcomes
    assert row(pk).state == "ASSIGNED"
    assert db.session.get_one(Reseller, desk["R1002"]).wallet_balance == Decimal("2000.00")
    db.session.rollback()
    check_invariants()

