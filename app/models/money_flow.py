from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Model

# Sums of many amounts: wider than one amount's NUMERIC(15,2).
FlowSum = sa.Numeric(20, 2, asdecimal=True)


class MoneyFlowDay(Model):
    """The money that moved on one Shanghai day, through one channel, for one payment type (the
    order's): successful payments (received) and successful refunds (refunded, positive), with their
    counts. Kept up to date in the transaction that settles each one (services/dashboards/money_flows:
    an UPSERT adding to the row, so concurrent settlements never lose an update); the day is that of
    ``coalesce(completed_at, created_at)``, as the reports count it. ``flask finance check-flows``
    compares every row with a recomputation from ``transactions``."""

    __tablename__ = "money_flow_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    channel_code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # '' for none
    payment_type: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    payments: Mapped[int] = mapped_column(sa.BigInteger, default=0, nullable=False)
    received: Mapped[Decimal] = mapped_column(FlowSum, default=Decimal("0.00"), nullable=False)
    refunds: Mapped[int] = mapped_column(sa.BigInteger, default=0, nullable=False)
    refunded: Mapped[Decimal] = mapped_column(FlowSum, default=Decimal("0.00"), nullable=False)


class OpenOrderDay(Model):
    """The orders that can still become overdue (a deadline, neither PAID nor STOPPED) per UTC day of
    their deadline: how many and what they still owe (amount − paid − reserved). Kept by triggers on
    ``payment_orders`` (migration 28bfb1d0f3b5: every insert and every change of status, amounts or
    deadline moves the order's part from its old day to its new one, in the same statement), so no
    code path can forget it. On PostgreSQL each writing transaction adds to its own ``stripe``
    (its transaction id mod 16): concurrent writers rarely touch the same row. The finance dashboard's
    "overdue" is the sum of the days before today plus today's orders read live
    (services/dashboards/overdue.py)."""

    __tablename__ = "open_order_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    stripe: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    orders: Mapped[int] = mapped_column(sa.BigInteger, default=0, nullable=False)
    payable: Mapped[Decimal] = mapped_column(FlowSum, default=Decimal("0.00"), nullable=False)
