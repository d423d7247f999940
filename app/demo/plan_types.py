"""The records of the demo plan (``plan.py`` builds them, ``replay.py`` turns them into rows):
payment orders, the pieces each is paid in, merged payments and credit records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

T = TypeVar("T")


def _known(value: T | None, missing: str) -> T:
    """A value the plan has set by the time it is read (``missing`` says what went wrong if not)."""
    assert value is not None, missing
    return value


@dataclass(eq=False)
class Piece:
    """One allocation: an amount of one order, through one channel, with its outcome."""

    order: OrderPlan
    outcome: str  # the channel payment status it ends in: SUCCESS | FAILED | PROCESSING | PENDING
    amount: Decimal
    channel: str
    at: datetime | None = None  # earliest submit time; None: recent (set when scheduled)
    settled: datetime | None = None

    @property
    def submit_at(self) -> datetime:
        """``at`` once the plan is scheduled (``plan._schedule`` sets it for every piece)."""
        return _known(self.at, f"a piece of {self.order.order_id} is not scheduled yet")

    @property
    def settled_at(self) -> datetime:
        """When a SUCCESS or FAILED piece settled (``plan._close`` sets it)."""
        return _known(self.settled, f"a piece of {self.order.order_id} has not settled")


@dataclass(eq=False)
class OrderPlan:
    reseller: str
    order_id: str
    payment_type: str
    amount: Decimal
    created: datetime
    deadline: datetime
    desc: str
    tags: dict
    scenario: str = "unpaid"
    priority: int = 0
    expire_date: date | None = None
    related_id: str = ""
    repayment: str | None = None  # paid with credit: how the credit record gets repaid (D.REPAYMENTS)
    pieces: list[Piece] = field(default_factory=list)
    extra: str | None = None  # refund_partial | refund_full | an OrderAction (STOP, FREEZE)
    extra_at: datetime | None = None
    extra_amount: Decimal | None = None
    extra_reason: str = ""

    @property
    def extra_when(self) -> datetime:
        """When the refund, STOP or FREEZE happens (``plan._plan_extra`` sets it for an order with one)."""
        return _known(self.extra_at, f"{self.order_id} has no extra step")

    @property
    def refund_amount(self) -> Decimal:
        """The amount of a refund_partial or refund_full order's refund."""
        return _known(self.extra_amount, f"{self.order_id} has no refund")


@dataclass(eq=False)
class MergedPlan:
    reseller: str
    created: datetime  # submitted by the operator (amounts reserved)
    submitted: datetime  # sent to the channels (after approval, if one was needed)
    pieces: list[Piece]
    approved: bool = False

    @property
    def total(self) -> Decimal:
        return sum((p.amount for p in self.pieces), Decimal("0.00"))

    def by_channel(self) -> dict[str, list[Piece]]:
        out: dict[str, list[Piece]] = {}
        for p in self.pieces:
            out.setdefault(p.channel, []).append(p)
        return out


@dataclass(eq=False)
class CreditPlan:
    record_id: str
    order: OrderPlan
    piece: Piece
    repayment: str | None


@dataclass
class Plan:
    orders: list[OrderPlan]
    merged: list[MergedPlan]
    credits: list[CreditPlan]
