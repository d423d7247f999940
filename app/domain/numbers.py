"""Business numbers: a prefix, the Shanghai date and random digits (unique indexes back them)."""

from __future__ import annotations

import secrets

from .timeutil import SHANGHAI, utcnow


def business_number(prefix: str, digits: int = 12) -> str:
    day = utcnow().astimezone(SHANGHAI).strftime("%Y%m%d")
    return f"{prefix}{day}{secrets.randbelow(10**digits):0{digits}d}"


def payment_id() -> str:
    return business_number("PAY")


def transaction_id() -> str:
    return business_number("TXN")


def merged_payment_id() -> str:
    return business_number("MP")


def channel_payment_id() -> str:
    return business_number("CP")


def refund_id() -> str:
    return business_number("RF")


def credit_record_id() -> str:
    return business_number("CR")


def disbursement_no() -> str:
    return business_number("DB")


def batch_no() -> str:
    return business_number("BT")


def wire_reference() -> str:
    # Short enough to type into a bank's remark field; no ambiguous letters.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "W" + "".join(secrets.choice(alphabet) for _ in range(9))
