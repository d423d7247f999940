"""Ranked suggestions for a bank credit line that carries no usable wire reference code
(docs/DOMAIN.md "Suggestions for a wire without a reference"). Pure Python: the reconciliation reads
the open WIRE payments and what it knows of each reseller's payers, this module only orders them.

A candidate is kept when it was started no more than ``window_days`` before the money arrived (and
not after it), and when at least one of the amount, the payer's account or the payer's name fits.
Points: the same amount 60, a payer account known for the reseller 30, a payer name known for the
reseller 20: the amount outweighs account and name together, and a known account outweighs a name.
Equal points: fewer days apart first, then the payment id, so the same inputs always give the same
order whatever order they come in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

AMOUNT_POINTS = 60
ACCOUNT_POINTS = 30
NAME_POINTS = 20
DEFAULT_WINDOW_DAYS = 5

_NOT_DIGIT = re.compile(r"\D+")
_NAME_NOISE = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class ReceivedWire:
    """What the bank line says: the money and who sent it."""

    amount: Decimal
    value_date: date
    payer_account: str | None = None
    payer_name: str | None = None


@dataclass(frozen=True)
class WireCandidate:
    """An open WIRE channel payment and what is known of its reseller's payers."""

    payment_id: str
    reseller_id: int
    amount: Decimal
    started_on: date
    payer_accounts: frozenset[str] = frozenset()
    payer_names: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Suggestion:
    payment_id: str
    reseller_id: int
    score: int
    days_apart: int
    reasons: tuple[str, ...]  # of "AMOUNT", "PAYER_ACCOUNT", "PAYER_NAME"


def account_key(account: str | None) -> str:
    """A bank account number compared by its digits only (``6222 0202-0011`` = ``622202020011``)."""
    return _NOT_DIGIT.sub("", unicodedata.normalize("NFKC", account or ""))


def name_key(name: str | None) -> str:
    """A payer name compared without case, width, spaces or punctuation (``（上海）`` = ``(上海)``)."""
    return _NAME_NOISE.sub("", unicodedata.normalize("NFKC", name or "").casefold())


def rank_suggestions(wire: ReceivedWire, candidates: Iterable[WireCandidate], *,
                     window_days: int = DEFAULT_WINDOW_DAYS, limit: int | None = 5) -> list[Suggestion]:
    """The candidates that may be what ``wire`` pays, best first (at most ``limit``; None = all)."""
    account = account_key(wire.payer_account)
    name = name_key(wire.payer_name)
    ranked: list[Suggestion] = []
    for c in candidates:
        days = (wire.value_date - c.started_on).days
        if days < 0 or days > window_days:
            continue
        reasons: list[str] = []
        if c.amount == wire.amount:
            reasons.append("AMOUNT")
        if account and account in {account_key(a) for a in c.payer_accounts}:
            reasons.append("PAYER_ACCOUNT")
        if name and name in {name_key(n) for n in c.payer_names}:
            reasons.append("PAYER_NAME")
        if not reasons:
            continue
        score = ((AMOUNT_POINTS if "AMOUNT" in reasons else 0) + (ACCOUNT_POINTS if "PAYER_ACCOUNT" in reasons else 0)
                 + (NAME_POINTS if "PAYER_NAME" in reasons else 0))
        ranked.append(Suggestion(c.payment_id, c.reseller_id, score, days, tuple(reasons)))
    ranked.sort(key=lambda s: (-s.score, s.days_apart, s.payment_id))
    return ranked if limit is None else ranked[:limit]
