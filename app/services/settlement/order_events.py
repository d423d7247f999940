"""The payload of the order notifications settlement sends (transaction.succeeded|failed,
payment_order.status_changed): the seed contract of the order system (docs/DOMAIN.md §7)."""

from __future__ import annotations

from ...domain.timeutil import to_shanghai_iso
from ...models import PaymentOrder, PaymentTransaction


def order_event(order: PaymentOrder, reseller_code: str, txn: PaymentTransaction | None = None,
                channel_code: str | None = None) -> dict:
    return {
        "paymentId": order.payment_id, "orderId": order.order_id, "resellerId": reseller_code,
        "paymentStatus": order.payment_status, "paymentType": order.payment_type,
        "paymentAmount": f"{order.payment_amount:.2f}", "paidAmount": f"{order.paid_amount:.2f}",
        "remainingAmount": f"{order.remaining_amount:.2f}", "reservedAmount": f"{order.reserved_amount:.2f}",
        "paymentTime": to_shanghai_iso(txn.completed_at) if txn is not None else None,
        "channelInfo": {"channel": channel_code or (txn.channel_code if txn is not None else None),
                        "channelTransactionId": txn.channel_transaction_id if txn is not None else None},
        "transactionId": txn.transaction_id if txn is not None else None,
    }
