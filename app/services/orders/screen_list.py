"""The reseller's payment-order list as the portal shows it: the totals of the filtered set and one page
of it, with the filters of ``order_queries.OrderFilter`` (the API's, docs/API.md §3).

Same filters and order as ``order_queries.list_orders`` / ``order_totals`` (the API's), in query
shapes that stay fast for a reseller with tens of thousands of orders in a table of millions
(bench/order_list.py), with the indexes of migration e5f6a7b8c9d0:

* everything the filters, sorts and sums read is in the covering index on
  ``(reseller_id, created_at)``, so the totals and the choice of a page's ids are index-only scans
  of the reseller's part of that index, whatever the filter and sort;
* the page's rows are then fetched by id (at most a page of heap reads), not all candidates;
* the filter "paid through channel X" looks only at the reseller's transactions (the
  ``(reseller_id, channel_code, payment_order_id)`` index) instead of every transaction of X;
* one aggregate gives both the totals and the count (``list_orders`` counts separately).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ...extensions import db
from ...models import PaymentOrder, PaymentTransaction, Reseller
from ..platform.paging import Page
from . import queries as order_queries
from .queries import MAX_PAGE_SIZE, SORTS, OrderFilter

CENT = Decimal("0.01")


def conditions(f: OrderFilter) -> list:
    """``orders/queries.py``' conditions; the channel test is restricted to the reseller's transactions
    (a transaction's reseller is always its order's) so that it never reads other companies' rows."""
    if not f.channel or f.reseller_id is None or f.channel_transaction_id:
        return order_queries.conditions(f)
    conds = order_queries.conditions(replace(f, channel=None))
    t = aliased(PaymentTransaction)
    conds.append(sa.exists(sa.select(t.id).where(t.reseller_id == f.reseller_id, t.channel_code == f.channel,
                                                  t.payment_order_id == PaymentOrder.id)))
    return conds


def order_by(sort: str) -> list:
    desc = sort.startswith("-")
    column = SORTS.get(sort.lstrip("-"), PaymentOrder.created_at)
    return [column.desc() if desc else column.asc(), PaymentOrder.id.desc() if desc else PaymentOrder.id.asc()]


def totals(f: OrderFilter) -> dict:
    """Count and sums over the whole filtered set (``order_queries.order_totals``' shape)."""
    row = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(PaymentOrder.payment_amount), 0),
            sa.func.coalesce(sa.func.sum(PaymentOrder.paid_amount), 0),
            sa.func.coalesce(sa.func.sum(PaymentOrder.reserved_amount), 0),
        ).select_from(PaymentOrder).where(*conditions(f))
    ).one()
    amount, paid, reserved = (Decimal(x).quantize(CENT) for x in row[1:])
    return {"count": row[0], "amount": amount, "paid": paid, "reserved": reserved,
            "payable": amount - paid - reserved}


def page_of(f: OrderFilter, total: int, page: int = 1, page_size: int = 20, sort: str = "-created") -> Page:
    """One page of the filtered set: ``Page`` of (PaymentOrder, reseller code) as ``list_orders``
    gives; ``total`` is the count the caller already has (from ``totals``). A page past the end is
    the last one."""
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    last = max(1, -(-total // page_size))
    page = min(max(page, 1), last)
    ordering = order_by(sort)
    ids = (sa.select(PaymentOrder.id).where(*conditions(f)).order_by(*ordering)
           .limit(page_size).offset((page - 1) * page_size))
    rows = db.session.execute(
        sa.select(PaymentOrder, Reseller.code).join(Reseller, Reseller.id == PaymentOrder.reseller_id)
        .where(PaymentOrder.id.in_(ids.scalar_subquery())).order_by(*ordering)
    ).all()
    return Page([(r[0], r[1]) for r in rows], page, page_size, total)
