"""The money invariants of docs/DOMAIN.md §3 and of the ledgers, checked over the whole database: what
the engine tests assert after each scenario and what bench/load_mix.py checks after a load run.

``violations()`` reads every order, transaction, refund, merged and channel payment and wallet entry
in a handful of queries (grouped here, not one query per order: a load run leaves 10^5 orders) and
returns one line per broken rule; an empty list means every rule holds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

import sqlalchemy as sa

from app.domain.enums import ChannelKind, ChannelPaymentStatus, WalletEntryType
from app.domain.order_status import derive_refund_status
from app.extensions import db
from app.models import (
    ChannelPayment,
    CreditEntry,
    CreditRecord,
    Disbursement,
    MergedPayment,
    OutboxEvent,
    PaymentOrder,
    PaymentTransaction,
    Refund,
    Reseller,
    WalletEntry,
)

ZERO = Decimal("0.00")
FINAL_EVENT = {"SUCCESS": "refund.succeeded", "FAILED": "refund.failed"}
PAYOUT_OF_PART = {"SUCCESS": {"SUCCESS"}, "FAILED": {"FAILED"}, "PROCESSING": {"INIT", "PROCESSING", "MANUAL"}}


def violations(refund_events: bool = True) -> list[str]:
    """Every broken invariant, one line each. ``refund_events=False`` leaves out the rule that each
    final refund part has its event (the demo seed's refunds are made without). Reads in the caller's
    session and leaves no transaction open."""
    db.session.expire_all()
    found: list[str] = []
    txns = list(db.session.scalars(sa.select(PaymentTransaction).order_by(PaymentTransaction.id)))
    by_order: dict[int, list[PaymentTransaction]] = defaultdict(list)
    for t in txns:
        by_order[t.payment_order_id].append(t)
    found += _orders(by_order)
    found += _refunds(txns, refund_events)
    found += _merged_payments(txns)
    found += _wallets_and_credit()
    db.session.rollback()
    return found


def _sum(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)


def _orders(by_order: dict[int, list[PaymentTransaction]]) -> list[str]:
    """paid = Σ SUCCESS payments, refunded = −Σ SUCCESS refunds, reserved/refunding = the PROCESSING
    ones, 0 ≤ refunded (+ refunding) ≤ paid ≤ amount, reserved + paid ≤ amount, per payment part
    its refunds, and the refund status follows the figures."""
    found = []
    for o in db.session.scalars(sa.select(PaymentOrder).order_by(PaymentOrder.id)):
        txns = by_order.get(o.id, [])
        pays = [t for t in txns if t.transaction_type == "PAYMENT"]
        refunds = [t for t in txns if t.transaction_type == "REFUND"]
        paid = _sum(t.amount for t in pays if t.status == "SUCCESS")
        reserved = _sum(t.amount for t in pays if t.status == "PROCESSING")
        refunded = -_sum(t.amount for t in refunds if t.status == "SUCCESS")
        refunding = -_sum(t.amount for t in refunds if t.status == "PROCESSING")
        who = f"order {o.payment_id}"
        if o.paid_amount != paid:
            found.append(f"{who}: paidAmount {o.paid_amount} != Σ SUCCESS payments {paid}")
        if o.refunded_amount != refunded:
            found.append(f"{who}: refundedAmount {o.refunded_amount} != −Σ SUCCESS refunds {refunded}")
        if o.reserved_amount != reserved:
            found.append(f"{who}: reservedAmount {o.reserved_amount} != Σ PROCESSING payments {reserved}")
        if o.refunding_amount != refunding:
            found.append(f"{who}: refunding {o.refunding_amount} != −Σ PROCESSING refunds {refunding}")
        if o.refunded_amount + o.refunding_amount > o.paid_amount:
            found.append(f"{who}: refunded {o.refunded_amount} + refunding {o.refunding_amount} > paid {o.paid_amount}")
        if not ZERO <= o.refunded_amount <= o.paid_amount <= o.payment_amount:
            found.append(f"{who}: not 0 <= refunded {o.refunded_amount} <= paid {o.paid_amount} "
                         f"<= amount {o.payment_amount}")
        if o.reserved_amount + o.paid_amount > o.payment_amount:
            found.append(f"{who}: reserved {o.reserved_amount} + paid {o.paid_amount} > amount {o.payment_amount}")
        for p in pays:
            children = [t for t in refunds if t.original_transaction_id == p.id]
            done = -_sum(t.amount for t in children if t.status == "SUCCESS")
            flight = -_sum(t.amount for t in children if t.status == "PROCESSING")
            if (p.refunded_amount, p.refunding_amount) != (done, flight):
                found.append(f"payment part {p.transaction_id}: refunded/refunding {p.refunded_amount}/"
                             f"{p.refunding_amount} != its refund parts {done}/{flight}")
            if p.refunded_amount + p.refunding_amount > p.amount:
                found.append(f"payment part {p.transaction_id}: refunds {p.refunded_amount + p.refunding_amount} "
                             f"> its amount {p.amount}")
        expected = derive_refund_status(paid=o.paid_amount, refunded=o.refunded_amount,
                                        refunding=o.refunding_amount, last_refund_failed=o.last_refund_failed).value
        if o.refund_status != expected:
            found.append(f"{who}: refundStatus {o.refund_status}, its figures say {expected}")
    return found


def _refunds(txns: list[PaymentTransaction], events: bool) -> list[str]:
    """Each REFUND part: negative, on its original SUCCESS payment's order and channel, keyed by its
    refund; a WIRE part has exactly one payout, in the matching state, and other parts none; a final
    part has exactly one refund.succeeded|failed event, a PROCESSING one none. Each refund: its parts
    (before any retry) sum to its amount, at most its amount succeeds or is in flight, and its status
    follows its parts."""
    found: list[str] = []
    parts = [t for t in txns if t.transaction_type == "REFUND"]
    payouts: dict[int | None, list[Disbursement]] = defaultdict(list)
    for d in db.session.scalars(sa.select(Disbursement).where(Disbursement.refund_transaction_id.is_not(None))):
        payouts[d.refund_transaction_id].append(d)
    if not parts and not payouts:
        return found
    by_id: dict[int | None, PaymentTransaction] = {t.id: t for t in txns}
    refunds: dict[int | None, Refund] = {r.id: r for r in db.session.scalars(sa.select(Refund))}
    sent: dict[str, list[str]] = defaultdict(list)
    if events:
        for event_type, payload in db.session.execute(sa.select(OutboxEvent.event_type, OutboxEvent.payload).where(
                OutboxEvent.event_type.in_(FINAL_EVENT.values()))):
            sent[payload["transactionId"]].append(event_type)
    by_refund: dict[int | None, list[PaymentTransaction]] = {r: [] for r in refunds}
    for t in parts:
        who = f"refund part {t.transaction_id}"
        orig, refund = by_id.get(t.original_transaction_id), refunds.get(t.refund_id)
        if refund is None:
            found.append(f"{who}: belongs to no refund")
            continue
        by_refund[refund.id].append(t)
        if t.amount >= 0 or orig is None:
            found.append(f"{who}: amount {t.amount} not negative or no original payment")
            continue
        if (orig.transaction_type, orig.status, orig.payment_order_id) != ("PAYMENT", "SUCCESS", t.payment_order_id):
            found.append(f"{who}: its original {orig.transaction_id} is no SUCCESS payment of the same order")
        if (t.channel_code, t.channel_kind) != (orig.channel_code, orig.channel_kind):
            found.append(f"{who}: channel {t.channel_code} differs from its original's {orig.channel_code}")
        if refund.payment_order_id != t.payment_order_id or t.business_order_id != refund.refund_order_id:
            found.append(f"{who}: order or refund order id differs from its refund {refund.refund_order_id}")
        mine = payouts.pop(t.id, [])
        if t.channel_kind == "WIRE":
            if len(mine) != 1:
                found.append(f"{who}: {len(mine)} payouts (a WIRE part has exactly one)")
            else:
                d = mine[0]
                if d.status not in PAYOUT_OF_PART[t.status]:
                    found.append(f"{who}: {t.status} but its payout is {d.status}")
                if (d.amount, d.source, t.channel_transaction_id) != (-t.amount, "REFUND", d.order_no):
                    found.append(f"{who}: its payout {d.order_no} pays {d.amount}")
        elif mine:
            found.append(f"{who}: a {t.channel_kind} part with {len(mine)} payouts")
        expected = [FINAL_EVENT[t.status]] if t.status in FINAL_EVENT else []
        if events and sent.get(t.transaction_id, []) != expected:
            found.append(f"{who}: events {sent.get(t.transaction_id, [])}, expected {expected}")
    for tid in payouts:
        found.append(f"payout of transaction #{tid}: pays a refund part that does not exist")
    for refund in refunds.values():
        own = by_refund[refund.id]
        who = f"refund {refund.refund_order_id}"
        first = [p for p in own if not (p.remark or "").startswith("retry of ")]
        if -_sum(p.amount for p in first) != refund.amount:
            found.append(f"{who}: its parts sum to {-_sum(p.amount for p in first)}, not {refund.amount}")
        succeeded = -_sum(p.amount for p in own if p.status == "SUCCESS")
        flight = -_sum(p.amount for p in own if p.status == "PROCESSING")
        if succeeded + flight > refund.amount:
            found.append(f"{who}: {succeeded} succeeded + {flight} in flight > its amount {refund.amount}")
        if flight:
            expected_status = "PROCESSING"
        elif succeeded == refund.amount:
            expected_status = "SUCCESS"
        else:
            expected_status = "FAILED" if succeeded == 0 else "PARTIALLY_FAILED"
        if refund.status != expected_status:
            found.append(f"{who}: status {refund.status}, its parts say {expected_status}")
        if (refund.completed_at is None) != (expected_status == "PROCESSING"):
            found.append(f"{who}: completedAt {refund.completed_at} while {expected_status}")
    return found


def _merged_payments(txns: list[PaymentTransaction]) -> list[str]:
    """A merged payment's total = Σ its channel payments = Σ its allocations; each channel payment's
    amount = Σ its allocations (so no allocation is booked twice); only a SUCCESS channel payment has
    SUCCESS allocations (a short wire fails some of its own), and a WALLET one has exactly one wallet
    debit of its amount when SUCCESS (none otherwise, unless released)."""
    found = []
    allocations: dict[int, list[PaymentTransaction]] = defaultdict(list)
    by_cp: dict[int | None, list[PaymentTransaction]] = defaultdict(list)
    for t in txns:
        if t.transaction_type == "PAYMENT" and t.merged_payment_id is not None:
            allocations[t.merged_payment_id].append(t)
            by_cp[t.channel_payment_id].append(t)
    cps_of: dict[int, list[ChannelPayment]] = defaultdict(list)
    for cp in db.session.scalars(sa.select(ChannelPayment).order_by(ChannelPayment.id)):
        cps_of[cp.merged_payment_id].append(cp)
    debits: dict[str | None, list[Decimal]] = defaultdict(list)
    releases: dict[str | None, list[Decimal]] = defaultdict(list)
    for ref, entry_type, amount in db.session.execute(sa.select(
            WalletEntry.reference, WalletEntry.entry_type, WalletEntry.amount).where(
            WalletEntry.entry_type.in_([WalletEntryType.PAYMENT, WalletEntryType.PAYMENT_RELEASE]))):
        (debits if entry_type == WalletEntryType.PAYMENT else releases)[ref].append(amount)
    for mp in db.session.scalars(sa.select(MergedPayment).order_by(MergedPayment.id)):
        cps, allocs = cps_of.get(mp.id, []), allocations.get(mp.id, [])
        by_channels, by_allocs = _sum(cp.amount for cp in cps), _sum(t.amount for t in allocs)
        if not mp.total_amount == by_channels == by_allocs:
            found.append(f"merged payment {mp.merged_payment_id}: total {mp.total_amount}, channel payments "
                         f"{by_channels}, allocations {by_allocs}")
        for cp in cps:
            mine = by_cp.get(cp.id, [])
            who = f"channel payment {cp.channel_payment_id}"
            if cp.amount != _sum(t.amount for t in mine):
                found.append(f"{who}: amount {cp.amount} != Σ its allocations {_sum(t.amount for t in mine)}")
            settled = [t for t in mine if t.status == "SUCCESS"]
            if cp.status != ChannelPaymentStatus.SUCCESS and settled:
                found.append(f"{who}: {cp.status} with {len(settled)} SUCCESS allocations")
            if cp.channel_kind == ChannelKind.WALLET:
                paid = debits.pop(cp.channel_payment_id, [])
                released = releases.pop(cp.channel_payment_id, [])
                if cp.status == ChannelPaymentStatus.SUCCESS and paid != [-cp.amount]:
                    found.append(f"{who}: SUCCESS with wallet debits {paid} (one of {-cp.amount} expected)")
                elif cp.status != ChannelPaymentStatus.SUCCESS and _sum(paid) + _sum(released) != ZERO:
                    found.append(f"{who}: {cp.status} with wallet debits {paid} and releases {released}")
    for ref, paid in debits.items():
        found.append(f"wallet debits {paid} reference {ref}, no WALLET channel payment")
    return found


def _wallets_and_credit() -> list[str]:
    """A wallet's balance = Σ its entries ≥ 0, each entry's balance-after ≥ 0 and the last one's =
    the balance; credit used = Σ credit entries = Σ outstanding of the credit records."""
    found = []
    entries: dict[int, list[tuple[Decimal, Decimal]]] = defaultdict(list)
    for rid, amount, after in db.session.execute(sa.select(
            WalletEntry.reseller_id, WalletEntry.amount, WalletEntry.balance_after).order_by(WalletEntry.id)):
        entries[rid].append((amount, after))
    used = dict(db.session.execute(sa.select(CreditEntry.reseller_id, sa.func.sum(CreditEntry.amount))
                                   .group_by(CreditEntry.reseller_id)).all())
    outstanding = dict(db.session.execute(sa.select(CreditRecord.reseller_id,
                                                    sa.func.sum(CreditRecord.outstanding_amount))
                                          .group_by(CreditRecord.reseller_id)).all())
    for r in db.session.scalars(sa.select(Reseller).order_by(Reseller.id)):
        mine = entries.get(r.id, [])
        total = _sum(a for a, _ in mine)
        if not r.wallet_balance == total >= ZERO:
            found.append(f"reseller {r.code}: wallet balance {r.wallet_balance}, Σ entries {total}")
        if mine and mine[-1][1] != r.wallet_balance:
            found.append(f"reseller {r.code}: last entry's balance {mine[-1][1]} != balance {r.wallet_balance}")
        if any(after < 0 for _, after in mine):
            found.append(f"reseller {r.code}: a wallet entry leaves a negative balance")
        u, o = Decimal(used.get(r.id) or ZERO), Decimal(outstanding.get(r.id) or ZERO)
        if not r.credit_used == u == o:
            found.append(f"reseller {r.code}: credit used {r.credit_used}, Σ entries {u}, Σ outstanding {o}")
    return found
