"""A batch of payouts uploaded by finance (批量付款, docs/DOMAIN.md §9) and its rows. A row becomes one
payout (``disbursements``) with the request id ``batch:<batch_no>:<row_no>``, so that running the batch
again never pays a row twice. Account numbers: encrypted plus a masked copy, as for payouts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.enums import BatchStatus
from .base import Model
from .types import Money, UTCDateTime, now_utc, sql_values


class DisbursementBatch(Model):
    __tablename__ = "disbursement_batches"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {sql_values(BatchStatus)}", name="status"),
        sa.CheckConstraint("row_count > 0 AND total_amount > 0", name="not_empty"),
        sa.CheckConstraint("status <> 'REJECTED' OR reject_reason IS NOT NULL", name="rejected_has_reason"),
        sa.Index("ix_disbursement_batches_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    batch_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id"))
    status: Mapped[str] = mapped_column(sa.String(10))
    file_name: Mapped[str] = mapped_column(sa.String(200))
    row_count: Mapped[int] = mapped_column()
    total_amount: Mapped[Decimal] = mapped_column(Money)
    uploaded_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_by: Mapped[str] = mapped_column(sa.String(120))
    resubmitted_from: Mapped[str | None] = mapped_column(sa.String(32))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_by: Mapped[str | None] = mapped_column(sa.String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(sa.String(500))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)


class DisbursementBatchRow(Model):
    """One payee of a batch. ``order_no`` is its payout once made; ``refused_reason`` says why no payout
    could be made when the batch ran (the merchant's daily limit reached, say): the row counts as failed."""

    __tablename__ = "disbursement_batch_rows"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.UniqueConstraint("batch_id", "row_no", name="uq_disbursement_batch_rows_batch_row"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    batch_id: Mapped[int] = mapped_column(sa.ForeignKey("disbursement_batches.id"))
    row_no: Mapped[int] = mapped_column()  # the 1-based data row of the file
    account_name: Mapped[str] = mapped_column(sa.String(200))
    account_no_enc: Mapped[str] = mapped_column(sa.Text)
    account_no_masked: Mapped[str] = mapped_column(sa.String(40))
    bank_code: Mapped[str] = mapped_column(sa.String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    purpose: Mapped[str] = mapped_column(sa.String(200), default="")
    request_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    order_no: Mapped[str | None] = mapped_column(sa.String(32), sa.ForeignKey("disbursements.order_no"))
    refused_reason: Mapped[str | None] = mapped_column(sa.String(500))
