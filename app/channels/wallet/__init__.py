"""WALLET: the reseller's deposit ledger. Paying debits it at once, in the checkout's transaction,
through the ledger port the service hands over. Refunds to the wallet are the refund service's own
ledger postings (services/refunds/internal.py), not a channel call."""

from __future__ import annotations

from ...domain.enums import ChannelKind, ChannelPaymentStatus
from ..base import Capabilities, ChannelAdapter, ChannelConfig, InternalLedgers, PaymentRequest, PaymentStart


class WalletAdapter(ChannelAdapter):
    kind = ChannelKind.WALLET
    capabilities = Capabilities(settles_immediately=True)

    def create_payment(self, cfg: ChannelConfig, req: PaymentRequest,
                       ledgers: InternalLedgers | None = None) -> PaymentStart:
        if ledgers is None:
            raise TypeError("the WALLET channel pays through the ledger port")
        entry_id = ledgers.debit_wallet(req.reseller_id, req.amount, req.channel_payment_no, req.actor, req.subject)
        return PaymentStart(status=ChannelPaymentStatus.SUCCESS, channel_transaction_id=f"WL{entry_id:010d}")
