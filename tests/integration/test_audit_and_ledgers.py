"""The audit chain detects tampering; ledgers and the audit log refuse updates and deletes."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from app.extensions import db
from app.models import AuditEntry, CreditEntry, PaymentOrder, StatusLog, WalletEntry
from app.services.audit import log as audit
from app.services.platform.actor import Actor
from tests.support.admin import tamper_audit_log
from tests.support.statements import inserts_into

ACTOR = Actor(type="system", id="test", ip="127.0.0.1")


def _write_entries(n: int) -> None:
    for i in range(n):
        audit.record(ACTOR, "thing.update", "thing", f"T{i}", {"v": i}, {"v": i + 1, "amount": Decimal("1.50")})
    db.session.commit()


def test_seal_links_entries_and_verify_passes(ctx):
    _write_entries(5)
    assert audit.seal() == 5
    _write_entries(3)
    assert audit.seal() == 3
    assert audit.seal() == 0
    report = audit.verify()
    assert report.ok and report.checked == 8 and report.unsealed == 0
    seqs = db.session.scalars(sa.select(AuditEntry.chain_seq).order_by(AuditEntry.id)).all()
    assert seqs == list(range(1, 9))


def test_a_transactions_entries_are_written_in_one_statement_at_its_commit_in_the_order_recorded(ctx):
    with inserts_into("audit_log") as inserts:
        audit.record(ACTOR, "thing.first", "thing", "T1")
        with db.session.begin_nested():
            audit.record(ACTOR, "thing.kept", "thing", "T2")
        with pytest.raises(RuntimeError), db.session.begin_nested():
            audit.record(ACTOR, "thing.undone", "thing", "T3")
            raise RuntimeError("the step fails")
        audit.record(ACTOR, "thing.last", "thing", "T4")
        assert inserts == []  # nothing is written before the commit
        db.session.commit()
    assert len(inserts) == 1  # one statement, its three rows bound as one batch
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["thing.first", "thing.kept", "thing.last"]

    audit.record(ACTOR, "thing.rolled_back", "thing", "T5")
    db.session.rollback()
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 3


def test_a_sealer_of_another_database_on_the_server_does_not_make_this_one_skip(ctx, is_postgres):
    """Advisory locks are server-wide: the sealer's key names its database, so another database's
    sealer (a parallel run, a second deployment) never stops this one, while this database's does."""
    if not is_postgres:
        pytest.skip("the sealer's advisory lock is PostgreSQL's")
    _write_entries(2)
    other = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    with other.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(7712001, hashtext('some_other_database'))"))
        assert audit.seal() == 2  # another database's sealer holds its lock: this one seals
        _write_entries(1)
        conn.execute(sa.text("SELECT pg_advisory_lock(7712001, hashtext(current_database()))"))
        assert audit.seal() == 0  # this database's sealer is busy: skip
        conn.execute(sa.text("SELECT pg_advisory_unlock_all()"))
        assert audit.seal() == 1
    other.dispose()


@pytest.mark.parametrize("sql", [
    "UPDATE audit_log SET actor_id = 'mallory' WHERE chain_seq = :seq",
    "UPDATE audit_log SET target_id = 'T999' WHERE chain_seq = :seq",
    "DELETE FROM audit_log WHERE chain_seq = :seq",
])
def test_tampering_is_detected(ctx, sql):
    _write_entries(6)
    audit.seal()
    tamper_audit_log(sql, {"seq": 3})
    report = audit.verify()
    assert not report.ok
    assert report.first_bad_seq in (3, 4)


def test_cli_verify_exits_nonzero_on_tampering(app, ctx):
    _write_entries(3)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "audit chain OK" in ok.output
    tamper_audit_log("UPDATE audit_log SET action = 'x' WHERE chain_seq = 2", {})
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1 and "TAMPERED" in bad.output


def test_audit_entries_cannot_be_edited_or_deleted(ctx):
    _write_entries(2)
    with pytest.raises(DatabaseError):
        db.session.execute(sa.text("UPDATE audit_log SET actor_id = 'x'"))
    db.session.rollback()
    with pytest.raises(DatabaseError):
        db.session.execute(sa.text("DELETE FROM audit_log"))
    db.session.rollback()
    audit.seal()
    # Once sealed, even the chain columns are frozen.
    with pytest.raises(DatabaseError):
        db.session.execute(sa.text("UPDATE audit_log SET entry_hash = 'x'"))
    db.session.rollback()


@pytest.mark.parametrize("table", ["wallet_entries", "credit_entries", "status_log"])
@pytest.mark.parametrize("statement", ["UPDATE {t} SET actor = 'mallory'", "DELETE FROM {t}"])
def test_ledger_entries_cannot_be_edited_or_deleted(ctx, make_reseller, table, statement):
    rid = make_reseller("R1001", wallet="100.00")
    order = PaymentOrder(payment_id="PAY1", order_id="SO1", reseller_id=rid, payment_type="OTHER_FEE",
                         payment_amount=Decimal("10.00"))
    db.session.add(order)
    db.session.flush()
    db.session.add_all([
        WalletEntry(reseller_id=rid, entry_type="TOPUP", amount=Decimal("100.00"), balance_after=Decimal("100.00"),
                    actor="test"),
        CreditEntry(reseller_id=rid, entry_type="USE", amount=Decimal("5.00"), used_after=Decimal("5.00"),
                    actor="test"),
        StatusLog(payment_order_id=order.id, from_status=None, to_status="UNPAID", actor="test"),
    ])
    db.session.commit()
    with pytest.raises(DatabaseError):
        db.session.execute(sa.text(statement.format(t=table)))
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(table))) == 1
    assert db.session.scalar(sa.select(WalletEntry.amount)) == Decimal("100.00")
