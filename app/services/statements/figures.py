"""A reseller's statement for one month as one value (docs/DOMAIN.md §8): the figures the
``/statements`` screen shows, the PDF prints and any API returns, computed here once.

Read only; every query is filtered by the reseller's id. ``as_of`` — the moment aging is measured —
is the end of the month, or now for the month in progress.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ...domain.timeutil import utcnow
from ...extensions import db
from ...models import Reseller
from .aging import Aging, aging
from .flows import Group, orders_by_type, payments_by_channel, refunds_by_channel, total
from .ledger_summary import CreditSummary, LedgerSummary, credit_summary, wallet_summary
from .lines import count_lines
from .owed import OwedMovement, owed_movement
from .period import Month


@dataclass(frozen=True)
class Company:
    id: int
    code: str
    name: str


@dataclass(frozen=True)
class StatementFigures:
    company: Company
    month: Month
    start: datetime
    end: datetime
    as_of: datetime
    owed: OwedMovement
    orders: list[Group]
    payments: list[Group]
    refunds: list[Group]
    aging: Aging
    wallet: LedgerSummary
    credit: CreditSummary
    line_count: int

    @property
    def payments_total(self) -> Decimal:
        return total(self.payments)

    @property
    def refunds_total(self) -> Decimal:
        return total(self.refunds)

    @property
    def orders_total(self) -> Decimal:
        return total(self.orders)


def company(reseller_id: int) -> Company:
    row = db.session.execute(sa.select(Reseller.id, Reseller.code, Reseller.name)
                             .where(Reseller.id == reseller_id)).one()
    return Company(row.id, row.code, row.name)


def statement_figures(reseller_id: int, month: Month, now: datetime | None = None) -> StatementFigures:
    start, end = month.bounds()
    as_of = min(end, now or utcnow())
    return StatementFigures(
        company=company(reseller_id), month=month, start=start, end=end, as_of=as_of,
        owed=owed_movement(reseller_id, start, end),
        orders=orders_by_type(reseller_id, start, end),
        payments=payments_by_channel(reseller_id, start, end),
        refunds=refunds_by_channel(reseller_id, start, end),
        aging=aging(reseller_id, as_of),
        wallet=wallet_summary(reseller_id, start, end),
        credit=credit_summary(reseller_id, start, end),
        line_count=count_lines(reseller_id, start, end),
    )
