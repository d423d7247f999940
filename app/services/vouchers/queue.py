"""Read side of the wire-voucher desk (docs/DOMAIN.md §5): the queue finance works through, one voucher with
what it pays for, and who may see a voucher's file. Changes go through ``vouchers`` (confirm, reject)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ...domain.enums import TransactionType, VoucherStatus
from ...extensions import db
from ...models import ChannelPayment, MergedPayment, PaymentOrder, PaymentTransaction, Reseller, User, Voucher
from ..platform.paging import Page

STATUSES = tuple(VoucherStatus)
PAGE_SIZE = 20


@dataclass(frozen=True)
class Allocation:
    payment_id: str
    order_id: str
    amount: Decimal
    deadline: datetime | None
    status: str  # the allocation's transaction status


@dataclass
class VoucherRow:
    voucher: Voucher
    reference: str
    channel_payment_id: str
    channel_code: str
    channel_status: str
    expected: Decimal
    merged_payment_id: str
    reseller_code: str
    reseller_name: str
    uploaded_by: str
    reviewed_by: str | None
    allocations: list[Allocation] = field(default_factory=list)

    @property
    def difference(self) -> Decimal | None:
        """Received − expected once finance entered what arrived."""
        v = self.voucher
        return None if v.received_amount is None else v.received_amount - self.expected


def _select() -> sa.Select:
    uploader, reviewer = aliased(User), aliased(User)
    return (sa.select(Voucher, ChannelPayment, MergedPayment.merged_payment_id, Reseller.code, Reseller.name,
                      uploader.email, reviewer.email)
            .join(ChannelPayment, ChannelPayment.id == Voucher.channel_payment_id)
            .join(MergedPayment, MergedPayment.id == ChannelPayment.merged_payment_id)
            .join(Reseller, Reseller.id == MergedPayment.reseller_id)
            .join(uploader, uploader.id == Voucher.uploaded_by_user_id)
            .outerjoin(reviewer, reviewer.id == Voucher.reviewed_by_user_id))


def _rows(result: Iterable[sa.Row]) -> list[VoucherRow]:
    rows = [VoucherRow(voucher=v, reference=cp.wire_reference or "", channel_payment_id=cp.channel_payment_id,
                       channel_code=cp.channel_code, channel_status=cp.status, expected=cp.amount,
                       merged_payment_id=mp_id, reseller_code=code, reseller_name=name, uploaded_by=up,
                       reviewed_by=rev)
            for v, cp, mp_id, code, name, up, rev in result]
    by_cp: dict[int | None, VoucherRow] = {r.voucher.channel_payment_id: r for r in rows}
    if by_cp:
        allocations = db.session.execute(
            sa.select(PaymentTransaction.channel_payment_id, PaymentOrder.payment_id, PaymentOrder.order_id,
                      PaymentTransaction.amount, PaymentOrder.payment_deadline, PaymentTransaction.status)
            .join(PaymentOrder, PaymentOrder.id == PaymentTransaction.payment_order_id)
            .where(PaymentTransaction.channel_payment_id.in_(by_cp),
                   PaymentTransaction.transaction_type == TransactionType.PAYMENT)
            .order_by(PaymentTransaction.id)).all()
        for cp_pk, payment_id, order_id, amount, deadline, status in allocations:
            by_cp[cp_pk].allocations.append(Allocation(payment_id, order_id, amount, deadline, status))
    return rows


def list_vouchers(status: str = VoucherStatus.PENDING, reference: str | None = None, page: int = 1,
                  page_size: int = PAGE_SIZE) -> Page:
    """PENDING: the queue, oldest upload first. CONFIRMED / REJECTED: the history, newest review first."""
    status = status if status in STATUSES else VoucherStatus.PENDING
    page = max(page, 1)
    conds = [Voucher.status == status]
    if reference:
        conds.append(ChannelPayment.wire_reference == reference.strip().upper())
    order = (Voucher.created_at.asc(), Voucher.id.asc()) if status == VoucherStatus.PENDING else (
        Voucher.reviewed_at.desc(), Voucher.id.desc())
    result = db.session.execute(_select().where(*conds).order_by(*order).limit(page_size)
                                .offset((page - 1) * page_size)).all()
    total = db.session.scalar(sa.select(sa.func.count(Voucher.id))
                              .join(ChannelPayment, ChannelPayment.id == Voucher.channel_payment_id).where(*conds))
    return Page(_rows(result), page, page_size, total or 0)


def pending_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Voucher.id)).where(Voucher.status == VoucherStatus.PENDING)) or 0


def get_row(voucher_id: int) -> VoucherRow | None:
    result = db.session.execute(_select().where(Voucher.id == voucher_id)).all()
    rows = _rows(result)
    return rows[0] if rows else None


def visible_voucher(voucher_id: int, reseller_id: int | None) -> Voucher | None:
    """The voucher if the viewer may see its file: finance (``reseller_id`` None) always, a reseller
    user only for its own company's transfers. None otherwise (the caller answers 404)."""
    stmt = (sa.select(Voucher).join(ChannelPayment, ChannelPayment.id == Voucher.channel_payment_id)
            .join(MergedPayment, MergedPayment.id == ChannelPayment.merged_payment_id)
            .where(Voucher.id == voucher_id))
    if reseller_id is not None:
        stmt = stmt.where(MergedPayment.reseller_id == reseller_id)
    return db.session.scalar(stmt)
