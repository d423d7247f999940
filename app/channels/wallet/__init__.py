"""WALLET: the reseller's deposit ledger. Paying debits it at once, in the checkout's transaction."""

from __future__ import annotations

from ...services import wallet
from ..base import (
    Capabilities,
    ChannelAdapter,
    ChannelConfig,
    PaymentRequest,
    PaymentStart,
    RefundRequest,
    RefundResult,
)
from ..registry import register


class WalletAdapter(ChannelAdapter):
    kind = "WALLET"
    capabilities = Capabilities(settles_immediately=True)

    def create_payment(self, cfg: ChannelConfig, req: PaymentRequest) -> PaymentStart:
        entry = wallet.post(req.reseller_id, -req.amount, "PAYMENT", reference=req.channel_payment_no,
                            actor=req.actor, memo=req.subject)
        return PaymentStart(status="SUCCESS", channel_transaction_id=f"WL{entry.id:010d}")

    def refund(self, cfg: ChannelConfig, req: RefundRequest) -> RefundResult:
        entry = wallet.post(req.reseller_id, req.amount, "REFUND", reference=req.refund_no, actor=req.actor,
                            memo=req.reason)
        return RefundResult(status="SUCCESS", refund_no=req.refund_no, channel_refund_id=f"WL{entry.id:010d}",
                            amount=req.amount)


register(WalletAdapter())
