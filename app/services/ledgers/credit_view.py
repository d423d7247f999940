"""The credit line as upstream systems see it (docs/API.md §5): limits, records, repayment orders."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import CreditLineStatus, CreditRecordStatus, PaymentType, ResellerStatus
from ...domain.money import money_str
from ...domain.timeutil import shanghai_today
from ...extensions import db
from ...models import CreditRecord, PaymentOrder, Reseller
from ..accounts.resellers import get_reseller
from ..orders.queries import OrderFilter, list_orders
from ..platform.paging import Page


def credit_limit_dict(code: str) -> dict:
    r = get_reseller(code)
    return {
        "resellerId": r.code,
        "totalCreditLimit": money_str(r.credit_limit),
        "availableCreditLimit": money_str(r.credit_available),
        "usedCreditLimit": money_str(r.credit_used),
        "creditStatus": r.credit_status if r.status == ResellerStatus.ACTIVE else CreditLineStatus.SUSPENDED,
        "creditTermDays": r.credit_term_days,
    }


def record_status(rec: CreditRecord) -> CreditRecordStatus:
    if rec.outstanding_amount <= 0:
        return CreditRecordStatus.REPAID
    if rec.due_date < shanghai_today():
        return CreditRecordStatus.OVERDUE
    return CreditRecordStatus.OPEN


def credit_record_dict(rec: CreditRecord, reseller_code: str) -> dict:
    return {
        "creditRecordId": rec.credit_record_id,
        "orderId": rec.order_id,
        "resellerId": reseller_code,
        "amount": money_str(rec.amount),
        "outstandingAmount": money_str(rec.outstanding_amount),
        "dueDate": rec.due_date.isoformat(),
        "status": record_status(rec),
    }


def list_credit_records(reseller_code: str | None, order_id: str | None, page: int, page_size: int) -> Page:
    page = max(page, 1)
    page_size = min(max(page_size, 1), 200)
    conds = []
    if reseller_code:
        conds.append(Reseller.code == reseller_code)
    if order_id:
        conds.append(CreditRecord.order_id == order_id)
    base = sa.select(CreditRecord, Reseller.code).join(Reseller, Reseller.id == CreditRecord.reseller_id).where(*conds)
    rows = db.session.execute(
        base.order_by(CreditRecord.due_date, CreditRecord.id).limit(page_size).offset((page - 1) * page_size)
    ).all()
    total = db.session.scalar(
        sa.select(sa.func.count(CreditRecord.id)).join(Reseller, Reseller.id == CreditRecord.reseller_id).where(*conds)
    ) or 0
    return Page([credit_record_dict(rec, code) for rec, code in rows], page, page_size, total)


def list_repayment_orders(credit_record_id: str | None, order_id: str | None, page: int, page_size: int) -> Page:
    f = OrderFilter(payment_types=[PaymentType.CREDIT_REPAYMENT], related_business_id=credit_record_id,
                    order_ids=[order_id] if order_id else None)
    return list_orders(f, page, page_size)


def outstanding_total(reseller_id: int) -> Decimal:
    return Decimal(db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(CreditRecord.outstanding_amount), 0))
        .where(CreditRecord.reseller_id == reseller_id)
    ).scalar_one())


__all__ = ["PaymentOrder", "credit_limit_dict", "list_credit_records", "list_repayment_orders", "outstanding_total"]
