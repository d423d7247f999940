"""Reconciliation (对账, docs/DOMAIN.md §8): statements imported per Shanghai day and channel, their
lines, the run that matched them against our channel payments, each result, and the exceptions
finance resolves. Imports and exceptions are never deleted; results are recomputed with the run."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.enums import ReconAction, ReconClass, ReconExceptionState, ReconRunState, StatementSource
from .base import Model
from .types import Money, UTCDateTime, now_utc, sql_values

_PK = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class StatementImport(Model):
    """One statement file of one channel for one day. The same file twice is one import (unique by
    its SHA-256); a different file for the same day supersedes the current one."""

    __tablename__ = "recon_imports"
    __table_args__ = (
        sa.CheckConstraint(f"source IN {sql_values(StatementSource)}", name="source"),
        sa.CheckConstraint("line_count >= 0", name="line_count_nonneg"),
        sa.UniqueConstraint("channel_id", "day", "file_sha256", name="uq_recon_imports_file"),
    )

    id: Mapped[int] = mapped_column(_PK, primary_key=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("channels.id"))
    channel_code: Mapped[str] = mapped_column(sa.String(32))
    day: Mapped[date] = mapped_column(sa.Date, nullable=False)
    source: Mapped[str] = mapped_column(sa.String(12))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    line_count: Mapped[int] = mapped_column(sa.Integer)
    is_current: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    imported_by: Mapped[str] = mapped_column(sa.String(120))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatementLine(Model):
    """One line of an imported statement, as the channel wrote it.

    Bulk data (a channel's day can be a million lines, COPYed in by statement_import.py): no foreign
    key (a per-row check doubled the import's time); ``import_id`` always names the import the same
    transaction created. The (import, reference) index serves MISSING_IN_CHANNEL's anti-join on
    SQLite, which has no hash join (without it a 100,000-line day takes minutes)."""

    __tablename__ = "recon_lines"
    __table_args__ = (
        sa.UniqueConstraint("import_id", "line_no", name="uq_recon_lines_import_line"),
        sa.Index("ix_recon_lines_import_reference", "import_id", "reference"),
    )

    id: Mapped[int] = mapped_column(_PK, primary_key=True)
    import_id: Mapped[int] = mapped_column(_PK)
    line_no: Mapped[int] = mapped_column(sa.Integer)
    line_type: Mapped[str] = mapped_column(sa.String(12))  # payment | refund | payout
    channel_transaction_id: Mapped[str] = mapped_column(sa.String(64))
    reference: Mapped[str] = mapped_column(sa.String(64))  # our channel payment number (merchantOrderNo)
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(sa.String(12))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReconciliationRun(Model):
    """The matching of one channel's day: one row per (day, channel), recomputed when a corrected
    statement arrives (``attempt`` counts the computations). ``figures`` holds count and amount per
    class, and ``settled``: the PROCESSING payments the statement settled."""

    __tablename__ = "recon_runs"
    __table_args__ = (
        sa.CheckConstraint(f"state IN {sql_values(ReconRunState)}", name="state"),
        sa.UniqueConstraint("channel_id", "day", name="uq_recon_runs_channel_day"),
        sa.Index("ix_recon_runs_day", "day"),
    )

    id: Mapped[int] = mapped_column(_PK, primary_key=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("channels.id"))
    channel_code: Mapped[str] = mapped_column(sa.String(32))
    channel_kind: Mapped[str] = mapped_column(sa.String(16))
    day: Mapped[date] = mapped_column(sa.Date, nullable=False)
    state: Mapped[str] = mapped_column(sa.String(12), default=ReconRunState.RUNNING)
    import_id: Mapped[int | None] = mapped_column(sa.ForeignKey("recon_imports.id"))
    attempt: Mapped[int] = mapped_column(sa.Integer, default=0)
    figures: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    exception_count: Mapped[int] = mapped_column(sa.Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How far the run's current work has got (services/reconciliation/progress.py): the live view.
    progress: Mapped[dict | None] = mapped_column(sa.JSON)


class ReconciliationResult(Model):
    """One difference (a line, or our payment alone) of a run's latest computation (derived; replaced on
    recompute). ``match_key`` names it across recomputations: the line's channel transaction id and
    occurrence, or our channel payment number.

    Written only by matching.classify's INSERT ... SELECT, which takes ``line_id`` and
    ``channel_payment_id`` from the rows it joins in that transaction, under the run's lock: no
    foreign keys (a per-row check of three keys tripled the insert of a million results)."""

    __tablename__ = "recon_results"
    __table_args__ = (
        sa.CheckConstraint(f"result_class IN {sql_values(ReconClass)}", name="result_class"),
        sa.Index("ix_recon_results_run_class", "run_id", "result_class"),
    )

    id: Mapped[int] = mapped_column(_PK, primary_key=True)
    run_id: Mapped[int] = mapped_column(_PK)
    result_class: Mapped[str] = mapped_column(sa.String(20))
    match_key: Mapped[str] = mapped_column(sa.String(80))
    line_id: Mapped[int | None] = mapped_column(_PK)
    channel_payment_id: Mapped[int | None] = mapped_column(_PK)
    channel_amount: Mapped[Decimal | None] = mapped_column(Money)
    our_amount: Mapped[Decimal | None] = mapped_column(Money)
    channel_status: Mapped[str | None] = mapped_column(sa.String(12))
    our_status: Mapped[str | None] = mapped_column(sa.String(16))


class ReconciliationException(Model):
    """A difference for finance (every class but MATCHED). Never deleted: resolved with who, when and
    why, by finance or (when a corrected statement no longer shows it) by the system."""

    __tablename__ = "recon_exceptions"
    __table_args__ = (
        sa.CheckConstraint(f"exception_class IN {sql_values(ReconClass)} AND exception_class <> 'MATCHED'",
                           name="exception_class"),
        sa.CheckConstraint(f"state IN {sql_values(ReconExceptionState)}", name="state"),
        sa.CheckConstraint("state = 'OPEN' OR (resolved_by IS NOT NULL AND resolution_note IS NOT NULL)",
                           name="resolved_has_who_why"),
        sa.CheckConstraint(f"resolution_action IS NULL OR resolution_action IN {sql_values(ReconAction)}",
                           name="resolution_action"),
        sa.CheckConstraint(f"pending_action IS NULL OR pending_action IN {sql_values(ReconAction)}",
                           name="pending_action"),
        sa.UniqueConstraint("run_id", "exception_class", "match_key", name="uq_recon_exceptions_key"),
        sa.Index("ix_recon_exceptions_state", "state", "run_id"),
    )

    id: Mapped[int] = mapped_column(_PK, primary_key=True)
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("recon_runs.id"))
    exception_class: Mapped[str] = mapped_column(sa.String(20))
    match_key: Mapped[str] = mapped_column(sa.String(80))
    channel_transaction_id: Mapped[str | None] = mapped_column(sa.String(64))
    reference: Mapped[str | None] = mapped_column(sa.String(64))
    channel_payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("channel_payments.id"))
    channel_amount: Mapped[Decimal | None] = mapped_column(Money)
    our_amount: Mapped[Decimal | None] = mapped_column(Money)
    channel_status: Mapped[str | None] = mapped_column(sa.String(12))
    our_status: Mapped[str | None] = mapped_column(sa.String(16))
    state: Mapped[str] = mapped_column(sa.String(10), default=ReconExceptionState.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    resolved_by: Mapped[str | None] = mapped_column(sa.String(120))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str | None] = mapped_column(sa.String(500))
    resolution_action: Mapped[str | None] = mapped_column(sa.String(16))
    # Maker-checker (exception_approval.py): an action above the approval threshold waits here for a
    # second finance user; an accepted channel SUCCESS we hold as failed waits with its wallet top-up.
    pending_action: Mapped[str | None] = mapped_column(sa.String(16))
    pending_payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("channel_payments.id"))
    requested_by_user_id: Mapped[int | None] = mapped_column(sa.Integer)
    requested_by: Mapped[str | None] = mapped_column(sa.String(120))
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_note: Mapped[str | None] = mapped_column(sa.String(500))
    wallet_change_id: Mapped[int | None] = mapped_column(sa.ForeignKey("wallet_changes.id"))
