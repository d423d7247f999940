"""The API representation of payment orders and transactions (docs/API.md §3), shared by the API,
outbox payloads and the audit log."""

from __future__ import annotations

from ...domain import order_status
from ...domain.money import money_str
from ...domain.timeutil import to_shanghai_iso, utcnow
from ...models import PaymentOrder, PaymentTransaction
from ...models.payment_order import NewOrderValues


def is_overdue(order: PaymentOrder | NewOrderValues) -> bool:
    return order_status.is_overdue(order.payment_status, order.payment_deadline, utcnow())


def order_dict(order: PaymentOrder | NewOrderValues, reseller_code: str) -> dict:
    return {
        "paymentId": order.payment_id,
        "orderId": order.order_id,
        "resellerId": reseller_code,
        "paymentType": order.payment_type,
        "paymentAmount": money_str(order.payment_amount),
        "paidAmount": money_str(order.paid_amount),
        "refundedAmount": money_str(order.refunded_amount),
        "actualAmount": money_str(order.actual_amount),
        "remainingAmount": money_str(order.remaining_amount),
        "reservedAmount": money_str(order.reserved_amount),
        "payableAmount": money_str(order.payable_amount),
        "currency": order.currency,
        "paymentStatus": order.payment_status,
        "refundStatus": order.refund_status,
        "paymentDeadline": to_shanghai_iso(order.payment_deadline),
        "businessDesc": order.business_desc,
        "priority": order.priority,
        "relatedBusinessId": order.related_business_id or None,
        "relatedBusinessType": order.related_business_type,
        "businessExpireDate": order.business_expire_date.isoformat() if order.business_expire_date else None,
        "tags": order.tags or {},
        "overdue": is_overdue(order),
        "createdAt": to_shanghai_iso(order.created_at),
        "updatedAt": to_shanghai_iso(order.updated_at),
    }


def transaction_dict(txn: PaymentTransaction, payment_id: str, channel_payment_no: str | None = None,
                     merged_payment_no: str | None = None, original_no: str | None = None) -> dict:
    return {
        "transactionId": txn.transaction_id,
        "paymentId": payment_id,
        "orderId": txn.order_id,
        "transactionType": txn.transaction_type,
        "transactionStatus": txn.status,
        "transactionAmount": money_str(txn.amount),
        "refundableAmount": money_str(txn.refundable_amount),
        "paymentChannel": txn.channel_code,
        "channelTransactionId": txn.channel_transaction_id,
        "mergedPaymentId": merged_payment_no,
        "originalTransactionId": original_no,
        "businessOrderId": txn.business_order_id,
        "createTime": to_shanghai_iso(txn.created_at),
        "completeTime": to_shanghai_iso(txn.completed_at),
        "remark": txn.remark,
    }
