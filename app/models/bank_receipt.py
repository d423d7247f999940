"""Credit lines of WIRE bank statements as received (docs/DOMAIN.md "Wire auto-match"): one row per
bank reference on one of our accounts, so the same line imported twice is kept (and confirms) once.
A line that confirmed a wire payment is MATCHED; one that matched nothing is an unidentified receipt
(OPEN, then ASSIGNED or RETURNED by finance; or MATCHED when finance accepts a suggestion or links it to a
payment). Never deleted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..domain.enums import BankReceiptReason, BankReceiptState
from .base import Model
from .types import Money, UTCDateTime, now_utc, sql_values

_PK = sa.BigInteger().with_variant(sa.Integer, "sqlite")


class BankReceipt(Model):
    __tablename__ = "bank_receipts"
    __table_args__ = (
        sa.CheckConstraint(f"state IN {sql_values(BankReceiptState)}", name="state"),
        sa.CheckConstraint(f"reason IS NULL OR reason IN {sql_values(BankReceiptReason)}", name="reason"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.UniqueConstraint("our_account", "bank_reference", name="uq_bank_receipts_line"),
        sa.Index("ix_bank_receipts_state", "state", "value_date"),
    )

    id: Mapped[int] = mapped_column(_PK, primary_key=True)
    our_account: Mapped[str] = mapped_column(sa.String(40))
    bank_reference: Mapped[str] = mapped_column(sa.String(64))
    value_date: Mapped[date] = mapped_column(sa.Date)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(sa.String(3))
    payer_name: Mapped[str | None] = mapped_column(sa.String(200))
    payer_account: Mapped[str | None] = mapped_column(sa.String(64))
    memo: Mapped[str] = mapped_column(sa.String(500))
    state: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str | None] = mapped_column(sa.String(24))
    # MATCHED: the payment it confirmed; OPEN: the payment its memo names, if any (a shortfall).
    channel_payment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("channel_payments.id"), index=True)
    # Ranked suggestions for a line without a usable reference: [{"channelPaymentId", "score", "reasons"}].
    suggestions: Mapped[list[dict[str, Any]] | None] = mapped_column(sa.JSON)
    received_by: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    resolved_by: Mapped[str | None] = mapped_column(sa.String(120))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str | None] = mapped_column(sa.String(500))
    # ASSIGNED (or waiting for the second finance user): the reseller whose wallet it credits, and the
    # wallet top-up that does it (PENDING above the reseller's approval threshold).
    reseller_id: Mapped[int | None] = mapped_column(sa.ForeignKey("resellers.id"))
    wallet_change_id: Mapped[int | None] = mapped_column(sa.ForeignKey("wallet_changes.id"), index=True)
