"""Where a disbursement batch stands (docs/DOMAIN.md §9), read from its rows and their payouts: each
row is QUEUED (no payout yet), PROCESSING (INIT or PROCESSING payout), MANUAL, SUCCESS or FAILED (its
payout failed, or no payout could be made: ``refused_reason``). The batch is complete when no row is
QUEUED, PROCESSING or MANUAL."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import BatchRowState, DisbursementStatus
from ...domain.money import from_cents
from ...extensions import db
from ...models import Disbursement, DisbursementBatchRow

QUEUED, PROCESSING, MANUAL = BatchRowState.QUEUED, BatchRowState.PROCESSING, BatchRowState.MANUAL
SUCCESS, FAILED = BatchRowState.SUCCESS, BatchRowState.FAILED
OPEN_STATES = (QUEUED, PROCESSING, MANUAL)


def _state(refused: str | None, order_no: str | None, status: str | None) -> str:
    if refused:
        return FAILED
    if order_no is None or status is None:
        return QUEUED
    if status in (DisbursementStatus.INIT, DisbursementStatus.PROCESSING):
        return PROCESSING
    return BatchRowState(status)


@dataclass(frozen=True)
class RowState:
    row_no: int
    account_name: str
    account_masked: str
    bank_code: str
    amount: Decimal
    purpose: str
    request_id: str
    order_no: str | None
    state: str
    bank_serial_no: str | None
    fail_reason: str | None


@dataclass
class Progress:
    total: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((SUCCESS, FAILED, PROCESSING, MANUAL,
                                                                         QUEUED), 0))
    amounts: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(
        (SUCCESS, FAILED, PROCESSING, MANUAL, QUEUED), Decimal("0.00")))

    @property
    def complete(self) -> bool:
        return self.total > 0 and not any(self.counts[s] for s in OPEN_STATES)

    @property
    def in_flight(self) -> int:
        """Rows not final yet (QUEUED or PROCESSING): shown together as processing."""
        return self.counts[QUEUED] + self.counts[PROCESSING]

    @property
    def in_flight_amount(self) -> Decimal:
        return self.amounts[QUEUED] + self.amounts[PROCESSING]


def _select() -> sa.Select:
    r, d = DisbursementBatchRow, Disbursement
    return (sa.select(r.row_no, r.account_name, r.account_no_masked, r.bank_code, r.amount, r.purpose, r.request_id,
                      r.order_no, r.refused_reason, d.status, d.bank_serial_no, d.fail_reason)
            .outerjoin(d, d.order_no == r.order_no))


def has_open_rows(batch_id: int) -> bool:
    """Whether a row of the batch is still QUEUED, PROCESSING or MANUAL. Read from the last row
    backwards: rows are paid in order, so an open row is usually among the last, and the question
    every finishing payout asks costs a few index probes instead of a read of the whole batch."""
    r, d = DisbursementBatchRow, Disbursement
    open_row = sa.or_(r.order_no.is_(None), d.status.is_(None), d.status.in_(
        (DisbursementStatus.INIT, DisbursementStatus.PROCESSING, DisbursementStatus.MANUAL)))
    stmt = (sa.select(r.row_no).outerjoin(d, d.order_no == r.order_no)
            .where(r.batch_id == batch_id, r.refused_reason.is_(None), open_row)
            .order_by(r.row_no.desc()).limit(1))
    return db.session.scalar(stmt) is not None


def rows(batch_id: int) -> list[RowState]:
    out = []
    for (row_no, name, masked, bank, amount, purpose, request_id, order_no, refused, status, serial,
         fail_reason) in db.session.execute(_select().where(DisbursementBatchRow.batch_id == batch_id)
                                            .order_by(DisbursementBatchRow.row_no)).all():
        out.append(RowState(row_no, name, masked, bank, amount, purpose, request_id, order_no,
                            _state(refused, order_no, status), serial, refused or fail_reason))
    return out


def progress(batch_id: int) -> Progress:
    """Counts and amounts by state, in one grouped query."""
    r, d = DisbursementBatchRow, Disbursement
    p = Progress()
    grouped = db.session.execute(
        sa.select(r.refused_reason.is_not(None), r.order_no.is_not(None), d.status, sa.func.count(r.id),
                  sa.func.coalesce(sa.func.sum(sa.func.round(r.amount * 100)), 0))  # cents: exact on SQLite too
        .outerjoin(d, d.order_no == r.order_no).where(r.batch_id == batch_id)
        .group_by(r.refused_reason.is_not(None), r.order_no.is_not(None), d.status)).all()
    for refused, has_order, status, n, amount in grouped:
        state = _state("x" if refused else None, "x" if has_order else None, status)
        p.counts[state] += n
        p.amounts[state] += from_cents(int(amount))
        p.total += n
    return p


def failed_row_nos(batch_id: int) -> list[int]:
    return [row.row_no for row in rows(batch_id) if row.state == FAILED]
