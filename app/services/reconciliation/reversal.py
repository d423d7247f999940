"""The reversal (docs/DOMAIN.md §8 "Reversal"): money we recorded as received that the channel did not
take — our payment SUCCESS and on no line of the statement (MISSING_IN_CHANNEL), or on a line with a
lower amount (AMOUNT_MISMATCH) — is taken back out of our records. The channel payment's received
amount comes down to the channel's; what is taken back comes first out of the excess the settlement
credited to the wallet, then out of the payment's SUCCESS allocations, latest deadline first (the part
the settlement would have left uncovered had it known); the orders' paid amounts and statuses follow.
The wallet gets a reversing entry (append-only; ``wallet.top_up``'s ADJUST: audited, ``wallet.changed``),
the money-flow day rows come down (``money_flows.record_reversal``), events go out as a settlement's do.
Not a refund: nothing is sent to anyone.

Refused (``ReversalRefused``, 409, nothing changed): nothing left to reverse, money since refunded (or in
a refund), the wallet excess spent, a credit repayment order. Everything is computed under the locks —
run → exception → channel payment → orders (by id) → their allocations → reseller, the settlement's
and the refunds' order — from what is recorded now, and the exception is resolved in the same
transaction: two clicks or two approvals reverse once."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from ...domain import numbers
from ...domain.enums import (
    ChannelPaymentStatus,
    GatewayPaymentStatus,
    PaymentType,
    ReconAction,
    ReconClass,
    TransactionStatus,
    TransactionType,
    WalletEntryType,
)
from ...domain.errors import StateConflict
from ...domain.event_types import EventType
from ...domain.money import ZERO
from ...extensions import db
from ...models import (
    ChannelPayment,
    PaymentOrder,
    PaymentTransaction,
    ReconciliationException,
    ReconciliationRun,
    Reseller,
)
from ...models.types import REASON_LENGTH, now_utc
from ..audit import log as audit
from ..ledgers import money_flows, wallet
from ..ledgers.wallet_memos import WalletMemo
from ..orders.status import apply_status
from ..platform import outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from ..settlement import channel_result as settlement
from ..settlement.order_events import order_event
from .notes import require_note
from .resolution import RESOLVED, ActionDoesNotFit, close, lock_open, wait_for_approval

SUCCESS = GatewayPaymentStatus.SUCCESS.value
NOTHING_TO_REVERSE, REFUNDED_SINCE, WALLET_SPENT, REPAYMENT_ORDER = (
    "NOTHING_TO_REVERSE", "REFUNDED_SINCE", "WALLET_SPENT", "REPAYMENT_ORDER")


class ReversalRefused(StateConflict):
    """The reversal would make something negative, or there is nothing to reverse (``reason``)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message, field="action")
        self.reason = reason


def applies(exc: ReconciliationException, payment_status: str | None, received: Decimal | None) -> bool:
    """Whether a reversal fits the exception's class and its payment now (``received``: what we hold as
    received, ``recorded``): the screen's offer; the amounts are checked again under the locks."""
    if payment_status != ChannelPaymentStatus.SUCCESS or received is None:
        return False
    if exc.exception_class == ReconClass.MISSING_IN_CHANNEL:
        return received > 0
    return (exc.exception_class == ReconClass.AMOUNT_MISMATCH and exc.channel_status == SUCCESS
            and exc.channel_amount is not None and exc.channel_amount < received)


def recorded(cp: ChannelPayment) -> Decimal:
    """What we hold as received for a SUCCESS payment (an ONLINE one without a figure: its amount)."""
    return cp.received_amount if cp.received_amount is not None else cp.amount


def _target(exc: ReconciliationException) -> Decimal:
    return ZERO if exc.exception_class == ReconClass.MISSING_IN_CHANNEL else (exc.channel_amount or ZERO)


def to_reverse(exc: ReconciliationException, cp: ChannelPayment) -> Decimal:
    """The amount a reversal takes back now; refuses when nothing is left (reversed before)."""
    amount = recorded(cp) - _target(exc)
    if amount <= 0:
        raise ReversalRefused(f"payment {cp.channel_payment_id} holds {recorded(cp):.2f} as received, not more "
                              f"than the channel's {_target(exc):.2f}: nothing to reverse", NOTHING_TO_REVERSE)
    return amount


def _allocations(cp: ChannelPayment) -> tuple[list[PaymentTransaction], dict[int, PaymentOrder]]:
    """The payment's SUCCESS allocations, latest payment deadline first, and their orders: the orders
    locked first, then the allocations (a refund's order: order → its payments), read as they are now."""
    paid = sa.and_(PaymentTransaction.channel_payment_id == cp.id,
                   PaymentTransaction.transaction_type == TransactionType.PAYMENT,
                   PaymentTransaction.status == TransactionStatus.SUCCESS)
    orders = settlement.lock_orders(set(db.session.scalars(sa.select(PaymentTransaction.payment_order_id).where(paid))))
    txns = list(db.session.scalars(sa.select(PaymentTransaction).where(paid).order_by(PaymentTransaction.id)
                                   .with_for_update().execution_options(populate_existing=True)))
    far = datetime.max.replace(tzinfo=now_utc().tzinfo)
    txns.sort(key=lambda t: (orders[t.payment_order_id].payment_deadline or far, t.id), reverse=True)
    return txns, orders


def _plan(cp: ChannelPayment, amount: Decimal, txns: list[PaymentTransaction],
          orders: dict[int, PaymentOrder]) -> tuple[Decimal, list[tuple[PaymentTransaction, Decimal]]]:
    """(taken from the wallet excess, [(allocation, taken from it)]); refuses what cannot be taken."""
    excess = max(ZERO, recorded(cp) - cp.amount)
    from_wallet = min(amount, excess)
    left = amount - from_wallet
    parts = []
    for t in txns:
        if left <= 0:
            break
        if orders[t.payment_order_id].payment_type == PaymentType.CREDIT_REPAYMENT:
            raise ReversalRefused(f"order {orders[t.payment_order_id].payment_id} is a credit repayment: reversing "
                                  "it would reopen a credit record, which is not built; write it off",
                                  REPAYMENT_ORDER)
        take = min(left, t.refundable_amount)
        if take > 0:
            parts.append((t, take))
            left -= take
    if left > 0:
        raise ReversalRefused(f"{left:.2f} of payment {cp.channel_payment_id} has been refunded (or is being "
                              "refunded) since: reversing it would make the paid amount less than the refunded",
                              REFUNDED_SINCE)
    return from_wallet, parts


def _reverse_allocation(t: PaymentTransaction, take: Decimal, order: PaymentOrder, why: str,
                        now: datetime) -> PaymentTransaction:
    """Take ``take`` back from a SUCCESS allocation. Returns the FAILED transaction that says so: the
    allocation itself when reversed whole, else a new one beside it (the allocation keeps the rest)."""
    money_flows.record_reversal(t, order.payment_type, take, whole=take == t.amount)
    if take == t.amount:
        failed = t
    else:
        t.amount -= take
        failed = PaymentTransaction(
            transaction_id=numbers.transaction_id(), payment_order_id=t.payment_order_id, order_id=t.order_id,
            reseller_id=t.reseller_id, transaction_type=TransactionType.PAYMENT, amount=take,
            channel_id=t.channel_id, channel_code=t.channel_code, channel_kind=t.channel_kind,
            channel_payment_id=t.channel_payment_id, merged_payment_id=t.merged_payment_id,
            channel_transaction_id=t.channel_transaction_id, remark=f"part of {t.transaction_id} reversed")
        db.session.add(failed)
    failed.status, failed.completed_at, failed.failure_reason = TransactionStatus.FAILED, now, why[:REASON_LENGTH]
    order.paid_amount -= take
    order.last_attempt_failed = order.paid_amount == 0
    return failed


def carry_out(run: ReconciliationRun, exc: ReconciliationException, cp: ChannelPayment, actor: Actor, note: str,
              resolved_by: str | None = None, **detail: object) -> Decimal:
    """Reverse under the caller's locks (run, exception, channel payment) and resolve the exception.
    Re-checks everything; returns the amount reversed."""
    if cp.status != ChannelPaymentStatus.SUCCESS:
        raise StateConflict(f"payment {cp.channel_payment_id} is {cp.status.lower()} now: no reversal applies")
    amount = to_reverse(exc, cp)
    txns, orders = _allocations(cp)
    from_wallet, parts = _plan(cp, amount, txns, orders)
    reseller_id = txns[0].reseller_id if txns else _reseller_of(cp)
    codes = dict(db.session.execute(sa.select(Reseller.id, Reseller.code).where(
        Reseller.id.in_({o.reseller_id for o in orders.values()}))).all())
    if from_wallet > 0:
        try:
            wallet.top_up(actor, reseller_id, -from_wallet, note, WalletEntryType.ADJUST,
                          reference=cp.channel_payment_id,
                          coded=WalletMemo.adjustment(f"reconciliation reversal of {cp.channel_payment_id}"))
        except wallet.InsufficientBalance:
            raise _wallet_spent(cp, from_wallet) from None
    why = (f"reversed by reconciliation: {cp.channel_code} did not take it"
           if exc.exception_class == ReconClass.MISSING_IN_CHANNEL
           else f"reversed by reconciliation: {cp.channel_code} took {exc.channel_amount:.2f}")
    now = now_utc()
    failed = [(orders[t.payment_order_id], _reverse_allocation(t, take, orders[t.payment_order_id], why, now))
              for t, take in parts]
    for order in {o.id: o for o, _ in failed}.values():
        order.updated_at, order.version = now, order.version + 1
        apply_status(order, actor, why)
    for order, t in failed:
        payload = order_event(order, codes[order.reseller_id], t, cp.channel_code)
        payload["reason"] = t.failure_reason
        outbox.emit(EventType.TRANSACTION_FAILED, "transaction", t.transaction_id, payload)
    for order in {o.id: o for o, _ in failed}.values():
        outbox.emit(EventType.PAYMENT_ORDER_STATUS_CHANGED, "payment_order", order.payment_id,
                    order_event(order, codes[order.reseller_id], channel_code=cp.channel_code))
    before = recorded(cp)
    cp.received_amount = _target(exc)
    audit.record(actor, "channel_payment.reversed", "channel_payment", cp.channel_payment_id,
                 {"received": f"{before:.2f}"}, {"received": f"{cp.received_amount:.2f}", "reason": why})
    close(run, exc, actor, ReconAction.REVERSE, note,
          {"payment": cp.channel_payment_id, "reversed": f"{amount:.2f}", "fromWallet": f"{from_wallet:.2f}",
           "orders": sorted(o.payment_id for o, _ in failed), **detail}, resolved_by=resolved_by)
    return amount


def _wallet_spent(cp: ChannelPayment, from_wallet: Decimal) -> ReversalRefused:
    return ReversalRefused(f"the reseller's wallet no longer holds the {from_wallet:.2f} credited as excess of "
                           f"{cp.channel_payment_id}", WALLET_SPENT)


def _reseller_of(cp: ChannelPayment) -> int:
    rid = db.session.scalar(sa.select(PaymentTransaction.reseller_id).where(
        PaymentTransaction.channel_payment_id == cp.id).limit(1))
    if rid is None:
        raise StateConflict(f"payment {cp.channel_payment_id} has no transaction")
    return int(rid)


def reverse(actor: Actor, user_id: int | None, exception_id: int, note: str) -> str:
    """Finance's REVERSE. Returns ``resolved``, or ``waiting`` above the reseller's approval threshold
    (after the refusals are checked: a request that cannot be carried out does not wait)."""
    note = require_note(note)
    with transaction():
        run, exc = lock_open(exception_id)
        cp = settlement.lock_channel_payment(exc.channel_payment_id) if exc.channel_payment_id is not None else None
        if cp is None or not applies(exc, cp.status, recorded(cp)):
            raise ActionDoesNotFit("this action does not fit this difference", field="action")
        amount = to_reverse(exc, cp)
        from_wallet, _ = _plan(cp, amount, *_allocations(cp))  # refused now rather than after the approval
        reseller = db.session.get_one(Reseller, _reseller_of(cp))
        if from_wallet > reseller.wallet_balance:
            raise _wallet_spent(cp, from_wallet)
        if amount > reseller.approval_threshold:
            return wait_for_approval(exc, ReconAction.REVERSE, actor, user_id, note, amount=f"{amount:.2f}")
        carry_out(run, exc, cp, actor, note)
        return RESOLVED
