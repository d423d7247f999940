"""Finance's actions on reconciliation exceptions (app/services/reconciliation/exception_actions.py and
exception_approval.py): the exceptions are made by the real import and matching of a statement of
today (WIRE: no gateway needed; ONLINE for the requery, against the sandbox gateway), then each action
is taken through the service: only the actions that fit the class are accepted, a note is required,
each is audited and keeps the exception (RESOLVED with who, when, why and the action), money moves only
through settlement or the wallet's top-up, above the approval threshold a second finance user decides,
bad input changes nothing, and the money invariants hold after each. Two finance users acting on one
exception at once make one money effect (row locks: PostgreSQL; serialised on SQLite)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.enums import ChannelPaymentStatus, StatementSource
from app.domain.errors import NotFound, StateConflict, ValidationFailed
from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.models import (
    AuditEntry,
    Channel,
    ChannelPayment,
    CreditRecord,
    OutboxEvent,
    PaymentOrder,
    PaymentTransaction,
    ReconciliationException,
    ReconciliationRun,
    Reseller,
    WalletChange,
    WalletEntry,
)
from app.models.types import now_utc
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.ledgers import money_flows, wallet, wallet_changes
from app.services.platform.actor import Actor
from app.services.reconciliation import exception_actions as actions
from app.services.reconciliation import exception_approval as approval
from app.services.reconciliation import ledger_statement, resolution, reversal, runs
from app.services.reconciliation.lines import Line
from app.services.reconciliation.statement_import import import_statement
from app.services.settlement import channel_result as settlement
from sandbox.testing import wait_until
from tests.support.alerts import alerts_of
from tests.support.concurrency import race
from tests.support.engine import (
    OPERATOR,
    check_invariants,
    check_stored_figures,
    checkout_online,
    detached,
    make_order,
    order,
)
from tests.support.factories import add_user, create_order
from tests.support.refunds import events, refund

FIN1 = Actor(type="user", id="fin1")
FIN2 = Actor(type="user", id="fin2")
D = Decimal


@pytest.fixture
def desk(engine_setup):
    """engine_setup plus a second finance user."""
    f2 = add_user("fin2@example.com", "finance")
    db.session.commit()
    return {**engine_setup, "f1": engine_setup["users"]["fin"], "f2": f2}


def wire(desk, amount: str) -> ChannelPayment:
    """A WIRE payment of R1001 waiting for its money (PROCESSING)."""
    pid = make_order(amount=amount)
    res = checkout.submit(OPERATOR, None, desk["R1001"], [AllocationIn(pid, amount, "WIRE_ICBC")])
    db.session.expire_all()
    cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk))
    assert cp.status == ChannelPaymentStatus.PROCESSING
    return detached(cp)


def threshold(desk, amount: str) -> None:
    db.session.get_one(Reseller, desk["R1001"]).approval_threshold = D(amount)
    db.session.commit()


def line(ref: str, amount: str, status: str = "SUCCESS", ctid: str | None = None) -> Line:
    return Line("payment", ctid or f"GW-{ref}", ref, D(amount), status, None)


def reconcile(lines: list[Line], code: str = "WIRE_ICBC") -> dict[str, int]:
    """Today's statement of ``code`` imported and matched: {reference or match key: exception id}."""
    channel_id = db.session.scalar(sa.select(Channel.id).where(Channel.code == code))
    db.session.rollback()
    imported = import_statement(channel_id, code, shanghai_today(), StatementSource.GATEWAY, lines,
                                runs.RECONCILIATION)
    runs.reconcile(channel_id, shanghai_today(), imported.import_id)
    out = {e.match_key: e.id for e in db.session.scalars(sa.select(ReconciliationException))}
    out.update({e.reference: e.id for e in db.session.scalars(sa.select(ReconciliationException))
                if e.reference and e.exception_class != "DUPLICATE"})
    db.session.rollback()
    return out


def exc(pk: int) -> ReconciliationException:
    db.session.expire_all()
    return detached(db.session.get(ReconciliationException, pk))


def cp_now(pk: int) -> ChannelPayment:
    db.session.expire_all()
    return detached(db.session.get(ChannelPayment, pk))


def balance(desk) -> Decimal:
    db.session.expire_all()
    value = db.session.get_one(Reseller, desk["R1001"]).wallet_balance
    db.session.rollback()
    return value


def stored() -> tuple:
    """Everything an action could change, to show a refused one changed nothing."""
    db.session.expire_all()
    out = (tuple(db.session.execute(sa.select(ReconciliationException.state, ReconciliationException.pending_action,
                                              ReconciliationException.wallet_change_id,
                                              ReconciliationException.channel_payment_id)
                                    .order_by(ReconciliationException.id)).all()),
           tuple(db.session.execute(sa.select(ChannelPayment.status).order_by(ChannelPayment.id)).scalars()),
           tuple(db.session.execute(sa.select(Reseller.wallet_balance).order_by(Reseller.id)).scalars()),
           tuple(db.session.execute(sa.select(ReconciliationRun.exception_count)).scalars()),
           db.session.scalar(sa.select(sa.func.count(WalletChange.id))),
           db.session.scalar(sa.select(sa.func.count(AuditEntry.id))),
           db.session.scalar(sa.select(sa.func.count(OutboxEvent.id))))
    db.session.rollback()
    return out


def succeeded(cp_pk: int) -> Decimal:
    total = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PaymentTransaction.amount), 0)).where(
        PaymentTransaction.channel_payment_id == cp_pk, PaymentTransaction.status == "SUCCESS"))
    db.session.rollback()
    return D(total).quantize(D("0.01"))


def audited(action: str) -> list[dict]:
    rows = [a.after for a in db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)
                                                .order_by(AuditEntry.id))]
    db.session.rollback()
    return rows


def failed_wire(desk, amount: str) -> ChannelPayment:
    cp = wire(desk, amount)
    settlement.settle(cp.id, settlement.Outcome(status=ChannelPaymentStatus.FAILED, reason="voucher rejected"),
                      OPERATOR)
    return cp


def test_each_class_is_offered_only_the_actions_that_fit(desk):
    short, failing, held_failed, pending = (wire(desk, "700.00"), wire(desk, "300.00"), failed_wire(desk, "400.00"),
                                            wire(desk, "500.00"))
    paid = wire(desk, "200.00")
    settlement.settle(paid.id, settlement.Outcome(status=ChannelPaymentStatus.SUCCESS), OPERATOR)
    ids = reconcile([line(short.channel_payment_id, "600.00"), line(failing.channel_payment_id, "300.00", "FAILED"),
                     line(held_failed.channel_payment_id, "400.00"), line("CPX-TYPO", "88.00"),
                     line(pending.channel_payment_id, "500.00", ctid="GW-TWICE"),
                     line(pending.channel_payment_id, "500.00", ctid="GW-TWICE")])
    rows = [{"exceptionId": str(pk), "state": "OPEN"} for pk in set(ids.values())]
    states = actions.screen_states(rows)
    by_class = {}
    for pk, st in states.items():
        by_class.setdefault(exc(pk).exception_class, []).append(st.offered)
    assert sorted(by_class["AMOUNT_MISMATCH"]) == [["ACCEPT_CHANNEL", "WRITE_OFF"]]
    assert sorted(by_class["STATUS_MISMATCH"]) == [["ACCEPT_CHANNEL", "WRITE_OFF"]] * 2  # PROCESSING, FAILED
    assert by_class["MISSING_IN_SYSTEM"] == [["LINK_PAYMENT", "WRITE_OFF"]]
    assert by_class["DUPLICATE"] == [["WRITE_OFF"]]
    assert by_class["MISSING_IN_CHANNEL"] == [["REVERSE", "WRITE_OFF"]]  # paid: on no line of the statement


def test_accepting_the_channels_figure_settles_a_processing_payment_through_settlement(desk):
    short, failing = wire(desk, "700.00"), wire(desk, "300.00")
    ids = reconcile([line(short.channel_payment_id, "600.00"), line(failing.channel_payment_id, "300.00", "FAILED")])
    outcome = actions.accept_channel(FIN1, desk["f1"], ids[short.channel_payment_id], "bank shows 600 arrived")
    assert outcome == "resolved"
    assert cp_now(short.id).status == "SUCCESS" and succeeded(short.id) == D("600.00")  # the rest failed
    e = exc(ids[short.channel_payment_id])
    assert (e.state, e.resolution_action, e.resolution_note) == ("RESOLVED", "ACCEPT_CHANNEL", "bank shows 600 arrived")
    assert e.resolved_by == "user:fin1" and e.resolved_at is not None
    assert actions.accept_channel(FIN1, desk["f1"], ids[failing.channel_payment_id], "declined") == "resolved"
    assert cp_now(failing.id).status == "FAILED" and succeeded(failing.id) == 0
    assert [a["action"] for a in audited("reconciliation.exception_resolved")] == ["ACCEPT_CHANNEL"] * 2
    run = db.session.scalar(sa.select(ReconciliationRun))
    assert run.exception_count == 0
    db.session.rollback()
    check_invariants()


def test_a_channel_success_we_hold_failed_is_credited_to_the_wallet_by_the_top_up(desk):
    cp = failed_wire(desk, "400.00")
    ids = reconcile([line(cp.channel_payment_id, "400.00", ctid="GW-LATE-1")])
    before = balance(desk)
    assert actions.accept_channel(FIN1, desk["f1"], ids[cp.channel_payment_id], "the bank took it") == "resolved"
    assert balance(desk) == before + D("400.00") and cp_now(cp.id).status == "FAILED"
    entry = db.session.scalar(sa.select(WalletEntry).where(WalletEntry.reference == "GW-LATE-1"))
    assert entry.entry_type == "TOPUP" and entry.amount == D("400.00")
    db.session.rollback()
    assert exc(ids[cp.channel_payment_id]).wallet_change_id is not None
    check_invariants()


def test_linking_a_line_to_its_payment_settles_it_once_and_refuses_a_payment_that_disagrees(desk):
    cp, other = wire(desk, "700.00"), wire(desk, "300.00")
    pk = reconcile([line("CP-TYPO-1", "700.00", ctid="GW-LINK-1")])["CP-TYPO-1"]
    before = stored()
    for payment, message in (("", "enter the number"), ("CP-NOPE", "no payment of this channel"),
                             (other.channel_payment_id, "the channel took 700.00")):
        with pytest.raises(ValidationFailed) as refused:
            actions.link_payment(FIN1, desk["f1"], pk, payment, "typo in the memo")
        assert refused.value.errors[0]["field"] == "payment" and message in refused.value.message
    assert stored() == before
    assert actions.link_payment(FIN1, desk["f1"], pk, cp.channel_payment_id.lower(), "typo in the memo") == "resolved"
    e = exc(pk)
    assert (e.state, e.resolution_action, e.channel_payment_id) == ("RESOLVED", "LINK_PAYMENT", cp.id)
    assert cp_now(cp.id).status == "SUCCESS" and cp_now(cp.id).channel_transaction_id == "GW-LINK-1"
    assert succeeded(cp.id) == D("700.00")
    check_invariants()


def test_bad_input_is_refused_and_changes_nothing(desk):
    short, dup = wire(desk, "700.00"), wire(desk, "500.00")
    ids = reconcile([line(short.channel_payment_id, "600.00"), line("CP-TYPO-2", "50.00"),
                     line(dup.channel_payment_id, "500.00", ctid="GW-D"), line(dup.channel_payment_id, "500.00",
                                                                                ctid="GW-D")])
    amount_pk, missing_pk, dup_pk = ids[short.channel_payment_id], ids["CP-TYPO-2"], ids["GW-D#1"]
    before = stored()
    for note in ("", "   ", "x" * 501):
        for call in (lambda n=note: actions.accept_channel(FIN1, desk["f1"], amount_pk, n),
                     lambda n=note: actions.link_payment(FIN1, desk["f1"], missing_pk, dup.channel_payment_id, n),
                     lambda n=note: actions.requery(FIN1, amount_pk, n),
                     lambda n=note: resolution.resolve(FIN1, dup_pk, n)):
            with pytest.raises(ValidationFailed) as refused:
                call()
            assert refused.value.errors[0]["field"] == "note"
    for call in (lambda: actions.link_payment(FIN1, desk["f1"], amount_pk, short.channel_payment_id, "why"),
                 lambda: actions.accept_channel(FIN1, desk["f1"], dup_pk, "why"),
                 lambda: actions.accept_channel(FIN1, desk["f1"], missing_pk, "why"),
                 lambda: actions.requery(FIN1, amount_pk, "why"),  # a WIRE payment: no query
                 lambda: actions.act(FIN1, desk["f1"], amount_pk, "REFUND", "why")):
        with pytest.raises(actions.ActionDoesNotFit):
            call()
    with pytest.raises(NotFound):
        actions.accept_channel(FIN1, desk["f1"], 999_999, "why")
    assert stored() == before
    resolution.resolve(FIN1, amount_pk, "looked at it: the bank corrected it")
    assert exc(amount_pk).resolution_action == "WRITE_OFF"
    after = stored()
    for call in (lambda: actions.accept_channel(FIN2, desk["f2"], amount_pk, "why"),
                 lambda: resolution.resolve(FIN2, amount_pk, "again"),
                 lambda: approval.approve(FIN2, desk["f2"], amount_pk)):
        with pytest.raises(StateConflict):
            call()
    assert stored() == after and cp_now(short.id).status == "PROCESSING"
    check_invariants()


def test_above_the_threshold_a_second_finance_user_approves_or_rejects(desk):
    a, b = wire(desk, "700.00"), wire(desk, "900.00")
    ids = reconcile([line(a.channel_payment_id, "650.00"), line(b.channel_payment_id, "950.00")])
    threshold(desk, "500.00")
    assert actions.accept_channel(FIN1, desk["f1"], ids[a.channel_payment_id], "650 arrived") == "waiting"
    assert actions.accept_channel(FIN1, desk["f1"], ids[b.channel_payment_id], "950 arrived") == "waiting"
    assert cp_now(a.id).status == cp_now(b.id).status == "PROCESSING"
    waiting = stored()
    with pytest.raises(wallet_changes.SameUser):
        approval.approve(FIN1, desk["f1"], ids[a.channel_payment_id])
    with pytest.raises(resolution.WaitsForApproval):
        resolution.resolve(FIN2, ids[a.channel_payment_id], "write it off instead")
    with pytest.raises(ValidationFailed):
        approval.reject(FIN2, desk["f2"], ids[b.channel_payment_id], " ")
    assert stored() == waiting
    approval.approve(FIN2, desk["f2"], ids[a.channel_payment_id])
    e = exc(ids[a.channel_payment_id])
    assert (e.state, e.resolution_action, e.resolution_note) == ("RESOLVED", "ACCEPT_CHANNEL", "650 arrived")
    assert e.resolved_by == "user:fin1 / user:fin2" and e.pending_action is None
    assert succeeded(a.id) == D("650.00")
    with pytest.raises(StateConflict):
        approval.approve(FIN2, desk["f2"], ids[a.channel_payment_id])
    wallet_before = balance(desk)
    approval.reject(FIN2, desk["f2"], ids[b.channel_payment_id], "the bank says 900")
    assert exc(ids[b.channel_payment_id]).state == "OPEN" and exc(ids[b.channel_payment_id]).pending_action is None
    assert cp_now(b.id).status == "PROCESSING" and balance(desk) == wallet_before
    assert [r["reason"] for r in audited("reconciliation.exception_action_rejected")] == ["the bank says 900"]
    check_invariants()


def test_a_corrected_statement_resolves_what_it_no_longer_shows_but_not_what_waits(desk):
    a, b = wire(desk, "700.00"), wire(desk, "800.00")
    ids = reconcile([line(a.channel_payment_id, "650.00"), line(b.channel_payment_id, "750.00")])
    threshold(desk, "500.00")
    assert actions.accept_channel(FIN1, desk["f1"], ids[a.channel_payment_id], "650 arrived") == "waiting"
    reconcile([line("CP-OTHER", "1.00")])  # the corrected statement shows neither line
    waiting, gone = exc(ids[a.channel_payment_id]), exc(ids[b.channel_payment_id])
    assert (waiting.state, waiting.pending_action) == ("OPEN", "ACCEPT_CHANNEL")
    assert (gone.state, gone.resolution_action, gone.resolved_by) == ("RESOLVED", "SYSTEM", "system:reconciliation")


def test_a_wallet_credit_above_the_threshold_waits_with_its_top_up(desk):
    a, b = failed_wire(desk, "800.00"), failed_wire(desk, "600.00")
    ids = reconcile([line(a.channel_payment_id, "800.00", ctid="GW-LATE-A"),
                     line(b.channel_payment_id, "600.00", ctid="GW-LATE-B")])
    threshold(desk, "500.00")
    before = balance(desk)
    for cp in (a, b):
        assert actions.accept_channel(FIN1, desk["f1"], ids[cp.channel_payment_id], "late success") == "waiting"
    assert balance(desk) == before
    with pytest.raises(wallet_changes.SameUser):
        approval.approve(FIN1, desk["f1"], ids[a.channel_payment_id])
    approval.approve(FIN2, desk["f2"], ids[a.channel_payment_id])  # the wallet change's own approval
    assert balance(desk) == before + D("800.00")
    e = exc(ids[a.channel_payment_id])
    assert (e.state, e.resolution_action, e.pending_action) == ("RESOLVED", "ACCEPT_CHANNEL", None)
    change_b = exc(ids[b.channel_payment_id]).wallet_change_id
    wallet_changes.reject(FIN2, desk["f2"], change_b, "not ours")  # decided on /finance/wallets: it follows
    e = exc(ids[b.channel_payment_id])
    assert (e.state, e.pending_action, e.wallet_change_id) == ("OPEN", None, None)
    assert balance(desk) == before + D("800.00")
    check_invariants()


def test_requery_asks_the_gateway_through_the_compensation_path(online, desk):
    online.set_faults(drop_rate=1.0)  # no callback: only the query can tell
    _, _, cp = checkout_online(desk, ("300.00",))
    wait_until(lambda: cp_now(cp.id).channel_transaction_id is not None or cp_now(cp.id).pay_url)
    pk = reconcile([line(cp.channel_payment_id, "300.00", "FAILED")], "ONLINE_UNIONPAY")[cp.channel_payment_id]
    assert exc(pk).exception_class == "STATUS_MISMATCH"
    assert actions.screen_states([{"exceptionId": str(pk), "state": "OPEN"}])[pk].offered == [
        "REQUERY", "ACCEPT_CHANNEL", "WRITE_OFF"]
    assert actions.requery(FIN1, pk, "ask again") == "pending"  # not paid yet: stays open, audited
    assert exc(pk).state == "OPEN" and [a["answer"] for a in audited("reconciliation.exception_requeried")] == [
        "pending"]
    ctid = cp_now(cp.id).channel_transaction_id
    online.complete_payment(ctid, "SUCCESS")
    assert actions.requery(FIN1, pk, "the bank says paid") == "resolved"
    assert cp_now(cp.id).status == "SUCCESS" and succeeded(cp.id) == D("300.00")
    e = exc(pk)
    assert (e.state, e.resolution_action) == ("RESOLVED", "REQUERY")
    check_invariants()


def test_two_finance_users_acting_on_one_exception_at_once_make_one_money_effect(app, desk):
    f3 = add_user("fin3@example.com", "finance")
    db.session.commit()
    for n in range(2):
        cp, held = wire(desk, "700.00"), failed_wire(desk, "400.00")
        ids = reconcile([line(cp.channel_payment_id, "650.00"), line(held.channel_payment_id, "400.00",
                                                                     ctid=f"GW-RACE-{n}")])
        wallet_before = balance(desk)
        db.session.remove()
        pk, held_pk = ids[cp.channel_payment_id], ids[held.channel_payment_id]
        outcomes = race(app, lambda pk=pk: actions.accept_channel(FIN1, desk["f1"], pk, "take 650"),
                        lambda pk=pk: actions.accept_channel(FIN2, desk["f2"], pk, "take 650 too"),
                        lambda pk=pk: resolution.resolve(FIN2, pk, "write off"),
                        lambda pk=held_pk: actions.accept_channel(FIN1, desk["f1"], pk, "credit it"),
                        lambda pk=held_pk: actions.accept_channel(FIN2, desk["f2"], pk, "credit it too"))
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert len(refused) == 3 and all(isinstance(o, StateConflict) for o in refused), outcomes
        assert succeeded(cp.id) in (D("0"), D("650.00"))
        assert (succeeded(cp.id) == D("650.00")) == (exc(pk).resolution_action == "ACCEPT_CHANNEL")
        assert balance(desk) == wallet_before + D("400.00")
    # two approvals of one waiting action at once: settled once
    cp = wire(desk, "900.00")
    pk = reconcile([line(cp.channel_payment_id, "950.00")])[cp.channel_payment_id]
    threshold(desk, "500.00")
    assert actions.accept_channel(FIN1, desk["f1"], pk, "950 arrived") == "waiting"
    db.session.remove()
    outcomes = race(app, lambda: approval.approve(FIN2, desk["f2"], pk),
                    lambda: approval.approve(Actor("user", "fin3"), f3, pk))
    assert sum(isinstance(o, StateConflict) for o in outcomes) == 1, outcomes
    assert succeeded(cp.id) == D("900.00") and cp_now(cp.id).received_amount == D("950.00")
    check_invariants()


def test_the_ledger_run_checks_every_balance_against_its_entries(desk):
    day = shanghai_today()
    wallet_id = db.session.scalar(sa.select(Channel.id).where(Channel.code == "WALLET"))
    db.session.rollback()
    assert ledger_statement.reconcile_ledger(wallet_id, day)["balanceDifferences"] == 0
    run = db.session.scalar(sa.select(ReconciliationRun).where(ReconciliationRun.channel_code == "WALLET"))
    assert run.figures["balanceDifferences"] == [] and run.figures["balancesChecked"] == 2
    db.session.rollback()
    db.session.get_one(Reseller, desk["R1002"]).wallet_balance = D("12.34")  # written past the ledger
    db.session.commit()
    outcome = ledger_statement.reconcile_ledger(wallet_id, day)
    assert (outcome["reconciled"], outcome["balanceDifferences"]) == (False, 1)  # same statement: figures only
    db.session.expire_all()
    run = db.session.scalar(sa.select(ReconciliationRun).where(ReconciliationRun.channel_code == "WALLET"))
    assert run.figures["balanceDifferences"] == [{"reseller": "R1002", "balance": "12.34", "entries": "0.00"}]
    db.session.rollback()
    assert [a[:2] for a in alerts_of("ledger_balance_mismatch")] == [("WALLET-balances", "OPEN")]
    db.session.rollback()
    db.session.get_one(Reseller, desk["R1002"]).wallet_balance = D("0.00")
    db.session.commit()
    assert ledger_statement.reconcile_ledger(wallet_id, day)["balanceDifferences"] == 0
    assert [a[:2] for a in alerts_of("ledger_balance_mismatch")] == [("WALLET-balances", "RESOLVED")]
    db.session.rollback()
    credit_id = db.session.scalar(sa.select(Channel.id).where(Channel.code == "CREDIT"))
    db.session.rollback()
    assert ledger_statement.reconcile_ledger(credit_id, day)["balanceDifferences"] == 0


# --- the reversal (docs/DOMAIN.md §8 "Reversal") ----------------------------------------------------

def paid_wire(desk, *amounts: str, received: str | None = None,
              pids: list[str] | None = None) -> tuple[ChannelPayment, list[str]]:
    """One WIRE payment of R1001 for an order per amount (new ones, deadlines a day apart, the first
    earliest; or ``pids``), confirmed SUCCESS (with ``received`` as the amount that arrived, when given)."""
    soon = now_utc() + timedelta(days=10)
    pids = pids or [make_order(amount=a, deadline=soon + timedelta(days=i)) for i, a in enumerate(amounts)]
    res = checkout.submit(OPERATOR, None, desk["R1001"],
                          [AllocationIn(p, a, "WIRE_ICBC") for p, a in zip(pids, amounts, strict=True)])
    db.session.expire_all()
    pk = db.session.scalar(sa.select(ChannelPayment.id).where(ChannelPayment.merged_payment_id == res.merged_pk))
    db.session.rollback()
    settlement.settle(pk, settlement.Outcome(status=ChannelPaymentStatus.SUCCESS,
                                             received_amount=D(received) if received else None), OPERATOR)
    return cp_now(pk), pids


def allocations(cp_pk: int) -> list[tuple[str, str, Decimal]]:
    """(order, status, amount) of the payment's allocations, in the order they were made."""
    rows = db.session.execute(sa.select(PaymentOrder.payment_id, PaymentTransaction.status, PaymentTransaction.amount)
                              .join(PaymentOrder, PaymentOrder.id == PaymentTransaction.payment_order_id)
                              .where(PaymentTransaction.channel_payment_id == cp_pk)
                              .order_by(PaymentTransaction.id)).all()
    db.session.rollback()
    return [tuple(r) for r in rows]


def test_a_reversal_takes_back_what_the_channel_did_not_take(desk):
    gone, _ = paid_wire(desk, "700.00")
    short, (early, late) = paid_wire(desk, "400.00", "300.00")
    ids = reconcile([line(short.channel_payment_id, "550.00")])  # ``gone`` is on no line
    missing_pk, amount_pk = ids[gone.channel_payment_id], ids[short.channel_payment_id]
    assert (exc(missing_pk).exception_class, exc(amount_pk).exception_class) == ("MISSING_IN_CHANNEL",
                                                                                   "AMOUNT_MISMATCH")
    offered = actions.screen_states([{"exceptionId": str(pk)} for pk in (missing_pk, amount_pk)])
    assert offered[missing_pk].offered == offered[amount_pk].offered == ["REVERSE", "WRITE_OFF"]
    flows_before = sum(r.received for r in money_flows.stored().values())

    assert actions.act(FIN1, desk["f1"], missing_pk, "REVERSE", "not on the bank statement") == "resolved"
    cp = cp_now(gone.id)
    assert (cp.status, cp.received_amount) == ("SUCCESS", D("0.00"))  # final stays final; nothing arrived
    ((pid, status, amount),) = allocations(gone.id)
    assert (status, amount, succeeded(gone.id)) == ("FAILED", D("700.00"), 0)
    o = order(pid)
    assert (o.paid_amount, o.payment_status, o.remaining_amount) == (0, "FAILED", D("700.00"))

    assert actions.act(FIN1, desk["f1"], amount_pk, "REVERSE", "the bank credited 550") == "resolved"
    assert cp_now(short.id).received_amount == D("550.00") and succeeded(short.id) == D("550.00")
    # the latest deadline loses first: its allocation keeps 150 and the reversed 150 fails beside it
    assert allocations(short.id) == [(early, "SUCCESS", D("400.00")), (late, "SUCCESS", D("150.00")),
                                     (late, "FAILED", D("150.00"))]
    assert (order(early).payment_status, order(late).payment_status) == ("PAID", "PARTIAL_PAID")
    assert order(late).paid_amount == D("150.00")
    assert sum(r.received for r in money_flows.stored().values()) == flows_before - D("850.00")

    failed = events("transaction.failed")
    assert [(e["paymentId"], e["reason"]) for e in failed] == [
        (pid, "reversed by reconciliation: WIRE_ICBC did not take it"),
        (late, "reversed by reconciliation: WIRE_ICBC took 550.00")]
    assert [e["paidAmount"] for e in events("payment_order.status_changed")[-2:]] == ["0.00", "150.00"]
    resolved = audited("reconciliation.exception_resolved")
    assert [(a["action"], a["reversed"], a["orders"]) for a in resolved] == [
        ("REVERSE", "700.00", [pid]), ("REVERSE", "150.00", [late])]
    assert exc(amount_pk).resolution_note == "the bank credited 550"
    with pytest.raises(resolution.AlreadyResolved):  # the second click
        reversal.reverse(FIN2, desk["f2"], amount_pk, "again")
    check_invariants()
    check_stored_figures()
    # a corrected statement: 550 matches what we now hold; the reversed 700 turning up is a difference
    ids = reconcile([line(short.channel_payment_id, "550.00"), line(gone.channel_payment_id, "700.00")])
    late = exc(ids[gone.channel_payment_id])
    assert (late.exception_class, late.channel_amount, late.our_amount) == ("AMOUNT_MISMATCH", D("700.00"), 0)
    assert actions.screen_states([{"exceptionId": str(late.id)}])[late.id].offered == ["WRITE_OFF"]
    assert db.session.scalar(sa.select(sa.func.count(ReconciliationException.id))) == 3  # the 550 line: MATCHED
    db.session.rollback()


def test_a_reversal_takes_the_excess_back_from_the_wallet_and_refuses_when_it_is_spent(desk):
    over, _ = paid_wire(desk, "700.00", received="800.00")  # 100 excess credited to the wallet
    spent, _ = paid_wire(desk, "300.00", received="360.00")
    ids = reconcile([line(over.channel_payment_id, "750.00"), line(spent.channel_payment_id, "320.00")])
    before = balance(desk)
    assert reversal.reverse(FIN1, desk["f1"], ids[over.channel_payment_id], "the bank says 750") == "resolved"
    assert balance(desk) == before - D("50.00") and succeeded(over.id) == D("700.00")
    entry = db.session.scalar(sa.select(WalletEntry).order_by(WalletEntry.id.desc()).limit(1))
    assert (entry.entry_type, entry.amount, entry.reference) == ("ADJUST", D("-50.00"), over.channel_payment_id)
    db.session.rollback()
    assert [e["amount"] for e in events("wallet.changed")] == ["-50.00"]
    wallet.post(desk["R1001"], -balance(desk), "ADJUST", reference=None, actor="test")  # the wallet spent
    db.session.commit()
    untouched = stored()
    with pytest.raises(reversal.ReversalRefused) as refused:
        reversal.reverse(FIN1, desk["f1"], ids[spent.channel_payment_id], "the bank says 320")
    assert refused.value.reason == reversal.WALLET_SPENT and stored() == untouched
    check_invariants()


@pytest.fixture
def bank(wire):
    """The sandbox bank paying refunds out (the engine conftest's ``wire``; this module's ``wire`` is a helper)."""
    return wire


def test_a_reversal_is_refused_where_it_does_not_apply_or_money_was_refunded_since(bank, desk):
    processing = wire(desk, "500.00")
    partly, (partly_pid,) = paid_wire(desk, "600.00")
    later, (later_pid,) = paid_wire(desk, "900.00")
    refund(partly_pid, "100.00")
    on_credit = make_order(amount="400.00")
    checkout.submit(OPERATOR, None, desk["R1001"], [AllocationIn(on_credit, "400.00", "CREDIT")])
    record = db.session.scalar(sa.select(CreditRecord))
    repayment = create_order(record.order_id, "R1001", "400.00", "CREDIT_REPAYMENT",
                             credit_record_id=record.credit_record_id)
    repaid, _ = paid_wire(desk, "400.00", pids=[repayment])
    ids = reconcile([line(processing.channel_payment_id, "450.00"), line(partly.channel_payment_id, "550.00"),
                     line("CP-TYPO-9", "5.00")])
    threshold(desk, "500.00")
    assert reversal.reverse(FIN1, desk["f1"], ids[later.channel_payment_id], "not at the bank") == "waiting"
    before = stored()
    for pk in (ids[processing.channel_payment_id], ids["CP-TYPO-9"]):  # still PROCESSING; no payment of ours
        with pytest.raises(actions.ActionDoesNotFit):
            reversal.reverse(FIN1, desk["f1"], pk, "why")
    with pytest.raises(ValidationFailed) as refused:
        reversal.reverse(FIN1, desk["f1"], ids[repaid.channel_payment_id], " ")
    assert refused.value.errors[0]["field"] == "note"
    with pytest.raises(reversal.ReversalRefused) as refused:  # reopening a credit record: not built
        reversal.reverse(FIN1, desk["f1"], ids[repaid.channel_payment_id], "not at the bank")
    assert refused.value.reason == reversal.REPAYMENT_ORDER
    assert stored() == before
    # what was not refunded can be reversed: 600 paid, 100 refunded, the bank took 550
    assert reversal.reverse(FIN1, desk["f1"], ids[partly.channel_payment_id], "the bank took 550") == "resolved"
    o = order(partly_pid)
    assert (o.paid_amount, o.refunded_amount + o.refunding_amount) == (D("550.00"), D("100.00"))
    # refunded after the reversal was asked for: 900 to take back, 700 not refunded
    refund(later_pid, "200.00")
    with pytest.raises(reversal.ReversalRefused) as refused:  # the approval checks again
        approval.approve(FIN2, desk["f2"], ids[later.channel_payment_id])
    assert refused.value.reason == reversal.REFUNDED_SINCE
    approval.reject(FIN2, desk["f2"], ids[later.channel_payment_id], "refunded meanwhile")
    with pytest.raises(reversal.ReversalRefused) as refused:  # asked again: refused before it would wait
        reversal.reverse(FIN1, desk["f1"], ids[later.channel_payment_id], "not at the bank")
    assert refused.value.reason == reversal.REFUNDED_SINCE
    e = exc(ids[later.channel_payment_id])
    assert (e.state, e.pending_action, order(later_pid).paid_amount) == ("OPEN", None, D("900.00"))
    check_invariants()


def test_a_reversal_above_the_threshold_waits_for_a_second_finance_user(desk):
    gone, (pid,) = paid_wire(desk, "700.00")
    pk = reconcile([line("CP-OTHER", "1.00")])[gone.channel_payment_id]
    threshold(desk, "500.00")
    assert reversal.reverse(FIN1, desk["f1"], pk, "not at the bank") == "waiting"
    assert (exc(pk).pending_action, order(pid).paid_amount) == ("REVERSE", D("700.00"))
    with pytest.raises(wallet_changes.SameUser):
        approval.approve(FIN1, desk["f1"], pk)
    with pytest.raises(resolution.WaitsForApproval):
        reversal.reverse(FIN2, desk["f2"], pk, "again")
    approval.approve(FIN2, desk["f2"], pk)
    e = exc(pk)
    assert (e.state, e.resolution_action, e.resolved_by) == ("RESOLVED", "REVERSE", "user:fin1 / user:fin2")
    assert order(pid).paid_amount == 0 and cp_now(gone.id).received_amount == 0
    check_invariants()


def test_two_reversals_or_two_approvals_at_once_reverse_once(app, desk):
    f3 = add_user("fin3@example.com", "finance")
    db.session.commit()
    clicked, (clicked_pid,) = paid_wire(desk, "300.00")
    approved, (approved_pid,) = paid_wire(desk, "900.00")
    ids = reconcile([line("CP-OTHER", "1.00")])
    threshold(desk, "500.00")
    assert reversal.reverse(FIN1, desk["f1"], ids[approved.channel_payment_id], "not at the bank") == "waiting"
    db.session.remove()
    pk, waiting = ids[clicked.channel_payment_id], ids[approved.channel_payment_id]
    outcomes = race(app, lambda: reversal.reverse(FIN1, desk["f1"], pk, "not at the bank"),
                    lambda: reversal.reverse(FIN2, desk["f2"], pk, "not at the bank either"),
                    lambda: approval.approve(FIN2, desk["f2"], waiting),
                    lambda: approval.approve(Actor("user", "fin3"), f3, waiting))
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyResolved", "AlreadyResolved", "NoneType", "str"], \
        outcomes
    assert order(clicked_pid).paid_amount == order(approved_pid).paid_amount == 0
    assert [a["reversed"] for a in audited("reconciliation.exception_resolved")] in (["300.00", "900.00"],
                                                                                      ["900.00", "300.00"])
    check_invariants()
    check_stored_figures()
