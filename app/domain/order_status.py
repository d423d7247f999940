"""Derivation rules of a payment order's payment and refund status (docs/DOMAIN.md §3)."""

from __future__ import annotations

from decimal import Decimal

from .enums import PaymentStatus, RefundStatus

ADMINISTRATIVE = frozenset({PaymentStatus.STOPPED, PaymentStatus.FROZEN})


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
    return status not in ADMINISTRATIVE and status != PaymentStatus.PAID
