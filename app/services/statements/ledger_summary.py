"""The wallet (企业寄存资金) and credit line (信用额度) of a statement's period, from their ledgers
(docs/DOMAIN.md §8): the balance after the last entry before the period, what went in and out
during it, the balance after its last entry. ``closing = opening + in − out`` holds by construction
of the ledgers (each entry stores the balance after it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from ...extensions import db
from ...models import CreditEntry, Reseller, WalletEntry
from .owed import ZERO, money


@dataclass(frozen=True)
class LedgerSummary:
    opening: Decimal
    money_in: Decimal  # wallet: credited; credit: used (debt up)
    money_out: Decimal  # wallet: debited; credit: repaid or released (debt down), positive
    closing: Decimal
    entries: int


@dataclass(frozen=True)
class CreditSummary:
    limit: Decimal  # the limit today (changes of the limit are not dated)
    used: LedgerSummary


def _balance_before(model: type[WalletEntry] | type[CreditEntry], column: InstrumentedAttribute[Decimal],
                    reseller_id: int, moment: datetime) -> Decimal:
    value = db.session.scalar(
        sa.select(column).where(model.reseller_id == reseller_id, model.created_at < moment)
        .order_by(model.created_at.desc(), model.id.desc()).limit(1))
    return money(value) if value is not None else ZERO


def _summary(model: type[WalletEntry] | type[CreditEntry], column: InstrumentedAttribute[Decimal],
             reseller_id: int, start: datetime, end: datetime) -> LedgerSummary:
    ins, outs, count = db.session.execute(sa.select(
        sa.func.sum(sa.case((model.amount > 0, model.amount), else_=0)),
        sa.func.sum(sa.case((model.amount < 0, -model.amount), else_=0)),
        sa.func.count(model.id),
    ).where(model.reseller_id == reseller_id, model.created_at >= start, model.created_at < end)).one()
    return LedgerSummary(opening=_balance_before(model, column, reseller_id, start), money_in=money(ins),
                         money_out=money(outs), closing=_balance_before(model, column, reseller_id, end),
                         entries=int(count or 0))


def wallet_summary(reseller_id: int, start: datetime, end: datetime) -> LedgerSummary:
    return _summary(WalletEntry, WalletEntry.balance_after, reseller_id, start, end)


def credit_summary(reseller_id: int, start: datetime, end: datetime) -> CreditSummary:
    limit = db.session.scalar(sa.select(Reseller.credit_limit).where(Reseller.id == reseller_id))
    used = _summary(CreditEntry, CreditEntry.used_after, reseller_id, start, end)
    return CreditSummary(limit=money(limit), used=used)
