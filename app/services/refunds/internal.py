"""WALLET and CREDIT refund parts (docs/DOMAIN.md §6): our own ledgers, so they are settled at once, in the
transaction that creates the part. WALLET credits the reseller's wallet; CREDIT reduces the credit
record the payment opened (refund_credit: what was already repaid goes to the wallet)."""

from __future__ import annotations

from ...domain.enums import ChannelKind, TransactionStatus, WalletEntryType
from ...models import PaymentOrder, PaymentTransaction, Refund
from ..ledgers import wallet
from ..ledgers.wallet_memos import WalletMemo
from ..platform.actor import Actor
from . import credit as refund_credit
from . import part_settlement as refund_settlement

INTERNAL_KINDS = (ChannelKind.WALLET, ChannelKind.CREDIT)


def execute(part: PaymentTransaction, order: PaymentOrder, orig: PaymentTransaction, refund: Refund, actor: Actor,
            reseller_code: str) -> None:
    """WALLET and CREDIT refunds move money in our own ledgers, in the caller's transaction."""
    amount = -part.amount
    if part.channel_kind == ChannelKind.WALLET:
        entry = wallet.post(order.reseller_id, amount, WalletEntryType.REFUND, reference=part.transaction_id,
                            actor=actor.label, memo=WalletMemo.refund(refund.refund_order_id))
        part.channel_transaction_id = f"WL{entry.id:010d}"
    else:
        refund_credit.refund_credit_part(part, order, orig, refund, actor)
    refund_settlement.apply(part, order, orig, TransactionStatus.SUCCESS, "", actor, reseller_code)
