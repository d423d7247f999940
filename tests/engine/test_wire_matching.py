"""Wire auto-match the whole way (docs/DOMAIN.md "Wire auto-match"): a wire "received" at the real
sandbox bank, its statement exported and read by the portal's parsers, each credit line matched to
the WIRE payment its memo names and confirmed through the voucher confirm's path, with no voucher.
Both databases; the race with finance's voucher confirm matters on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.models import AuditEntry, BankReceipt, ChannelPayment, OutboxEvent, Reseller, WalletEntry
from app.services.bank_statements.accounts import wire_receiving_accounts
from app.services.bank_statements.reading import read_statement
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.reconciliation import wire_matching
from app.services.vouchers import review as voucher_review
from app.services.vouchers import upload as voucher_upload
from tests.support.concurrency import race
from tests.support.engine import FINANCE, OPERATOR, check_invariants, detached, make_order, order
from tests.support.files import minimal_pdf

OURS = "6222020200112233445"


def full_width_spaced(code: str) -> str:
    """``WABC23DEFG`` as typed on a phone with a Chinese input method: ``ｗ ＡＢＣ　２３－ＤＥＦＧ``."""
    wide = "".join(chr(ord(c) + 0xFEE0) for c in code.lower())
    return f"{wide[0]} {wide[1:4]}\u3000{wide[4:6]}－{wide[6:]}"


def wire_checkout(engine_setup, *amounts: str, reseller: str = "R1001"):
    pids = [make_order(reseller=reseller, amount=a) for a in amounts]
    res = checkout.submit(OPERATOR, None, engine_setup[reseller],
                          [AllocationIn(p, a, "WIRE_ICBC") for p, a in zip(pids, amounts, strict=True)])
    db.session.expire_all()
    cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk))
    return pids, detached(cp)


def statement(gw, fmt: str = "csv"):
    data = gw.bank_statement(OURS, shanghai_today().isoformat(), fmt, "gbk")
    parsed = read_statement(data, wire_receiving_accounts())
    db.session.rollback()
    return parsed


def receive(gw, amount: str, memo: str, payer: str = "华东设备有限公司", account: str = "6217000011112222"):
    return gw.receive_wire(OURS, payer, account, amount, memo, value_date=shanghai_today().isoformat())


def cp_now(pk: int) -> ChannelPayment:
    db.session.expire_all()
    return detached(db.session.get(ChannelPayment, pk))


def wallet_of(engine_setup, code="R1001") -> Decimal:
    db.session.expire_all()
    value = db.session.get(Reseller, engine_setup[code]).wallet_balance
    db.session.rollback()
    return value


def receipts() -> list[BankReceipt]:
    db.session.expire_all()
    rows = list(db.session.scalars(sa.select(BankReceipt).order_by(BankReceipt.id)))
    for r in rows:
        db.session.expunge(r)
    db.session.rollback()
    return rows


@pytest.mark.parametrize("fmt", ["csv", "mt940", "camt053"])
def test_full_width_spaced_reference_confirms_the_payment_with_no_voucher(online, engine_setup, fmt):
    pids, cp = wire_checkout(engine_setup, "300.00", "700.00")
    _, other = wire_checkout(engine_setup, "1000.00")  # the same amount: only the code tells them apart
    assert cp.status == "PROCESSING" and cp.wire_reference
    receive(online, "1000.00", f"货款 {full_width_spaced(cp.wire_reference)} 谢谢")
    report = wire_matching.match_statement(statement(online, fmt))
    assert report.counts == {"matched": 1, "unidentified": 0, "skipped": 0}
    got = cp_now(cp.id)
    assert (got.status, got.received_amount) == ("SUCCESS", Decimal("1000.00"))
    assert cp_now(other.id).status == "PROCESSING"
    assert [order(p).paid_amount for p in pids] == [Decimal("300.00"), Decimal("700.00")]
    [r] = receipts()
    assert (r.state, r.reason, r.channel_payment_id, r.amount) == ("MATCHED", None, cp.id, Decimal("1000.00"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "wire.auto_match")) == 1
    db.session.rollback()
    check_invariants()


def test_over_payment_confirms_and_the_excess_goes_to_the_wallet(online, engine_setup):
    pids, cp = wire_checkout(engine_setup, "1000.00")
    before = wallet_of(engine_setup)
    receive(online, "1050.25", cp.wire_reference.lower())
    assert wire_matching.match_statement(statement(online)).counts["matched"] == 1
    assert (cp_now(cp.id).status, cp_now(cp.id).received_amount) == ("SUCCESS", Decimal("1050.25"))
    assert order(pids[0]).paid_amount == Decimal("1000.00")
    assert wallet_of(engine_setup) == before + Decimal("50.25")
    excess = db.session.scalar(sa.select(WalletEntry).where(WalletEntry.entry_type == "EXCESS"))
    assert (excess.amount, excess.reference) == (Decimal("50.25"), cp.channel_payment_id)
    db.session.rollback()
    check_invariants()


def test_under_payment_waits_for_finance_as_a_voucher_would(online, engine_setup):
    """The existing rule: a shortfall is accepted or rejected by finance, never by the portal alone."""
    pids, cp = wire_checkout(engine_setup, "1000.00")
    before = wallet_of(engine_setup)
    receive(online, "999.99", f"ref {cp.wire_reference}")
    report = wire_matching.match_statement(statement(online))
    assert report.counts == {"matched": 0, "unidentified": 1, "skipped": 0}
    assert cp_now(cp.id).status == "PROCESSING" and order(pids[0]).paid_amount == Decimal("0.00")
    [r] = receipts()
    assert (r.state, r.reason, r.channel_payment_id) == ("OPEN", "SHORTFALL", cp.id)
    assert wallet_of(engine_setup) == before
    db.session.rollback()
    check_invariants()


def test_a_line_without_reference_is_unidentified_with_the_right_suggestion_first(online, engine_setup):
    _, far = wire_checkout(engine_setup, "800.00", reseller="R1002")
    _, right = wire_checkout(engine_setup, "1234.56")
    _, same_amount_other = wire_checkout(engine_setup, "1234.56", reseller="R1002")
    db.session.execute(sa.update(Reseller).where(Reseller.id == engine_setup["R1001"]).values(name="华东设备有限公司"))
    db.session.commit()
    receive(online, "1234.56", "货款", payer="华东设备有限公司")
    receive(online, "10.00", "payment WZZZZZZZZZ")  # code-shaped, but no payment of ours has it
    report = wire_matching.match_statement(statement(online))
    assert report.counts == {"matched": 0, "unidentified": 2, "skipped": 0}
    no_ref, unknown = receipts()
    assert (no_ref.state, no_ref.reason) == ("OPEN", "NO_REFERENCE")
    assert [s["channelPaymentId"] for s in no_ref.suggestions] == [right.channel_payment_id,
                                                                   same_amount_other.channel_payment_id]
    assert no_ref.suggestions[0]["reasons"] == ["AMOUNT", "PAYER_NAME"]
    assert far.channel_payment_id not in {s["channelPaymentId"] for s in no_ref.suggestions}
    assert (unknown.state, unknown.reason, unknown.suggestions) == ("OPEN", "UNKNOWN_REFERENCE", None)
    assert [r.bank_reference for r in wire_matching.open_receipts()] == [no_ref.bank_reference,
                                                                         unknown.bank_reference]
    db.session.rollback()
    assert cp_now(right.id).status == "PROCESSING"


def test_the_same_statement_twice_confirms_once(online, engine_setup):
    _, cp = wire_checkout(engine_setup, "1000.00")
    receive(online, "1100.00", cp.wire_reference)
    receive(online, "5.00", "no code here")
    parsed = statement(online)
    first = wire_matching.match_statement(parsed)
    before = wallet_of(engine_setup)
    second = wire_matching.match_statement(statement(online, "camt053"))  # the same lines, another format
    assert first.counts == {"matched": 1, "unidentified": 1, "skipped": 0}
    assert second.counts == {"matched": 0, "unidentified": 0, "skipped": 2}
    assert wallet_of(engine_setup) == before == Decimal("500100.00")
    assert len(receipts()) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent).where(
        OutboxEvent.event_type == "transaction.succeeded")) == 1
    db.session.rollback()
    check_invariants()


def test_a_second_line_for_a_payment_already_confirmed_stays_unidentified(online, engine_setup):
    _, cp = wire_checkout(engine_setup, "1000.00")
    receive(online, "1000.00", cp.wire_reference)
    receive(online, "1000.00", f"again {cp.wire_reference}")
    report = wire_matching.match_statement(statement(online))
    assert report.counts == {"matched": 1, "unidentified": 1, "skipped": 0}
    assert [(r.state, r.reason) for r in receipts()] == [("MATCHED", None), ("OPEN", "ALREADY_FINAL")]
    db.session.rollback()
    check_invariants()


def test_finance_confirming_a_voucher_while_the_statement_matches_applies_once(app, online, engine_setup, tmp_path):
    users = engine_setup["users"]
    rounds = []
    for n in range(4):
        pids, cp = wire_checkout(engine_setup, "1000.00")
        voucher_id = voucher_upload.upload(OPERATOR, users["op1"], engine_setup["R1001"], cp.channel_payment_id,
                                           "slip.pdf", minimal_pdf()).id
        db.session.remove()
        receive(online, "1000.00", cp.wire_reference)
        parsed = statement(online)
        db.session.remove()
        race(app, lambda parsed=parsed: wire_matching.match_statement(parsed),
             lambda v=voucher_id: voucher_review.confirm(FINANCE, "finance", users["fin"], v, "1000.00"))
        assert cp_now(cp.id).status == "SUCCESS", n
        rounds.append(pids[0])
    assert [order(p).paid_amount for p in rounds] == [Decimal("1000.00")] * 4
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent).where(
        OutboxEvent.event_type == "transaction.succeeded")) == 4
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WalletEntry).where(
        WalletEntry.entry_type == "EXCESS")) == 0
    db.session.rollback()
    check_invariants()
