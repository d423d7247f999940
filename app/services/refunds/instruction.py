"""A refund instruction as the order system sends it (docs/API.md §4), already approved there, and
its fingerprint: the same ``refundOrderId`` with another body is refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ...domain.enums import RefundStrategy, RefundType
from ...domain.money import money_str
from ..platform.idempotency import request_fingerprint


@dataclass(frozen=True)
class RefundInstruction:
    refund_order_id: str
    payment_id: str
    amount: Decimal
    refund_type: str = RefundType.PARTIAL
    strategy: str = RefundStrategy.LATEST
    transaction_id: str | None = None
    reason: str = ""
    approval_info: dict = field(default_factory=dict)

    def fingerprint(self) -> str:
        return request_fingerprint({
            "op": "refund", "refundOrderId": self.refund_order_id, "paymentId": self.payment_id,
            "refundAmount": money_str(self.amount), "refundType": self.refund_type, "strategy": self.strategy,
            "transactionId": self.transaction_id, "refundReason": self.reason, "approvalInfo": self.approval_info,
        })

