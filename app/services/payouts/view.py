"""One payout as the API shows it (account masked), and finding it by its number."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.errors import NotFound
from ...domain.money import money_str
from ...domain.timeutil import to_shanghai_iso
from ...extensions import db
from ...models import Disbursement


def view(d: Disbursement) -> dict:
    """The order as shown (account masked)."""
    return {"orderNo": d.order_no, "status": d.status, "amount": money_str(d.amount), "currency": d.currency,
            "bankCode": d.bank_code, "bankAccountNo": d.account_no_masked, "bankSerialNo": d.bank_serial_no,
            "failReason": d.fail_reason, "completedAt": to_shanghai_iso(d.completed_at)}


def get(order_no: str) -> Disbursement:
    d = db.session.scalar(sa.select(Disbursement).where(Disbursement.order_no == order_no))
    if d is None:
        raise NotFound(f"no disbursement {order_no}")
    return d

