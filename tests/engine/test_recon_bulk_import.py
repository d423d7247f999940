"""The statement import streams (any iterable of lines: COPY on PostgreSQL, batches elsewhere,
fingerprinted on the way) and the matching finds duplicates with one window function
(bench/reconcile.py measures both at a million lines). Service level, no gateway."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.domain.enums import StatementSource
from app.domain.timeutil import shanghai_today
from app.extensions import db
from app.models import Channel, ReconciliationException, StatementImport, StatementLine
from app.services.reconciliation import runs, statement_import
from app.services.reconciliation.lines import Line, fingerprint
from app.services.reconciliation.statement_import import import_statement

CODE = "WIRE_ICBC"
AT = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


def _line(ctid: str, ref: str, amount: str = "10.00", kind: str = "payment", at: datetime | None = AT) -> Line:
    return Line(kind, ctid, ref, Decimal(amount), "SUCCESS", at)


def _channel_id() -> int:
    cid = db.session.scalar(sa.select(Channel.id).where(Channel.code == CODE))
    db.session.rollback()
    return cid


def _import(lines):
    return import_statement(_channel_id(), CODE, shanghai_today(), StatementSource.GATEWAY, lines,
                            runs.RECONCILIATION)


def _stored():
    imports = db.session.execute(sa.select(StatementImport.id, StatementImport.line_count, StatementImport.file_sha256,
                                           StatementImport.is_current).order_by(StatementImport.id)).all()
    lines = db.session.execute(sa.select(StatementLine.import_id, StatementLine.line_no,
                                         StatementLine.channel_transaction_id, StatementLine.amount)
                               .order_by(StatementLine.id)).all()
    db.session.rollback()
    return imports, lines


STATEMENT = [
    _line("T1", "CPX1"),
    _line("T2", "CPX2"),
    _line("T1", "CPX1", kind="refund"),  # another line type: not an earlier occurrence of the payment T1
    _line("T1", "CPX1"),                 # T1 again: DUPLICATE #1
    _line("T3", "CPX3", at=None),
    _line("T1", "CPX1", amount="11.00"),  # T1 a third time (another amount): DUPLICATE #2
    _line("T2", "CPX2"),                 # T2 again: DUPLICATE #1
]


def test_duplicates_are_numbered_by_line_order_per_channel_transaction(engine_setup, monkeypatch):
    monkeypatch.setattr(statement_import, "BATCH", 2)  # several batches on SQLite (PostgreSQL: one COPY)
    imported = _import(iter(STATEMENT))  # a generator, read once
    assert imported.created and imported.lines == len(STATEMENT)
    imports, lines = _stored()
    assert imports == [(imported.import_id, 7, fingerprint(STATEMENT), True)]
    assert [(n, t, a) for _, n, t, a in lines] == [(n, x.channel_transaction_id, x.amount)
                                                    for n, x in enumerate(STATEMENT, start=1)]

    runs.reconcile(_channel_id(), shanghai_today(), imported.import_id)
    found = sorted((e.exception_class, e.match_key, e.channel_amount)
                   for e in db.session.scalars(sa.select(ReconciliationException)))
    db.session.rollback()
    assert found == [("DUPLICATE", "T1#1", Decimal("10.00")), ("DUPLICATE", "T1#2", Decimal("11.00")),
                     ("DUPLICATE", "T2#1", Decimal("10.00")),
                     ("MISSING_IN_SYSTEM", "T1", Decimal("10.00")), ("MISSING_IN_SYSTEM", "T2", Decimal("10.00")),
                     ("MISSING_IN_SYSTEM", "T3", Decimal("10.00"))]


def test_the_same_stream_twice_is_one_import_and_stores_its_lines_once(engine_setup):
    first = _import(x for x in STATEMENT)
    again = _import(x for x in STATEMENT)
    assert (again.import_id, again.created, again.lines) == (first.import_id, False, len(STATEMENT))
    imports, lines = _stored()
    assert len(imports) == 1 and len(lines) == len(STATEMENT)

    other = _import(iter(STATEMENT[:3]))  # a corrected file supersedes; the first one comes back
    back = _import(iter(STATEMENT))
    imports, lines = _stored()
    assert other.created and (back.import_id, back.created) == (first.import_id, False)
    assert [(i, current) for i, _, _, current in imports] == [(first.import_id, True), (other.import_id, False)]
    assert len(lines) == len(STATEMENT) + 3


def test_a_bad_line_in_the_middle_stores_nothing(engine_setup):
    naive = Line("payment", "T9", "CPX9", Decimal("1.00"), "SUCCESS", datetime(2026, 11, 30, 10, 0))
    with pytest.raises(ValueError, match="naive datetime"):
        _import(iter([*STATEMENT, naive, _line("T10", "CPX10")]))
    assert _stored() == ([], [])
