from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.enums import DisbursementStatus, PayoutSource
from .base import Model
from .types import Money, UTCDateTime, now_utc, sql_values


class Merchant(Model):
    """A payer account of ours for payouts (代付), with its limits."""

    __tablename__ = "merchants"
    __table_args__ = (
        sa.CheckConstraint("single_limit > 0 AND daily_limit > 0", name="limits_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    single_limit: Mapped[Decimal] = mapped_column(Money)
    daily_limit: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)


class Disbursement(Model):
    """A payout to a bank account; idempotent by ``request_id``. The account number is stored
    encrypted and, separately, masked for display."""

    __tablename__ = "disbursements"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(f"status IN {sql_values(DisbursementStatus)}", name="status"),
        sa.Index("ix_disbursements_merchant_created", "merchant_id", "created_at"),
        sa.Index("ix_disbursements_status_poll", "status", "next_poll_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    order_no: Mapped[str] = mapped_column(sa.String(32), unique=True)
    request_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    merchant_id: Mapped[int] = mapped_column(sa.ForeignKey("merchants.id"))
    account_no_enc: Mapped[str] = mapped_column(sa.Text)
    account_no_masked: Mapped[str] = mapped_column(sa.String(40))
    account_name: Mapped[str] = mapped_column(sa.String(200))
    bank_code: Mapped[str] = mapped_column(sa.String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    purpose: Mapped[str] = mapped_column(sa.String(200), default="")
    client_ip: Mapped[str | None] = mapped_column(sa.String(64))
    notify_url: Mapped[str | None] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(12), default=DisbursementStatus.INIT)
    bank_serial_no: Mapped[str | None] = mapped_column(sa.String(64))
    fail_reason: Mapped[str | None] = mapped_column(sa.String(500))
    source: Mapped[str] = mapped_column(sa.String(16), default=PayoutSource.API)
    refund_transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("transactions.id"))
    poll_attempts: Mapped[int] = mapped_column(default=0)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
