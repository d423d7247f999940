"""A refund as the API shows it (docs/API.md §4), finding it by the order system's
``refundOrderId``, and the HTTP status its creation answers."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ...domain.enums import ChannelKind
from ...domain.errors import NotFound
from ...domain.money import money_str
from ...domain.timeutil import to_shanghai_iso
from ...extensions import db
from ...models import ChannelPayment, PaymentOrder, PaymentTransaction, Refund
from ..orders.view import transaction_dict
from ..platform.day_range import on_shanghai_days
from ..platform.paging import Page

ASYNC_KINDS = (ChannelKind.ONLINE, ChannelKind.WIRE)  # parts settled later: by the gateway's refund, or by a payout


def find_refund(refund_order_id: str) -> Refund | None:
    return db.session.scalar(sa.select(Refund).where(Refund.refund_order_id == refund_order_id))


def status_code_of(refund: Refund) -> int:
    """201 when every part settled at once, 202 when some went to an asynchronous channel."""
    kinds = db.session.scalars(sa.select(PaymentTransaction.channel_kind).where(
        PaymentTransaction.refund_id == refund.id)).all()
    return 202 if any(k in ASYNC_KINDS for k in kinds) else 201


def _parts_of(refund_pks: list[int]) -> dict[int, list[tuple]]:
    """The parts of these refunds (transaction, channel payment no, original transaction no), in one query."""
    original = sa.orm.aliased(PaymentTransaction)
    rows = db.session.execute(
        sa.select(PaymentTransaction, ChannelPayment.channel_payment_id, original.transaction_id)
        .outerjoin(ChannelPayment, ChannelPayment.id == PaymentTransaction.channel_payment_id)
        .outerjoin(original, original.id == PaymentTransaction.original_transaction_id)
        .where(PaymentTransaction.refund_id.in_(refund_pks)).order_by(PaymentTransaction.id)).all()
    grouped: dict[int, list[tuple]] = {}
    for txn, cp_no, orig_no in rows:
        assert txn.refund_id is not None  # selected by it
        grouped.setdefault(txn.refund_id, []).append((txn, cp_no, orig_no))
    return grouped


def _shape(refund: Refund, payment_id: str, parts: list[tuple]) -> dict:
    return {
        "refundId": refund.refund_id, "refundOrderId": refund.refund_order_id, "paymentId": payment_id,
        "refundAmount": money_str(refund.amount), "refundType": refund.refund_type, "strategy": refund.strategy,
        "status": refund.status,
        "parts": [transaction_dict(t, payment_id, cp_no, None, orig_no) for t, cp_no, orig_no in parts],
        "createdAt": to_shanghai_iso(refund.created_at), "completedAt": to_shanghai_iso(refund.completed_at),
    }


def refund_dict(refund: Refund) -> dict:
    order = db.session.get_one(PaymentOrder, refund.payment_order_id)
    return _shape(refund, order.payment_id, _parts_of([refund.id]).get(refund.id, []))


def list_refunds(payment_id: str | None, statuses: list[str] | None, created_from: date | None,
                 created_to: date | None, page: int, page_size: int) -> Page:
    """Refunds newest first, filters AND-ed (docs/API.md §4); an unknown ``payment_id`` matches nothing."""
    conds: list[sa.ColumnElement[bool]] = []
    if payment_id is not None:
        conds.append(Refund.payment_order_id == sa.select(PaymentOrder.id)
                     .where(PaymentOrder.payment_id == payment_id).scalar_subquery())
    if statuses:
        conds.append(Refund.status.in_(statuses))
    conds.extend(on_shanghai_days(Refund.created_at, created_from, created_to))
    rows = db.session.execute(
        sa.select(Refund, PaymentOrder.payment_id).join(PaymentOrder, PaymentOrder.id == Refund.payment_order_id)
        .where(*conds).order_by(Refund.created_at.desc(), Refund.id.desc())
        .limit(page_size).offset((page - 1) * page_size)).all()
    total = db.session.scalar(sa.select(sa.func.count(Refund.id)).where(*conds)) or 0
    parts = _parts_of([r.id for r, _ in rows]) if rows else {}
    return Page([_shape(r, pid, parts.get(r.id, [])) for r, pid in rows], page, page_size, total)


def get_refund(refund_order_id: str) -> Refund:
    refund = find_refund(refund_order_id)
    if refund is None:
        raise NotFound(f"refund {refund_order_id} does not exist")
    return refund

