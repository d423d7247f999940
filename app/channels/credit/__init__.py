"""CREDIT: the reseller's credit line. Paying books one credit record per order at once, through
the ledger port the service hands over."""

from __future__ import annotations

from ...domain.enums import ChannelKind, ChannelPaymentStatus
from ..base import Capabilities, ChannelAdapter, ChannelConfig, InternalLedgers, PaymentRequest, PaymentStart


class CreditAdapter(ChannelAdapter):
    kind = ChannelKind.CREDIT
    capabilities = Capabilities(settles_immediately=True)

    def create_payment(self, cfg: ChannelConfig, req: PaymentRequest,
                       ledgers: InternalLedgers | None = None) -> PaymentStart:
        if ledgers is None:
            raise TypeError("the CREDIT channel pays through the ledger port")
        ledgers.book_credit(req.reseller_id, req.parts, req.channel_payment_no, req.actor)
        return PaymentStart(status=ChannelPaymentStatus.SUCCESS, channel_transaction_id=f"CL{req.channel_payment_no}")
