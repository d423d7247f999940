"""The reseller cancels a merged payment before anything is paid (docs/DOMAIN.md §4)."""

from __future__ import annotations

import sqlalchemy as sa

from ...channels.base import ChannelUnavailable
from ...channels.registry import adapter_for
from ...domain.enums import ChannelKind, ChannelPaymentStatus, GatewayPaymentStatus, MergedPaymentStatus, VoucherStatus
from ...domain.errors import StateConflict
from ...extensions import db
from ...models import Voucher
from ..audit import log as audit
from ..channel_config import lookup as channel_config
from ..platform.actor import Actor
from ..platform.unit_of_work import end_read, transaction
from ..settlement import channel_result as settlement
from .approval import find_merged_payment, lock_channel_payments


def cancel(actor: Actor, reseller_id: int, merged_payment_id: str) -> None:
    """Cancel before anything is paid. ONLINE payments are asked at the bank first: one that the bank
    has taken (or is still processing) cannot be cancelled."""
    mp = find_merged_payment(merged_payment_id, reseller_id)
    if mp.status not in (MergedPaymentStatus.PENDING_APPROVAL, MergedPaymentStatus.PROCESSING):
        raise StateConflict(f"a {mp.status} payment cannot be cancelled")
    online = [(cp.id, cp.channel_payment_id, cp.channel_id) for cp in mp.channel_payments
              if cp.channel_kind == ChannelKind.ONLINE and cp.status == ChannelPaymentStatus.PROCESSING and cp.pay_url]
    end_read()
    for cp_pk, number, channel_id in online:
        with transaction():
            cfg = channel_config.config_by_id(channel_id)
        try:
            result = adapter_for(ChannelKind.ONLINE).query_payment(cfg, number)
        except ChannelUnavailable:
            raise StateConflict("the bank cannot be reached to confirm nothing was paid; try again later") from None
        if result.status == GatewayPaymentStatus.SUCCESS:
            settlement.settle(cp_pk, settlement.Outcome(status=ChannelPaymentStatus.SUCCESS, channel_transaction_id=
                                                        result.channel_transaction_id), actor)
            raise StateConflict("the bank has already received this payment; it cannot be cancelled")
        if result.status == GatewayPaymentStatus.PROCESSING:
            raise StateConflict("the bank is still processing this payment; it cannot be cancelled now")
    with transaction():
        mp = find_merged_payment(merged_payment_id, reseller_id)
        cps = lock_channel_payments(mp.id)
        if any(cp.status == ChannelPaymentStatus.SUCCESS for cp in cps):
            raise StateConflict("part of this payment has been paid; it can no longer be cancelled")
        waiting_voucher = db.session.scalar(sa.select(sa.func.count()).select_from(Voucher).where(
            Voucher.channel_payment_id.in_([cp.id for cp in cps]), Voucher.status == VoucherStatus.PENDING))
        if waiting_voucher:
            raise StateConflict("a wire voucher is waiting for finance; it can no longer be cancelled")
        for cp in cps:
            settlement.apply(cp, settlement.Outcome(status=ChannelPaymentStatus.CANCELLED,
                                                    reason="cancelled by the reseller"), actor)
        audit.record(actor, "merged_payment.cancel", "merged_payment", merged_payment_id, None, None)

