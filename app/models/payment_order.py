from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.enums import PaymentStatus, PaymentType, RefundStatus
from .base import Model
from .types import Money, UTCDateTime, now_utc, sql_values

if TYPE_CHECKING:
    from .reseller import Reseller


class _RunningTotals(Protocol):
    """What ``OrderAmounts`` derives its amounts from."""

    @property
    def payment_amount(self) -> Decimal: ...
    @property
    def paid_amount(self) -> Decimal: ...
    @property
    def refunded_amount(self) -> Decimal: ...
    @property
    def reserved_amount(self) -> Decimal: ...
    @property
    def refunding_amount(self) -> Decimal: ...


class OrderAmounts:
    """The amounts derived from an order's running totals: for the model, and for a new order's
    values before they are stored (``NewOrderValues``)."""

    @property
    def remaining_amount(self: _RunningTotals) -> Decimal:
        return self.payment_amount - self.paid_amount

    @property
    def payable_amount(self: _RunningTotals) -> Decimal:
        return self.payment_amount - self.paid_amount - self.reserved_amount

    @property
    def actual_amount(self: _RunningTotals) -> Decimal:
        return self.paid_amount - self.refunded_amount

    @property
    def refundable_amount(self: _RunningTotals) -> Decimal:
        return self.paid_amount - self.refunded_amount - self.refunding_amount


@dataclass(eq=False)
class NewOrderValues(OrderAmounts):
    """A new order's column values as attributes, read like a stored ``PaymentOrder`` (its view,
    its type): the response needs no SELECT after the insert, nor an ORM instance. Built by
    ``services/orders/new_order.new_order_rows``; ``id`` is set once the row is stored."""

    payment_id: str
    order_id: str
    reseller_id: int | None  # None when the order writer resolves the reseller in its statement
    payment_type: str
    payment_amount: Decimal
    paid_amount: Decimal
    refunded_amount: Decimal
    reserved_amount: Decimal
    refunding_amount: Decimal
    currency: str
    payment_status: str
    refund_status: str
    last_attempt_failed: bool
    last_refund_failed: bool
    payment_deadline: datetime | None
    business_desc: str
    priority: int
    related_business_id: str
    related_business_type: str | None
    business_expire_date: date | None
    tags: dict
    created_by_client_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime
    id: int | None = None

    def column_values(self) -> dict[str, Any]:
        """The values of the row's INSERT: every column but the id, which the database assigns."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "id"}


class PaymentOrder(OrderAmounts, Model):
    """What is owed for one business order (支付单).

    The amount columns are running totals kept by the services in the same transaction as the
    transactions they summarise; the CHECK constraints below are the invariants of docs/DOMAIN.md §3
    that a single row can express, so that no code path can store a broken order.
    """

    __tablename__ = "payment_orders"
    __table_args__ = (
        sa.CheckConstraint("payment_amount > 0", name="amount_positive"),
        sa.CheckConstraint("paid_amount >= 0", name="paid_nonneg"),
        sa.CheckConstraint("refunded_amount >= 0", name="refunded_nonneg"),
        sa.CheckConstraint("refunded_amount <= paid_amount", name="refunded_le_paid"),
        sa.CheckConstraint("paid_amount <= payment_amount", name="paid_le_amount"),
        sa.CheckConstraint("reserved_amount >= 0", name="reserved_nonneg"),
        sa.CheckConstraint("reserved_amount + paid_amount <= payment_amount", name="reserved_plus_paid_le_amount"),
        sa.CheckConstraint("refunding_amount >= 0", name="refunding_nonneg"),
        sa.CheckConstraint("refunding_amount + refunded_amount <= paid_amount", name="refunding_le_refundable"),
        sa.CheckConstraint(f"payment_status IN {sql_values(PaymentStatus)}", name="payment_status"),
        sa.CheckConstraint(f"refund_status IN {sql_values(RefundStatus)}", name="refund_status"),
        sa.CheckConstraint(f"payment_type IN {sql_values(PaymentType)}", name="payment_type"),
        sa.CheckConstraint("currency = 'CNY'", name="currency"),
        # The natural key (orderId, paymentType, relatedBusinessId) is unique among live orders.
        sa.Index(
            "uq_payment_orders_natural_key",
            "order_id",
            "payment_type",
            "related_business_id",
            unique=True,
            sqlite_where=sa.text("payment_status <> 'STOPPED'"),
            postgresql_where=sa.text("payment_status <> 'STOPPED'"),
        ),
        # Covers the portal's order list (app/services/orders/screen_list.py): filters, sorts and sums read the
        # index only (PostgreSQL's INCLUDE; plain on SQLite).
        sa.Index("ix_payment_orders_reseller_list", "reseller_id", "created_at",
                 postgresql_include=["id", "payment_status", "payment_type", "payment_amount", "paid_amount",
                                     "reserved_amount", "payment_deadline", "order_id"]),
        sa.Index("ix_payment_orders_reseller_status_created", "reseller_id", "payment_status", "created_at"),
        sa.Index("ix_payment_orders_reseller_deadline", "reseller_id", "payment_deadline"),
        sa.Index("ix_payment_orders_status_created", "payment_status", "created_at"),
        sa.Index("ix_payment_orders_type_created", "payment_type", "created_at"),
        sa.Index("ix_payment_orders_amount", "payment_amount"),
        sa.Index("ix_payment_orders_status_deadline", "payment_status", "payment_deadline"),  # overdue counts
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    payment_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    order_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    reseller_id: Mapped[int] = mapped_column(sa.ForeignKey("resellers.id"))
    payment_type: Mapped[str] = mapped_column(sa.String(24))
    payment_amount: Mapped[Decimal] = mapped_column(Money)
    paid_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    refunded_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    reserved_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    refunding_amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    payment_status: Mapped[str] = mapped_column(sa.String(16), default=PaymentStatus.UNPAID)
    refund_status: Mapped[str] = mapped_column(sa.String(20), default=RefundStatus.NO_REFUND)
    last_attempt_failed: Mapped[bool] = mapped_column(default=False)
    last_refund_failed: Mapped[bool] = mapped_column(default=False)
    payment_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    business_desc: Mapped[str] = mapped_column(sa.String(500), default="")
    priority: Mapped[int] = mapped_column(default=0)
    # '' when absent, so that the natural-key index treats "no related business" as one value.
    related_business_id: Mapped[str] = mapped_column(sa.String(64), default="", index=True)
    related_business_type: Mapped[str | None] = mapped_column(sa.String(32))
    business_expire_date: Mapped[date | None] = mapped_column(sa.Date, nullable=True)
    tags: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_by_client_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_clients.id"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)

    reseller: Mapped[Reseller] = relationship("Reseller", lazy="raise")


class StatusLog(Model):
    """One change of a payment order's payment or refund status: the timeline."""

    __tablename__ = "status_log"
    __table_args__ = (sa.Index("ix_status_log_order_created", "payment_order_id", "created_at"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    payment_order_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_orders.id"))
    field: Mapped[str] = mapped_column(sa.String(16), default="payment")  # payment | refund
    from_status: Mapped[str | None] = mapped_column(sa.String(20))
    to_status: Mapped[str] = mapped_column(sa.String(20))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    actor: Mapped[str] = mapped_column(sa.String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, nullable=False)
