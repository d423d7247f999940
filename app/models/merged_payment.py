from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.enums import ChannelPaymentStatus, MergedPaymentStatus
from .base import Model
from .types import REASON_LENGTH, Money, UTCDateTime, now_utc, sql_values


class MergedPayment(Model):
    """One checkout by a reseller (合并支付): allocations grouped by channel into channel payments.
    Its total equals the sum of its allocations and of its channel payments."""

    __tablename__ = "merged_payments"
    __table_args__ = (
        sa.CheckConstraint("total_amount > 0", name="total_positive"),
        sa.CheckConstraint(f"status IN {sql_values(MergedPaymentStatus)}", name="status"),
        sa.Index("ix_merged_payments_reseller_created", "reseller_id", "created_at"),
        sa.Index("ix_merged_payments_status", "status"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    merged_payment_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    reseller_id: Mapped[int] = mapped_column(sa.ForeignKey("resellers.id"))
    status: Mapped[str] = mapped_column(sa.String(24))
    total_amount: Mapped[Decimal] = mapped_column(Money)
    # A client-chosen token from the checkout form, so that a double submit makes one payment.
    submit_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    channel_payments: Mapped[list[ChannelPayment]] = relationship(
        "ChannelPayment", back_populates="merged_payment", order_by="ChannelPayment.id"
    )


class ChannelPayment(Model):
    """One request to one channel for the sum of its allocations."""

    __tablename__ = "channel_payments"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(f"status IN {sql_values(ChannelPaymentStatus)}", name="status"),
        sa.CheckConstraint("received_amount IS NULL OR received_amount >= 0", name="received_nonneg"),
        sa.UniqueConstraint("channel_id", "channel_transaction_id", name="uq_channel_payments_channel_txn"),
        sa.Index("ix_channel_payments_status_due", "status", "confirm_due_at"),
        sa.Index("ix_channel_payments_completed", "completed_at"),  # the finance dashboard's period figures
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    channel_payment_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    merged_payment_id: Mapped[int] = mapped_column(sa.ForeignKey("merged_payments.id"), index=True)
    channel_id: Mapped[int] = mapped_column(sa.ForeignKey("channels.id"))
    channel_code: Mapped[str] = mapped_column(sa.String(32))
    channel_kind: Mapped[str] = mapped_column(sa.String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(sa.String(16))
    channel_transaction_id: Mapped[str | None] = mapped_column(sa.String(64))
    wire_reference: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    pay_url: Mapped[str | None] = mapped_column(sa.String(500))
    received_amount: Mapped[Decimal | None] = mapped_column(Money)
    failure_reason: Mapped[str | None] = mapped_column(sa.String(REASON_LENGTH))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirm_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # From the channel's own completion time to when the portal applied the result (callback or
    # query), in milliseconds; NULL when the channel gave no time (the finance dashboard's delay).
    result_delay_ms: Mapped[int | None] = mapped_column(sa.BigInteger)

    merged_payment: Mapped[MergedPayment] = relationship("MergedPayment", back_populates="channel_payments")
