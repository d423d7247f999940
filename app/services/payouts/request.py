"""A payout instruction (docs/API.md §9) and the rules it must meet before anything is stored:
account number of 6–32 digits, a configured bank code, a positive amount in fen, CNY, a name, and a
notifyUrl the webhooks' address policy admits (``webhooks/address_policy.check_literal``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from flask import current_app

from ...domain.errors import ValidationFailed
from ...domain.money import at_most_two_decimals, money_str
from ..platform.idempotency import request_fingerprint
from ..webhooks import address_policy

DEFAULT_BANK_CODES = ("ICBC", "ABC", "BOC", "CCB", "BOCOM", "CMB", "SPDB", "CITIC")
RESERVED_REQUEST_PREFIX = "refund:"  # request ids of the payouts that pay WIRE refunds (refunds/wire.py)
BATCH_REQUEST_PREFIX = "batch:"  # request ids of the payouts of finance batches (payouts/batches.py)
RESERVED_PREFIXES = (RESERVED_REQUEST_PREFIX, BATCH_REQUEST_PREFIX)  # never taken from the API
ACCOUNT_RE = re.compile(r"[0-9]{6,32}", re.ASCII)  # with fullmatch: no trailing newline


@dataclass(frozen=True)
class DisbursementRequest:
    request_id: str
    merchant_id: str
    bank_account_no: str
    bank_account_name: str
    bank_code: str
    amount: Decimal
    currency: str = "CNY"
    purpose: str = ""
    client_ip: str | None = None
    notify_url: str | None = None

    def fingerprint(self) -> str:
        return request_fingerprint({
            "merchantId": self.merchant_id, "bankAccountNo": self.bank_account_no,
            "bankAccountName": self.bank_account_name, "bankCode": self.bank_code,
            "amount": money_str(self.amount), "currency": self.currency, "purpose": self.purpose or "",
            "clientIp": self.client_ip, "notifyUrl": self.notify_url,
        })


def bank_codes() -> tuple[str, ...]:
    codes = current_app.config.get("BANK_CODES") or DEFAULT_BANK_CODES
    if isinstance(codes, str):
        codes = [c.strip() for c in codes.split(",") if c.strip()]
    return tuple(codes)


def validate(req: DisbursementRequest) -> None:
    if not ACCOUNT_RE.fullmatch(req.bank_account_no or ""):
        raise ValidationFailed("bank account number must be 6–32 digits", field="bankAccountNo")
    if req.bank_code not in bank_codes():
        raise ValidationFailed(f"bank code must be one of {', '.join(bank_codes())}", field="bankCode")
    amount = req.amount
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0 or not at_most_two_decimals(amount):
        raise ValidationFailed("amount must be positive with at most two decimals", field="amount")
    if req.currency != "CNY":
        raise ValidationFailed("only CNY is supported", field="currency")
    if not (req.bank_account_name or "").strip():
        raise ValidationFailed("account name is required", field="bankAccountName")
    if req.notify_url:
        try:  # the form and a literal address now; where a name resolves, at every send
            address_policy.check_literal(req.notify_url, address_policy.configured_allowed_hosts())
        except address_policy.UnsafeUrl as exc:
            raise ValidationFailed(f"notifyUrl cannot be called: {exc}", field="notifyUrl") from None

