"""The producers: what each announced change tells whom (docs/DOMAIN.md "Notifications"). Each runs
in the transaction of the change it announces."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ...domain.enums import Role
from ...models import MergedPayment
from ..platform.actor import Actor
from .kinds import NotificationKind
from .sending import notify_company


def on_merged_completed(mp: MergedPayment, actor: Actor) -> None:
    """A payment's result: every user of the paying company (``merged_status.on_completed``)."""
    notify_company(mp.reseller_id, NotificationKind.PAYMENT_RESULT,
                   {"mergedPaymentId": mp.merged_payment_id, "status": str(mp.status),
                    "totalAmount": f"{mp.total_amount:.2f}"})


def approval_waiting(reseller_id: int, merged_payment_id: str, total: Decimal) -> None:
    """A payment above the threshold waits: the company's approvers."""
    notify_company(reseller_id, NotificationKind.APPROVAL_WAITING,
                   {"mergedPaymentId": merged_payment_id, "totalAmount": f"{total:.2f}"},
                   roles=(Role.RESELLER_APPROVER.value,))


def voucher_rejected(reseller_id: int, merged_payment_id: str, channel_payment_id: str, reason: str) -> None:
    notify_company(reseller_id, NotificationKind.VOUCHER_REJECTED,
                   {"mergedPaymentId": merged_payment_id, "channelPaymentId": channel_payment_id, "reason": reason})


def statement_ready(reseller_id: int, document_number: str, month: str) -> None:
    notify_company(reseller_id, NotificationKind.STATEMENT_READY, {"documentNumber": document_number, "month": month})


def deadline_reminder(reseller_id: int, payment_id: str, order_id: str, stage: str, deadline: datetime | None,
                      payable: Decimal) -> None:
    notify_company(reseller_id, NotificationKind.DEADLINE_REMINDER,
                   {"paymentId": payment_id, "orderId": order_id, "stage": stage,
                    "deadline": deadline.isoformat() if deadline else None, "payableAmount": f"{payable:.2f}"})
