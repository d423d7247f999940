from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.enums import (
    RefundOrderStatus,
    RefundStrategy,
    RefundType,
    TransactionStatus,
    TransactionType,
    VoucherStatus,
)
from .base import Model
from .types import REASON_LENGTH, Money, UTCDateTime, now_utc, sql_values


class PaymentTransaction(Model):
    """One money movement on one payment order (支付流水): PAYMENT (+) or REFUND (−)."""

    __tablename__ = "transactions"
    __table_args__ = (
        sa.CheckConstraint(f"transaction_type IN {sql_values(TransactionType)}", name="type"),
        sa.CheckConstraint(f"status IN {sql_values(TransactionStatus)}", name="status"),
        sa.CheckConstraint(
            "(transaction_type = 'PAYMENT' AND amount > 0) OR (transaction_type = 'REFUND' AND amount < 0)",
            name="amount_sign",
        ),
        sa.CheckConstraint("refunded_amount >= 0 AND refunding_amount >= 0", name="refund_totals_nonneg"),
        sa.CheckConstraint(
            "transaction_type = 'REFUND' OR refunded_amount + refunding_amount <= amount",
            name="refunds_le_amount",
        ),
        sa.Index("ix_transactions_order_created", "payment_order_id", "created_at"),
        sa.Index("ix_transactions_channel_txn", "channel_transaction_id"),
        sa.Index("ix_transactions_channel_code_order", "channel_code", "payment_order_id"),
        sa.Index("ix_transactions_reseller_channel_order", "reseller_id", "channel_code", "payment_order_id"),
        sa.Index("ix_transactions_completed", "completed_at"),
        sa.Index("ix_transactions_created", "created_at", "id"),  # /finance/transactions' order
        # /finance/transactions' filters (kind, status with the in-flight sum's columns, amount range)
        sa.Index("ix_transactions_type_created", "transaction_type", "created_at", "id"),
        sa.Index("ix_transactions_status_created", "status", "created_at", "id",
                 postgresql_include=["amount", "transaction_type", "channel_code"]),
        sa.Index("ix_transactions_amount", "amount"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    transaction_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    payment_order_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_orders.id"))
    order_id: Mapped[str] = mapped_column(sa.String(64))
    reseller_id: Mapped[int] = mapped_column(sa.ForeignKey("resellers.id"))
    transaction_type: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(12))
    amount: Mapped[Decimal] = mapped_column(Money)
    # On PAYMENT transactions: how much of it has been refunded / is being refunded.
    refunded_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    refunding_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    channel_id: Mapped[int | None] = mapped_column(sa.ForeignKey("channels.id"))
    channel_code: Mapped[str | None] = mapped_column(sa.String(32))
    channel_kind: Mapped[str | None] = mapped_column(sa.String(16))
    channel_payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("channel_payments.id"), index=True)
    channel_transaction_id: Mapped[str | None] = mapped_column(sa.String(64))
    merged_payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("merged_payments.id"), index=True)
    original_transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("transactions.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(sa.ForeignKey("refunds.id"), index=True)
    business_order_id: Mapped[str | None] = mapped_column(sa.String(64))
    failure_reason: Mapped[str | None] = mapped_column(sa.String(REASON_LENGTH))
    remark: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def refundable_amount(self) -> Decimal:
        if self.transaction_type != "PAYMENT" or self.status != "SUCCESS":
            return Decimal("0.00")
        return self.amount - self.refunded_amount - self.refunding_amount


class Refund(Model):
    """A refund instruction from the order system, keyed by ``refund_order_id``."""

    __tablename__ = "refunds"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint(f"status IN {sql_values(RefundOrderStatus)}", name="status"),
        sa.CheckConstraint(f"refund_type IN {sql_values(RefundType)}", name="type"),
        sa.CheckConstraint(f"strategy IN {sql_values(RefundStrategy)}", name="strategy"),
        sa.Index("ix_refunds_created", "created_at"),  # the API's refund list, newest first
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    refund_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    refund_order_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_clients.id"))
    payment_order_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_orders.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    approval_info: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    refund_type: Mapped[str] = mapped_column(sa.String(8))
    strategy: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(20))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Voucher(Model):
    """A wire-transfer slip uploaded by a reseller; stored outside static under a UUID name."""

    __tablename__ = "vouchers"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {sql_values(VoucherStatus)}", name="status"),
        sa.CheckConstraint("size_bytes > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel_payment_id: Mapped[int] = mapped_column(sa.ForeignKey("channel_payments.id"), index=True)
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    original_name: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(12), default=VoucherStatus.PENDING, index=True)
    uploaded_by_user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    received_amount: Mapped[Decimal | None] = mapped_column(Money)
    reject_reason: Mapped[str | None] = mapped_column(sa.String(500))
    reviewed_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChannelEvent(Model):
    """A raw, verified callback from a channel, recorded once by its event key before settling."""

    __tablename__ = "channel_events"
    __table_args__ = (sa.UniqueConstraint("channel_code", "event_key", name="uq_channel_events_key"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    channel_code: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(16))  # payment | refund | payout
    event_key: Mapped[str] = mapped_column(sa.String(128))
    body: Mapped[str] = mapped_column(sa.Text)
    outcome: Mapped[str] = mapped_column(sa.String(32), default="RECORDED")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
