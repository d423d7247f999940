from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.enums import CreditLineStatus, ResellerStatus
from .base import Model
from .types import Money, UTCDateTime, now_utc, sql_values


class Reseller(Model):
    """A reseller company (经销商). Its wallet balance and used credit are kept here as the
    running totals of the append-only wallet and credit ledgers."""

    __tablename__ = "resellers"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {sql_values(ResellerStatus)}", name="status"),
        sa.CheckConstraint("credit_limit >= 0", name="credit_limit_nonneg"),
        sa.CheckConstraint("credit_used >= 0", name="credit_used_nonneg"),
        # The credit line never stands above its limit (migration a7b8c9d0e1f2; in cents on SQLite).
        sa.CheckConstraint("credit_used <= credit_limit", name="credit_used_le_limit"),
        sa.CheckConstraint("wallet_balance >= 0", name="wallet_nonneg"),
        sa.CheckConstraint("approval_threshold >= 0", name="threshold_nonneg"),
        sa.CheckConstraint("credit_term_days >= 0", name="term_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16), default=ResellerStatus.ACTIVE)
    credit_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    credit_used: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    credit_term_days: Mapped[int] = mapped_column(default=30)
    credit_status: Mapped[str] = mapped_column(sa.String(16), default=CreditLineStatus.ACTIVE)
    approval_threshold: Mapped[Decimal] = mapped_column(Money, default=Decimal("1000000.00"))
    wallet_balance: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    refund_account_no_enc: Mapped[str | None] = mapped_column(sa.Text)
    refund_account_name: Mapped[str | None] = mapped_column(sa.String(200))
    refund_bank_code: Mapped[str | None] = mapped_column(sa.String(16))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc, nullable=False)

    @property
    def credit_available(self) -> Decimal:
        return max(Decimal("0.00"), self.credit_limit - self.credit_used)
