"""Append-only ledgers of a reseller's wallet and credit line."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.enums import CreditRecordStatus
from .base import Model
from .types import Money, UTCDateTime, now_utc, sql_values


class WalletEntry(Model):
    """One wallet movement; ``balance_after`` is the running balance, never negative."""

    __tablename__ = "wallet_entries"
    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="amount_nonzero"),
        sa.CheckConstraint("balance_after >= 0", name="balance_nonneg"),
        sa.Index("ix_wallet_entries_reseller_created", "reseller_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    reseller_id: Mapped[int] = mapped_column(sa.ForeignKey("resellers.id"))
    entry_type: Mapped[str] = mapped_column(sa.String(20))
    amount: Mapped[Decimal] = mapped_column(Money)
    balance_after: Mapped[Decimal] = mapped_column(Money)
    reference: Mapped[str | None] = mapped_column(sa.String(64))
    memo: Mapped[str] = mapped_column(sa.String(500), default="")
    # A memo the portal wrote: its code and parameters, translated when shown (services/ledgers/wallet_memos.py).
    memo_code: Mapped[str | None] = mapped_column(sa.String(40))
    memo_params: Mapped[dict | None] = mapped_column(sa.JSON)
    actor: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)


class CreditRecord(Model):
    """Created when an order is paid with the credit line; repaid by CREDIT_REPAYMENT orders."""

    __tablename__ = "credit_records"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("outstanding_amount >= 0 AND outstanding_amount <= amount", name="outstanding_range"),
        sa.CheckConstraint(f"status IN {sql_values(CreditRecordStatus)}", name="status"),
        sa.Index("ix_credit_records_reseller_due", "reseller_id", "due_date"),
        sa.Index("ix_credit_records_due", "due_date"),  # repayment timeliness on the finance dashboard
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    credit_record_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    reseller_id: Mapped[int] = mapped_column(sa.ForeignKey("resellers.id"))
    order_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    payment_order_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payment_orders.id"))
    transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("transactions.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    outstanding_amount: Mapped[Decimal] = mapped_column(Money)
    due_date: Mapped[date] = mapped_column(sa.Date, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(12), default=CreditRecordStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc, nullable=False)


class CreditEntry(Model):
    """One movement of a reseller's used credit; ``used_after`` is the running total."""

    __tablename__ = "credit_entries"
    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="amount_nonzero"),
        sa.CheckConstraint("used_after >= 0", name="used_nonneg"),
        sa.Index("ix_credit_entries_reseller_created", "reseller_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    reseller_id: Mapped[int] = mapped_column(sa.ForeignKey("resellers.id"))
    credit_record_id: Mapped[int | None] = mapped_column(sa.ForeignKey("credit_records.id"), index=True)
    entry_type: Mapped[str] = mapped_column(sa.String(16))
    amount: Mapped[Decimal] = mapped_column(Money)
    used_after: Mapped[Decimal] = mapped_column(Money)
    reference: Mapped[str | None] = mapped_column(sa.String(64))
    actor: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
