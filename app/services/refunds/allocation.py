"""How a refund instruction is allocated to payment transactions (docs/DOMAIN.md §6): the amount checks
(positive, FULL equals the refundable amount, not above it), the strategy (LATEST: newest SUCCESS
payments first, spilling into older ones; SPECIFIED: the one transaction given, which must be a
successful payment of this order; PROPORTIONAL: in proportion to each transaction's refundable
amount, in cents, largest remainder first, so the parts sum exactly and none exceeds its
transaction) and whether each part's channel may refund it (a WIRE part needs the reseller's refund
account). Raises ValidationFailed (422) or StateConflict (409); stores nothing."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING

from ...domain.enums import ChannelKind, RefundStrategy, RefundType
from ...domain.errors import StateConflict, ValidationFailed
from ...models import Channel, PaymentOrder, PaymentTransaction
from . import wire as refund_wire

if TYPE_CHECKING:
    from .instruction import RefundInstruction

CENT = Decimal("0.01")
REFUNDABLE_KINDS = (ChannelKind.WALLET, ChannelKind.CREDIT, ChannelKind.ONLINE, ChannelKind.WIRE)


def split_latest(txns: list[PaymentTransaction], amount: Decimal) -> list[tuple[PaymentTransaction, Decimal]]:
    """Newest SUCCESS payment transactions first, spilling over to older ones."""
    left, parts = amount, []
    for t in sorted(txns, key=lambda t: (t.completed_at or t.created_at, t.id), reverse=True):
        take = min(left, t.refundable_amount)
        if take > 0:
            parts.append((t, take))
            left -= take
        if left == 0:
            break
    return parts


@dataclass
class _Share:
    """One transaction's proportional share, in cents, while the remainders are handed out."""

    cents: int
    remainder: int
    index: int  # the transaction's place in the list
    txn: PaymentTransaction
    refundable_cents: int


def split_proportional(txns: list[PaymentTransaction],
                       amount: Decimal) -> list[tuple[PaymentTransaction, Decimal]]:
    """In proportion to each transaction's refundable amount, in cents, largest remainder first,
    so that the parts sum exactly to ``amount`` and none exceeds its transaction's refundable amount."""
    rows = [(t, int(t.refundable_amount / CENT)) for t in txns if t.refundable_amount > 0]
    total = sum(c for _, c in rows)
    want = int(amount / CENT)
    if total == 0 or want > total:
        raise StateConflict("nothing (or not enough) left to refund")
    shares = []
    for i, (t, cents) in enumerate(rows):
        q, r = divmod(want * cents, total)
        shares.append(_Share(q, r, i, t, cents))
    left = want - sum(s.cents for s in shares)
    # Largest remainder; ties to the larger refundable amount, then the older transaction.
    for s in sorted(shares, key=lambda s: (-s.remainder, -s.refundable_cents, s.index)):
        if left == 0:
            break
        if s.cents < s.refundable_cents:
            s.cents += 1
            left -= 1
    return [(s.txn, (Decimal(s.cents) * CENT).quantize(CENT, rounding=ROUND_DOWN)) for s in shares if s.cents > 0]


def plan(ins: RefundInstruction, order: PaymentOrder,
          txns: list[PaymentTransaction]) -> list[tuple[PaymentTransaction, Decimal]]:
    refundable = order.refundable_amount
    if ins.amount <= 0:
        raise ValidationFailed("refundAmount must be positive", field="refundAmount")
    if ins.refund_type == RefundType.FULL and ins.amount != refundable:
        raise ValidationFailed(f"a FULL refund must be the refundable amount {refundable:.2f}", field="refundAmount")
    if ins.amount > refundable:
        raise StateConflict(f"refund amount {ins.amount:.2f} exceeds the refundable amount {refundable:.2f} "
                            f"of {order.payment_id}")
    if ins.strategy == RefundStrategy.SPECIFIED:
        if not ins.transaction_id:
            raise ValidationFailed("transactionId is required for the SPECIFIED strategy", field="transactionId")
        target = next((t for t in txns if t.transaction_id == ins.transaction_id), None)
        if target is None:
            raise ValidationFailed(f"{ins.transaction_id} is not a successful payment transaction of "
                                   f"{order.payment_id}", field="transactionId")
        if ins.amount > target.refundable_amount:
            raise StateConflict(f"refund amount {ins.amount:.2f} exceeds the refundable amount "
                                f"{target.refundable_amount:.2f} of transaction {target.transaction_id}")
        return [(target, ins.amount)]
    if ins.transaction_id:
        raise ValidationFailed("transactionId is only allowed with the SPECIFIED strategy", field="transactionId")
    if ins.strategy == RefundStrategy.PROPORTIONAL:
        return split_proportional(txns, ins.amount)
    return split_latest(txns, ins.amount)


def check_channel(orig: PaymentTransaction, part: Decimal, ins: RefundInstruction,
                   channel_rows: dict[int, Channel]) -> None:
    ch = channel_rows.get(orig.channel_id) if orig.channel_id else None
    name = orig.channel_code or "unknown"
    if orig.channel_kind not in REFUNDABLE_KINDS:
        raise StateConflict(f"channel {name} cannot refund")
    if ch is not None and not ch.supports_refund:
        raise StateConflict(f"channel {name} does not support refunds")
    partial = ins.refund_type == RefundType.PARTIAL or part < orig.amount
    if ch is not None and partial and not ch.supports_partial_refund:
        raise StateConflict(f"channel {name} does not support partial refunds")
    if orig.channel_kind == ChannelKind.WIRE:
        refund_wire.refund_account(orig.reseller_id)
