"""CREDIT: the reseller's credit line. Paying books one credit record per order at once."""

from __future__ import annotations

from ...services import credit_line
from ..base import Capabilities, ChannelAdapter, ChannelConfig, PaymentRequest, PaymentStart
from ..registry import register


class CreditAdapter(ChannelAdapter):
    kind = "CREDIT"
    capabilities = Capabilities(settles_immediately=True)

    def create_payment(self, cfg: ChannelConfig, req: PaymentRequest) -> PaymentStart:
        credit_line.book(req.reseller_id, list(req.parts), reference=req.channel_payment_no, actor=req.actor)
        return PaymentStart(status="SUCCESS", channel_transaction_id=f"CL{req.channel_payment_no}")


register(CreditAdapter())
