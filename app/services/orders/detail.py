"""What the reseller's order screens read besides the list itself (``orders/queries.py``): one order
with its transactions, refunds, status timeline and credit records, and the channels a reseller can
filter by. Every lookup is scoped to the reseller: another company's order is simply not found."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ...domain.enums import PaymentType, TransactionType
from ...extensions import db
from ...models import Channel, CreditRecord, PaymentOrder, Refund, StatusLog, channel_resellers
from .queries import transactions_of


@dataclass(frozen=True)
class ChannelOption:
    code: str
    name: str
    name_en: str
    kind: str

    def label(self, language: str) -> str:
        return (self.name_en or self.name) if language == "en" else (self.name or self.name_en)


@dataclass
class OrderDetail:
    order: PaymentOrder
    payments: list[dict]  # PAYMENT transactions, API shape (order_view.transaction_dict), newest first
    refund_transactions: list[dict]  # REFUND transactions, same shape
    refunds: list[Refund]  # refund instructions from the order system, newest first
    timeline: list[StatusLog]  # oldest first
    credit_records: list[CreditRecord]  # records booked when this order was paid with credit
    repaid_record: CreditRecord | None  # for a CREDIT_REPAYMENT order: the record it repays


def filter_channels(reseller_id: int) -> list[ChannelOption]:
    """Channels the reseller may use or may have used: every channel open to all or to it, enabled or
    not (an order paid through a channel switched off since must stay findable)."""
    listed = sa.select(channel_resellers.c.channel_id).where(channel_resellers.c.reseller_id == reseller_id)
    rows = db.session.execute(
        sa.select(Channel.code, Channel.name, Channel.name_en, Channel.kind)
        .where(sa.or_(Channel.available_to_all.is_(True), Channel.id.in_(listed)))
        .order_by(Channel.sort_order, Channel.code)
    ).all()
    return [ChannelOption(*row) for row in rows]


def order_detail(reseller_id: int, payment_id: str) -> OrderDetail | None:
    """The order with everything its page shows, or None if it is not this reseller's."""
    order = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.payment_id == payment_id,
                                                            PaymentOrder.reseller_id == reseller_id))
    if order is None:
        return None
    txns = transactions_of(order)
    refunds = db.session.scalars(sa.select(Refund).where(Refund.payment_order_id == order.id)
                                 .order_by(Refund.created_at.desc(), Refund.id.desc())).all()
    timeline = db.session.scalars(sa.select(StatusLog).where(StatusLog.payment_order_id == order.id)
                                  .order_by(StatusLog.created_at, StatusLog.id)).all()
    records = db.session.scalars(sa.select(CreditRecord).where(CreditRecord.payment_order_id == order.id,
                                                               CreditRecord.reseller_id == reseller_id)
                                 .order_by(CreditRecord.id)).all()
    repaid = None
    if order.payment_type == PaymentType.CREDIT_REPAYMENT and order.related_business_id:
        repaid = db.session.scalar(sa.select(CreditRecord).where(
            CreditRecord.credit_record_id == order.related_business_id, CreditRecord.reseller_id == reseller_id))
    return OrderDetail(
        order=order,
        payments=[t for t in txns if t["transactionType"] == TransactionType.PAYMENT],
        refund_transactions=[t for t in txns if t["transactionType"] == TransactionType.REFUND],
        refunds=list(refunds), timeline=list(timeline), credit_records=list(records), repaid_record=repaid,
    )
