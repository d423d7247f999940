"""Rules of a payment order's statuses (docs/DOMAIN.md §3): how the payment and refund statuses are
derived, which orders can be paid and which are overdue. Each rule is stated here once; the services
use these sets in Python and in SQL (``column.not_in(NOT_PAYABLE)``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from .enums import PaymentStatus, RefundStatus

ADMINISTRATIVE = frozenset({PaymentStatus.STOPPED, PaymentStatus.FROZEN})
# An order in one of these cannot take a new payment: blocked by an administrator, or fully paid.
NOT_PAYABLE = ADMINISTRATIVE | {PaymentStatus.PAID}
# Never overdue (the API's ``overdue`` flag): paid, or stopped for good. A FROZEN order past its
# deadline does count as overdue.
NEVER_OVERDUE = frozenset({PaymentStatus.PAID, PaymentStatus.STOPPED})


def derive_payment_status(
    *, amount: Decimal, paid: Decimal, reserved: Decimal, last_attempt_failed: bool
) -> PaymentStatus:
    """The status of an order that is neither STOPPED nor FROZEN, in the order of docs/DOMAIN.md §3."""
    if paid >= amount:
        return PaymentStatus.PAID
    if reserved > 0:
        return PaymentStatus.PAYING
    if paid > 0:
        return PaymentStatus.PARTIAL_PAID
    if last_attempt_failed:
        return PaymentStatus.FAILED
    return PaymentStatus.UNPAID


def derive_refund_status(
    *, paid: Decimal, refunded: Decimal, refunding: Decimal, last_refund_failed: bool
) -> RefundStatus:
    if refunding > 0:
        return RefundStatus.REFUNDING
    if last_refund_failed:
        return RefundStatus.REFUND_FAILED
    if refunded > 0 and refunded >= paid:
        return RefundStatus.FULL_REFUNDED
    if refunded > 0:
        return RefundStatus.PARTIAL_REFUNDED
    return RefundStatus.NO_REFUND


def is_payable_status(status: str) -> bool:
    """Whether an order in ``status`` may take a payment (the amount left to pay is checked apart)."""
    return status not in NOT_PAYABLE


def is_overdue(status: str, deadline: datetime | None, now: datetime) -> bool:
    """Past its deadline and neither PAID nor STOPPED; an order without a deadline is never overdue."""
    return deadline is not None and status not in NEVER_OVERDUE and deadline < now
