"""A finance user's top-up or adjustment of a reseller's wallet that waits for a second finance user
(maker-checker, docs/DOMAIN.md §5): asked above the reseller's approval threshold, applied once on
approval through the wallet ledger, or rejected with a reason."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.enums import WalletChangeKind, WalletChangeStatus
from .base import Model
from .types import Money, UTCDateTime, now_utc, sql_values


class WalletChange(Model):
    """Every top-up and adjustment asked on the finance desk, applied at once or pending approval.
    A bank serial is used once per reseller among the top-ups that are not rejected."""

    __tablename__ = "wallet_changes"
    __table_args__ = (
        sa.CheckConstraint("amount <> 0", name="amount_nonzero"),
        sa.CheckConstraint("kind <> 'TOPUP' OR amount > 0", name="topup_shape"),
        sa.CheckConstraint(f"kind IN {sql_values(WalletChangeKind)}", name="kind"),
        sa.CheckConstraint(f"status IN {sql_values(WalletChangeStatus)}", name="status"),
        sa.CheckConstraint("status <> 'APPROVED' OR entry_id IS NOT NULL", name="approved_has_entry"),
        sa.Index("uq_wallet_changes_reseller_serial", "reseller_id", "bank_serial", unique=True,
                 postgresql_where=sa.text("bank_serial IS NOT NULL AND status <> 'REJECTED'"),
                 sqlite_where=sa.text("bank_serial IS NOT NULL AND status <> 'REJECTED'")),
        sa.Index("ix_wallet_changes_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    reseller_id: Mapped[int] = mapped_column(sa.ForeignKey("resellers.id"))
    kind: Mapped[str] = mapped_column(sa.String(8))
    amount: Mapped[Decimal] = mapped_column(Money)
    bank_serial: Mapped[str | None] = mapped_column(sa.String(64))
    memo: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[str] = mapped_column(sa.String(10))
    requested_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: the API
    requested_by: Mapped[str] = mapped_column(sa.String(120))
    decided_by_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_by: Mapped[str | None] = mapped_column(sa.String(120))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reject_reason: Mapped[str | None] = mapped_column(sa.String(500))
    entry_id: Mapped[int | None] = mapped_column(sa.ForeignKey("wallet_entries.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
