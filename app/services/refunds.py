"""Refunds (DESIGN.md §6, API.md §4): an approved refund instruction split into REFUND transactions
("parts") on the channels of the payment transactions it refunds.

Creation runs in ONE transaction: the payment order is locked (``FOR UPDATE``), then its SUCCESS
PAYMENT transactions (id order); the parts are inserted PROCESSING and counted as ``refunding`` on
the original transaction and on the order. WALLET and CREDIT parts are settled in the same
transaction; ONLINE parts are sent to the gateway after commit and settled by the refund callback
or by the compensation query (``refresh_refund`` / ``compensate_refunds``); WIRE parts become a
payout to the reseller's refund account, inserted in the same transaction, sent after commit and
settled when the payout is final (``refund_wire``).

Settling a part (``settle_refund_part``) is idempotent; its lock order is
refund transaction -> payment order -> original transaction -> reseller.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..channels.base import ChannelError, ChannelUnavailable, RefundRequest, RefundResult
from ..channels.registry import adapter_for
from ..domain.errors import IdempotencyKeyReused, NotFound, StateConflict, ValidationFailed
from ..domain.money import money_str
from ..domain.timeutil import to_shanghai_iso
from ..extensions import db
from ..models import Channel, ChannelPayment, PaymentOrder, PaymentTransaction, Refund, Reseller
from ..models.types import now_utc
from . import audit, channels, ids, outbox, refund_credit, refund_wire, wallet
from .actor import SYSTEM, Actor
from .idempotency import request_fingerprint
from .payment_orders import apply_refund_status
from .tx import transaction

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
ASYNC_KINDS = ("ONLINE", "WIRE")  # parts settled later: by the gateway's refund, or by a payout


@dataclass(frozen=True)
class RefundInstruction:
    refund_order_id: str
    payment_id: str
    amount: Decimal
    refund_type: str = "PARTIAL"  # FULL | PARTIAL
    strategy: str = "LATEST"  # LATEST | SPECIFIED | PROPORTIONAL
    transaction_id: str | None = None
    reason: str = ""
    approval_info: dict = field(default_factory=dict)

    def fingerprint(self) -> str:
        return request_fingerprint({
            "op": "refund", "refundOrderId": self.refund_order_id, "paymentId": self.payment_id,
            "refundAmount": money_str(self.amount), "refundType": self.refund_type, "strategy": self.strategy,
            "transactionId": self.transaction_id, "refundReason": self.reason, "approvalInfo": self.approval_info,
        })


# --- splitting -----------------------------------------------------------------------------------

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
        shares.append([q, r, i, t, cents])
    left = want - sum(s[0] for s in shares)
    # Largest remainder; ties to the larger refundable amount, then the older transaction.
    for s in sorted(shares, key=lambda s: (-s[1], -s[4], s[2])):
        if left == 0:
            break
        if s[0] < s[4]:
            s[0] += 1
            left -= 1
    return [(s[3], (Decimal(s[0]) * CENT).quantize(CENT, rounding=ROUND_DOWN)) for s in shares if s[0] > 0]


# --- creation ------------------------------------------------------------------------------------

def find_refund(refund_order_id: str) -> Refund | None:
    return db.session.scalar(sa.select(Refund).where(Refund.refund_order_id == refund_order_id))


def status_code_of(refund: Refund) -> int:
    """201 when every part settled at once, 202 when some went to an asynchronous channel."""
    kinds = db.session.scalars(sa.select(PaymentTransaction.channel_kind).where(
        PaymentTransaction.refund_id == refund.id)).all()
    return 202 if any(k in ASYNC_KINDS for k in kinds) else 201


def _replay(existing: Refund, fingerprint: str) -> tuple[Refund, int, bool]:
    if existing.request_hash != fingerprint:
        raise IdempotencyKeyReused(f"refundOrderId {existing.refund_order_id} was used for a different request")
    return existing, status_code_of(existing), True


def _lock_order(payment_id: str) -> PaymentOrder:
    o = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.payment_id == payment_id).with_for_update())
    if o is None:
        raise NotFound(f"payment order {payment_id} does not exist")
    return o


def _lock_payments(order_pk: int) -> list[PaymentTransaction]:
    return list(db.session.scalars(
        sa.select(PaymentTransaction).where(PaymentTransaction.payment_order_id == order_pk,
                                            PaymentTransaction.transaction_type == "PAYMENT",
                                            PaymentTransaction.status == "SUCCESS")
        .order_by(PaymentTransaction.id).with_for_update()))


def _plan(ins: RefundInstruction, order: PaymentOrder,
          txns: list[PaymentTransaction]) -> list[tuple[PaymentTransaction, Decimal]]:
    refundable = order.refundable_amount
    if ins.amount <= 0:
        raise ValidationFailed("refundAmount must be positive", field="refundAmount")
    if ins.refund_type == "FULL" and ins.amount != refundable:
        raise ValidationFailed(f"a FULL refund must be the refundable amount {refundable:.2f}", field="refundAmount")
    if ins.amount > refundable:
        raise StateConflict(f"refund amount {ins.amount:.2f} exceeds the refundable amount {refundable:.2f} "
                            f"of {order.payment_id}")
    if ins.strategy == "SPECIFIED":
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
    if ins.strategy == "PROPORTIONAL":
        return split_proportional(txns, ins.amount)
    return split_latest(txns, ins.amount)


def _check_channel(orig: PaymentTransaction, part: Decimal, ins: RefundInstruction,
                   channel_rows: dict[int, Channel]) -> None:
    ch = channel_rows.get(orig.channel_id) if orig.channel_id else None
    name = orig.channel_code or "unknown"
    if orig.channel_kind not in ("WALLET", "CREDIT", "ONLINE", "WIRE"):
        raise StateConflict(f"channel {name} cannot refund")
    if ch is not None and not ch.supports_refund:
        raise StateConflict(f"channel {name} does not support refunds")
    partial = ins.refund_type == "PARTIAL" or part < orig.amount
    if ch is not None and partial and not ch.supports_partial_refund:
        raise StateConflict(f"channel {name} does not support partial refunds")
    if orig.channel_kind == "WIRE":
        refund_wire.refund_account(orig.reseller_id)


def _new_part(refund: Refund, order: PaymentOrder, orig: PaymentTransaction, amount: Decimal,
              remark: str | None = None) -> PaymentTransaction:
    txn = PaymentTransaction(
        transaction_id=ids.transaction_id(), payment_order_id=order.id, order_id=order.order_id,
        reseller_id=order.reseller_id, transaction_type="REFUND", status="PROCESSING", amount=-amount,
        refunded_amount=ZERO, refunding_amount=ZERO, channel_id=orig.channel_id, channel_code=orig.channel_code,
        channel_kind=orig.channel_kind, channel_payment_id=orig.channel_payment_id,
        merged_payment_id=orig.merged_payment_id, original_transaction_id=orig.id, refund_id=refund.id,
        business_order_id=refund.refund_order_id, remark=remark, created_at=now_utc(),
    )
    db.session.add(txn)
    orig.refunding_amount += amount
    order.refunding_amount += amount
    db.session.flush()
    return txn


def _reseller_code(reseller_id: int) -> str:
    return db.session.scalar(sa.select(Reseller.code).where(Reseller.id == reseller_id))


def create_refund(actor: Actor, ins: RefundInstruction) -> tuple[Refund, int, bool]:
    """Create (or replay) a refund. Returns (refund, HTTP status code, duplicate)."""
    fingerprint = ins.fingerprint()
    online_parts: list[int] = []
    payouts: list[str] = []
    try:
        with transaction():
            existing = find_refund(ins.refund_order_id)
            if existing is not None:
                return _replay(existing, fingerprint)
            order = _lock_order(ins.payment_id)
            existing = find_refund(ins.refund_order_id)  # a concurrent twin may have committed meanwhile
            if existing is not None:
                return _replay(existing, fingerprint)
            txns = _lock_payments(order.id)
            plan = _plan(ins, order, txns)
            channel_rows = {c.id: c for c in db.session.scalars(sa.select(Channel).where(
                Channel.id.in_({t.channel_id for t, _ in plan if t.channel_id})))}
            for orig, part in plan:
                _check_channel(orig, part, ins, channel_rows)
            refund = Refund(refund_id=ids.refund_id(), refund_order_id=ins.refund_order_id, client_id=actor.client_id,
                            payment_order_id=order.id, amount=ins.amount, reason=ins.reason[:500],
                            approval_info=ins.approval_info or {}, refund_type=ins.refund_type,
                            strategy=ins.strategy, status="PROCESSING", request_hash=fingerprint,
                            created_at=now_utc())
            db.session.add(refund)
            db.session.flush()
            parts = [_new_part(refund, order, orig, amount) for orig, amount in plan]
            apply_refund_status(order, actor, f"refund {refund.refund_order_id} requested")
            code = _reseller_code(order.reseller_id)
            audit.record(actor, "refund.created", "refund", refund.refund_id, None, {
                "refundOrderId": refund.refund_order_id, "paymentId": order.payment_id,
                "amount": money_str(refund.amount), "strategy": refund.strategy, "type": refund.refund_type,
                "parts": [{"transactionId": p.transaction_id, "amount": money_str(-p.amount)} for p in parts]})
            outbox.emit("refund.created", "refund", refund.refund_id, refund_event(refund, order, code))
            for p, (orig, _) in zip(parts, plan, strict=True):
                if p.channel_kind in ("WALLET", "CREDIT"):
                    _execute_internal(p, order, orig, refund, actor, code)
                elif p.channel_kind == "WIRE":
                    payouts.append(refund_wire.start(actor, p, refund))
                else:
                    online_parts.append(p.id)
            _refresh_refund_status(refund)
            refund_pk = refund.id
            status_code = 202 if online_parts or payouts else 201
    except IntegrityError:
        db.session.rollback()
        existing = find_refund(ins.refund_order_id)
        if existing is None:
            raise
        return _replay(existing, fingerprint)
    for pk in online_parts:
        dispatch_online(pk, actor)
    for order_no in payouts:
        refund_wire.send(order_no)
    refund = db.session.get(Refund, refund_pk)
    return refund, status_code, False


# --- execution -----------------------------------------------------------------------------------

def _execute_internal(part, order, orig, refund, actor, reseller_code) -> None:
    """WALLET and CREDIT refunds move money in our own ledgers, in the caller's transaction."""
    amount = -part.amount
    if part.channel_kind == "WALLET":
        entry = wallet.post(order.reseller_id, amount, "REFUND", reference=part.transaction_id, actor=actor.label,
                            memo=f"refund {refund.refund_order_id}")
        part.channel_transaction_id = f"WL{entry.id:010d}"
    else:
        refund_credit.refund_credit_part(part, order, orig, refund, actor)
    _apply(part, order, orig, "SUCCESS", "", actor, reseller_code)


def _apply(part: PaymentTransaction, order: PaymentOrder, orig: PaymentTransaction, status: str, reason: str,
           actor: Actor, reseller_code: str) -> None:
    amount = -part.amount
    now = now_utc()
    part.status = status
    part.completed_at = now
    orig.refunding_amount -= amount
    order.refunding_amount -= amount
    refund = db.session.get(Refund, part.refund_id)
    if status == "SUCCESS":
        orig.refunded_amount += amount
        order.refunded_amount += amount
        order.last_refund_failed = False
        if order.payment_type == "CREDIT_REPAYMENT":
            refund_credit.reverse_repayment(part, order, orig, refund, actor)
    else:
        part.failure_reason = (reason or "refund failed")[:500]
        order.last_refund_failed = True
    order.updated_at = now
    order.version += 1
    apply_refund_status(order, actor, f"refund part {part.transaction_id} {status.lower()}")
    _refresh_refund_status(refund)
    payload = {**refund_event(refund, order, reseller_code), "transactionId": part.transaction_id,
               "transactionAmount": money_str(amount), "channelInfo": {
                   "channel": part.channel_code, "channelTransactionId": part.channel_transaction_id},
               "reason": part.failure_reason}
    outbox.emit(f"refund.{'succeeded' if status == 'SUCCESS' else 'failed'}", "refund", refund.refund_id, payload)
    audit.record(actor, f"refund_part.{status.lower()}", "transaction", part.transaction_id, None,
                 {"amount": money_str(amount), "refundOrderId": refund.refund_order_id, "reason": reason or None})


def _refresh_refund_status(refund: Refund) -> None:
    """PROCESSING while a part is; SUCCESS when the whole amount succeeded; FAILED when nothing did."""
    rows = db.session.execute(sa.select(PaymentTransaction.status, PaymentTransaction.amount).where(
        PaymentTransaction.refund_id == refund.id)).all()
    succeeded = -sum((a for s, a in rows if s == "SUCCESS"), ZERO)
    if any(s == "PROCESSING" for s, _ in rows):
        new = "PROCESSING"
    elif succeeded >= refund.amount:
        new = "SUCCESS"
    elif succeeded == 0:
        new = "FAILED"
    else:
        new = "PARTIALLY_FAILED"
    refund.status = new
    refund.completed_at = None if new == "PROCESSING" else (refund.completed_at or now_utc())


def refund_event(refund: Refund, order: PaymentOrder, reseller_code: str) -> dict:
    return {"refundId": refund.refund_id, "refundOrderId": refund.refund_order_id, "paymentId": order.payment_id,
            "orderId": order.order_id, "resellerId": reseller_code, "refundAmount": money_str(refund.amount),
            "refundStatus": refund.status, "orderRefundStatus": order.refund_status,
            "paidAmount": money_str(order.paid_amount), "refundedAmount": money_str(order.refunded_amount),
            "completedAt": to_shanghai_iso(refund.completed_at)}


def _lock_txn(txn_pk: int) -> PaymentTransaction:
    t = db.session.scalar(sa.select(PaymentTransaction).where(PaymentTransaction.id == txn_pk).with_for_update())
    if t is None or t.transaction_type != "REFUND":
        raise NotFound("refund transaction does not exist")
    return t


def apply_part_outcome(part: PaymentTransaction, status: str, reason: str, actor: Actor,
                       channel_refund_id: str | None = None) -> bool:
    """Apply a final result to a locked part (in the caller's transaction). False if already final."""
    if part.status != "PROCESSING" or status not in ("SUCCESS", "FAILED"):
        return False
    order = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.id == part.payment_order_id)
                              .with_for_update())
    orig = db.session.scalar(sa.select(PaymentTransaction).where(
        PaymentTransaction.id == part.original_transaction_id).with_for_update())
    if channel_refund_id:
        part.channel_transaction_id = part.channel_transaction_id or channel_refund_id
    _apply(part, order, orig, status, reason, actor, _reseller_code(order.reseller_id))
    return True


def settle_refund_part(txn_pk: int, status: str, reason: str = "", actor: Actor = SYSTEM,
                       channel_refund_id: str | None = None) -> bool:
    """Settle one part in a transaction of its own. Idempotent: False for a part already final."""
    with transaction():
        return apply_part_outcome(_lock_txn(txn_pk), status, reason, actor, channel_refund_id)


def _online_request(part: PaymentTransaction, actor: Actor) -> tuple:
    cfg = channels.config_by_id(part.channel_id)
    cp = db.session.get(ChannelPayment, part.channel_payment_id) if part.channel_payment_id else None
    refund = db.session.get(Refund, part.refund_id)
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    req = RefundRequest(
        refund_no=part.transaction_id, channel_payment_no=cp.channel_payment_id if cp else "",
        channel_transaction_id=cp.channel_transaction_id if cp else None, amount=-part.amount,
        reason=(refund.reason or refund.refund_order_id)[:200],
        notify_url=f"{base}/api/v1/payment/callback/refund/{cfg.code}", reseller_id=part.reseller_id,
        original_transaction_pk=part.original_transaction_id or 0, actor=actor.label)
    return cfg, req


def _apply_result(txn_pk: int, result: RefundResult, actor: Actor) -> str:
    if result.status in ("SUCCESS", "FAILED"):
        settle_refund_part(txn_pk, result.status, result.failure_reason or "", actor, result.channel_refund_id)
        return result.status.lower()
    if result.channel_refund_id:
        with transaction():
            part = _lock_txn(txn_pk)
            part.channel_transaction_id = part.channel_transaction_id or result.channel_refund_id
    return "processing"


def dispatch_online(txn_pk: int, actor: Actor = SYSTEM) -> str:
    """Ask the gateway to refund one PROCESSING part (outside any transaction).
    ChannelUnavailable leaves it PROCESSING for the query job; ChannelError fails it."""
    part = db.session.get(PaymentTransaction, txn_pk)
    if part is None or part.status != "PROCESSING":
        db.session.rollback()
        return "final"
    cfg, req = _online_request(part, actor)
    db.session.rollback()  # no transaction open while talking to the bank
    try:
        result = adapter_for(cfg.kind).refund(cfg, req)
    except ChannelUnavailable as exc:
        log.warning("refund %s left for the query job: %s", req.refund_no, exc)
        return "unavailable"
    except ChannelError as exc:
        settle_refund_part(txn_pk, "FAILED", str(exc), actor)
        return "failed"
    return _apply_result(txn_pk, result, actor)


def refresh_refund(txn_pk: int, actor: Actor = SYSTEM) -> str:
    """Compensation: ask the gateway about one PROCESSING ONLINE part and settle what it says."""
    part = db.session.get(PaymentTransaction, txn_pk)
    if part is None or part.status != "PROCESSING" or part.channel_kind != "ONLINE":
        db.session.rollback()
        return "final"
    cfg, req = _online_request(part, actor)
    db.session.rollback()
    adapter = adapter_for(cfg.kind)
    try:
        result = adapter.query_refund(cfg, req.refund_no)
        if result.status == "NOT_FOUND":  # the request never reached the gateway: send it (idempotent)
            result = adapter.refund(cfg, req)
    except ChannelUnavailable:
        return "unavailable"
    except ChannelError as exc:
        settle_refund_part(txn_pk, "FAILED", str(exc), actor)
        return "failed"
    return _apply_result(txn_pk, result, actor)


def compensate_refunds(older_than_seconds: int = 60, limit: int = 200) -> dict:
    """Query the gateway about ONLINE refund parts still PROCESSING after ``older_than_seconds``."""
    cutoff = now_utc() - timedelta(seconds=older_than_seconds)
    pks = db.session.scalars(sa.select(PaymentTransaction.id).where(
        PaymentTransaction.transaction_type == "REFUND", PaymentTransaction.status == "PROCESSING",
        PaymentTransaction.channel_kind == "ONLINE", PaymentTransaction.created_at <= cutoff)
        .order_by(PaymentTransaction.id).limit(limit)).all()
    db.session.rollback()
    counts: dict[str, int] = {}
    for pk in pks:
        try:
            outcome = refresh_refund(pk)
        except Exception:  # one bad part must not stop the others
            db.session.rollback()
            log.exception("refund compensation failed for transaction %s", pk)
            outcome = "error"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def retry_part(actor: Actor, txn_pk: int) -> PaymentTransaction:
    """Finance retries a FAILED part: a new PROCESSING part for the same amount on the same channel."""
    new_pk = None
    with transaction():
        failed = _lock_txn(txn_pk)
        if failed.status != "FAILED":
            raise StateConflict(f"only a FAILED refund part can be retried ({failed.transaction_id} is "
                                f"{failed.status})")
        order = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.id == failed.payment_order_id)
                                  .with_for_update())
        orig = db.session.scalar(sa.select(PaymentTransaction).where(
            PaymentTransaction.id == failed.original_transaction_id).with_for_update())
        refund = db.session.get(Refund, failed.refund_id)
        amount = -failed.amount
        live = -(db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PaymentTransaction.amount), 0)).where(
            PaymentTransaction.refund_id == refund.id, PaymentTransaction.status.in_(("SUCCESS", "PROCESSING"))))
            or 0)
        if Decimal(live) + amount > refund.amount:
            raise StateConflict(f"refund {refund.refund_order_id} has no failed amount left to retry")
        if amount > orig.refundable_amount:
            raise StateConflict(f"transaction {orig.transaction_id} has only {orig.refundable_amount:.2f} "
                                f"left to refund")
        part = _new_part(refund, order, orig, amount, remark=f"retry of {failed.transaction_id}")
        apply_refund_status(order, actor, f"refund part {failed.transaction_id} retried")
        _refresh_refund_status(refund)
        audit.record(actor, "refund_part.retried", "transaction", failed.transaction_id, None,
                     {"newTransactionId": part.transaction_id, "amount": money_str(amount)})
        payout = None
        if part.channel_kind in ("WALLET", "CREDIT"):
            _execute_internal(part, order, orig, refund, actor, _reseller_code(order.reseller_id))
        elif part.channel_kind == "WIRE":
            payout = refund_wire.start(actor, part, refund)
        new_pk = part.id
    if payout is not None:
        refund_wire.send(payout)
    elif db.session.get(PaymentTransaction, new_pk).channel_kind == "ONLINE":
        dispatch_online(new_pk, actor)
    db.session.expire_all()
    return db.session.get(PaymentTransaction, new_pk)


# --- reading -------------------------------------------------------------------------------------

def refund_dict(refund: Refund) -> dict:
    from .order_view import transaction_dict

    order = db.session.get(PaymentOrder, refund.payment_order_id)
    original = sa.orm.aliased(PaymentTransaction)
    rows = db.session.execute(
        sa.select(PaymentTransaction, ChannelPayment.channel_payment_id, original.transaction_id)
        .outerjoin(ChannelPayment, ChannelPayment.id == PaymentTransaction.channel_payment_id)
        .outerjoin(original, original.id == PaymentTransaction.original_transaction_id)
        .where(PaymentTransaction.refund_id == refund.id).order_by(PaymentTransaction.id)).all()
    return {
        "refundId": refund.refund_id, "refundOrderId": refund.refund_order_id, "paymentId": order.payment_id,
        "refundAmount": money_str(refund.amount), "refundType": refund.refund_type, "strategy": refund.strategy,
        "status": refund.status,
        "parts": [transaction_dict(t, order.payment_id, cp_no, None, orig_no) for t, cp_no, orig_no in rows],
        "createdAt": to_shanghai_iso(refund.created_at), "completedAt": to_shanghai_iso(refund.completed_at),
    }


def get_refund(refund_order_id: str) -> Refund:
    refund = find_refund(refund_order_id)
    if refund is None:
        raise NotFound(f"refund {refund_order_id} does not exist")
    return refund
