"""WIRE: a bank transfer. The reseller gets our receiving account and a unique reference code,
uploads a voucher, and finance confirms the amount actually received."""

from __future__ import annotations

from ...domain import numbers
from ...domain.enums import ChannelKind, ChannelPaymentStatus
from ..base import Capabilities, ChannelAdapter, ChannelConfig, InternalLedgers, PaymentRequest, PaymentStart


class WireAdapter(ChannelAdapter):
    kind = ChannelKind.WIRE
    capabilities = Capabilities(needs_voucher=True, supports_partial_refund=True)

    def create_payment(self, cfg: ChannelConfig, req: PaymentRequest,
                       ledgers: InternalLedgers | None = None) -> PaymentStart:
        return PaymentStart(status=ChannelPaymentStatus.PROCESSING, wire_reference=numbers.wire_reference())

    @staticmethod
    def instructions(cfg: ChannelConfig) -> dict:
        """The receiving account shown to the reseller (public information, kept in the config)."""
        return {k: cfg.config.get(k) for k in ("account_name", "account_no", "bank_name")}
