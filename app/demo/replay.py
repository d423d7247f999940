"""Replays the demo plan (``demo_plan``) on new rows, in time order, the way the services would:
reservations, settlements, refunds, STOP/FREEZE, wallet and credit ledgers, and a status-log row
for every change. Amounts are always the sums of the transactions and statuses are derived by
``domain.order_status``, so every order satisfies the invariants of docs/DOMAIN.md §3."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import TypeVar

import sqlalchemy as sa

from ..domain.enums import (
    ChannelKind,
    CreditEntryType,
    CreditRecordStatus,
    MergedPaymentStatus,
    OrderAction,
    PaymentStatus,
    PaymentType,
    RefundOrderStatus,
    RefundStatus,
    RefundStrategy,
    RefundType,
    RelatedBusinessType,
    Role,
    TransactionStatus,
    TransactionType,
    WalletEntryType,
)
from ..domain.enums import ChannelPaymentStatus as CP
from ..domain.errors import ValidationFailed
from ..domain.order_status import ADMINISTRATIVE, derive_payment_status, derive_refund_status
from ..domain.payment_states import (
    EVENT_FOR_OUTCOME,
    merged_event_for,
    next_channel_payment_status,
    next_merged_status,
)
from ..domain.timeutil import SHANGHAI, shanghai_today, to_shanghai_iso
from ..extensions import db
from ..models import (
    Channel,
    ChannelPayment,
    CreditEntry,
    CreditRecord,
    MergedPayment,
    PaymentOrder,
    PaymentTransaction,
    Refund,
    Reseller,
    StatusLog,
    User,
    WalletEntry,
)
from ..models.base import Model
from ..services.ledgers import money_flows
from ..services.ledgers.wallet_memos import WalletMemo
from ..services.platform.idempotency import request_fingerprint
from . import data as demo_data
from .plan_types import MergedPlan, OrderPlan, Piece, Plan

SYSTEM_LABEL = "system:demo-seed"
UPSTREAM = f"api_client:{demo_data.API_CLIENT_NAME}"
FINANCE = "user:finance@example.com"
ZERO = Decimal("0.00")
R = TypeVar("R", bound=Model)
WIRE_EXCESS = Decimal("12345.67")  # one wire arrives with more than was due (超额支付处理)


def _completed_at(txn: PaymentTransaction) -> datetime:
    assert txn.completed_at is not None  # a SUCCESS payment transaction, completed when it settled
    return txn.completed_at


class Replay:
    """Replays the plan in time order on new (not yet flushed) rows, then inserts them in five
    batches, resolving foreign keys stage by stage: 0 orders, merged payments, wallet entries;
    1 channel payments, refunds, status log; 2 payment transactions; 3 refund transactions,
    credit records; 4 credit entries."""

    def __init__(self, now: datetime, client_id: int):
        self.now, self.client_id = now, client_id
        self.rng = random.Random(demo_data.SEED + 1)  # business numbers, kept apart from the plan's choices
        self.resellers = {r.code: r for r in db.session.scalars(
            sa.select(Reseller).where(Reseller.code.in_([s["code"] for s in demo_data.RESELLERS])))}
        self.channels = {c.code: c for c in db.session.scalars(sa.select(Channel))}
        users = {u.email: u.id for u in db.session.scalars(sa.select(User).where(
            User.email.in_([u[0] for u in demo_data.USERS])))}
        self.user_ids = {(role, code): users.get(email) for email, role, code, _ in demo_data.USERS}
        self.user_labels = {code: f"user:{email}" for email, role, code, _ in demo_data.USERS
                            if role == Role.RESELLER_OPERATOR}
        self.wallet = {code: r.wallet_balance for code, r in self.resellers.items()}
        self.wallet_at: dict[str, datetime] = {}
        self.used = {code: r.credit_used for code, r in self.resellers.items()}
        self.stages: list[list] = [[] for _ in range(5)]
        self.fks: dict[int, dict] = {}
        self.orders: dict[OrderPlan, PaymentOrder] = {}
        self.txns: dict[Piece, PaymentTransaction] = {}
        self.mps: dict[MergedPlan, MergedPayment] = {}
        self.cps: dict[tuple[MergedPlan, str], ChannelPayment] = {}
        self.records: dict[str, CreditRecord] = {}
        self.record_ids: dict[OrderPlan, str] = {}
        self.wallet_payments: list[tuple[WalletEntry, ChannelPayment, list[PaymentTransaction]]] = []
        self.excess_done = False

    # -- rows and numbers ----------------------------------------------------------------------
    def _new(self, stage: int, row: R, **fks: Model) -> R:
        self.stages[stage].append(row)
        self.fks[id(row)] = fks
        return row

    def _no(self, prefix: str, t: datetime) -> str:
        return f"{prefix}{t.astimezone(SHANGHAI):%Y%m%d}{self.rng.randrange(10**12):012d}"

    def _gateway_no(self, prefix: str, t: datetime) -> str:
        """The sandbox gateway's numbers: prefix, Shanghai time to the second, 8 digits."""
        return f"{prefix}{t.astimezone(SHANGHAI):%Y%m%d%H%M%S}{self.rng.randrange(10**8):08d}"

    def _wire_reference(self) -> str:
        return "W" + "".join(self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))

    def run(self, plan: Plan) -> dict[str, int]:
        self.record_ids = {c.order: c.record_id for c in plan.credits}
        # (when, tie-break rank, handler, its arguments)
        events: list[tuple[datetime, int, Callable[..., object], tuple]] = [
            (o.created, 1, self._create, (o,)) for o in plan.orders]
        for spec in demo_data.RESELLERS:
            if spec["opening_topup"] and spec["code"] in self.resellers:
                t = self.now - timedelta(days=91)
                events.append((t, 0, self._wallet, (spec["code"], spec["opening_topup"], WalletEntryType.TOPUP, None,
                                                    "开户首笔寄存资金（银行转账）", FINANCE, t)))
        for m in plan.merged:
            events.append((m.created, 2, self._submit, (m,)))
            for code, pieces in m.by_channel().items():
                if pieces[0].settled:
                    events.append((pieces[0].settled, 3, self._settle, (m, code)))
        events += [(o.extra_when, 4, self._extra, (o,)) for o in plan.orders if o.extra]
        for _, _, handler, args in sorted(events, key=lambda e: (e[0], e[1])):
            handler(*args)
        for spec in demo_data.RESELLERS:  # a recent top-up leaves the opening amount available for the demo
            code, target = spec["code"], spec["opening_topup"]
            if target and code in self.resellers and self.wallet[code] < target:
                steps = ((target - self.wallet[code]) / Decimal("100000")).to_integral_value(ROUND_CEILING)
                amount = steps * Decimal("100000.00")
                t = max(self.now - timedelta(days=1), self.wallet_at[code] + timedelta(minutes=1))
                self._wallet(code, amount, WalletEntryType.TOPUP, None, "寄存资金充值（银行转账）", FINANCE, t)
        return self._insert()

    def _insert(self) -> dict[str, int]:
        today = shanghai_today()
        for rec in self.records.values():
            rec.status = (CreditRecordStatus.REPAID if rec.outstanding_amount == 0
                          else CreditRecordStatus.OVERDUE if rec.due_date < today else CreditRecordStatus.OPEN)
        for code, r in self.resellers.items():
            r.wallet_balance, r.credit_used = self.wallet[code], self.used[code]
        counts: Counter[str] = Counter()
        for i, stage in enumerate(self.stages):
            for row in stage:
                for attr, target in self.fks[id(row)].items():
                    setattr(row, attr, target.id)
                counts[row.__tablename__] += 1
            db.session.add_all(stage)
            db.session.flush()
            if i == 0:  # as the wallet adapter does: the transaction id is WL + the wallet entry's id
                for entry, cp, txns in self.wallet_payments:
                    paid_rows: list[ChannelPayment | PaymentTransaction] = [cp, *txns]
                    for row in paid_rows:
                        row.channel_transaction_id = f"WL{entry.id:010d}"
        money_flows.rebuild()  # the finance desk's day rows, which settlement keeps, for the rows written here
        return dict(counts)

    # -- events --------------------------------------------------------------------------------
    def _create(self, o: OrderPlan) -> None:
        row = PaymentOrder(
            payment_id=self._no("PAY", o.created), order_id=o.order_id, reseller_id=self.resellers[o.reseller].id,
            payment_type=o.payment_type, payment_amount=o.amount, paid_amount=ZERO, refunded_amount=ZERO,
            reserved_amount=ZERO, refunding_amount=ZERO, currency="CNY", payment_status=PaymentStatus.UNPAID,
            refund_status=RefundStatus.NO_REFUND, last_attempt_failed=False, last_refund_failed=False,
            payment_deadline=o.deadline, business_desc=o.desc, priority=o.priority, related_business_id=o.related_id,
            related_business_type=RelatedBusinessType.CREDIT_RECORD if o.related_id else None,
            business_expire_date=o.expire_date, tags=o.tags, created_by_client_id=self.client_id, version=1,
            created_at=o.created, updated_at=o.created)
        self.orders[o] = self._new(0, row)
        self._log(row, "payment", None, PaymentStatus.UNPAID, "created", UPSTREAM, o.created)

    def _submit(self, m: MergedPlan) -> None:
        reseller = self.resellers[m.reseller]
        pending = m.pieces[0].outcome == CP.PENDING
        mp = self._new(0, MergedPayment(
            merged_payment_id=self._no("MP", m.created), reseller_id=reseller.id,
            status=MergedPaymentStatus.PENDING_APPROVAL if pending else MergedPaymentStatus.PROCESSING,
            total_amount=m.total, created_by_user_id=self.user_ids.get((Role.RESELLER_OPERATOR, m.reseller)),
            approved_by_user_id=self.user_ids.get((Role.RESELLER_APPROVER, m.reseller)) if m.approved else None,
            approved_at=m.submitted if m.approved else None, created_at=m.created, updated_at=m.submitted))
        self.mps[m] = mp
        actor = self.user_labels.get(m.reseller, SYSTEM_LABEL)
        for code, pieces in m.by_channel().items():
            ch = self.channels[code]
            online = ch.kind == ChannelKind.ONLINE and not pending
            cp = self._new(1, ChannelPayment(
                channel_payment_id=self._no("CP", m.created), channel_id=ch.id, channel_code=code,
                channel_kind=ch.kind, amount=sum((p.amount for p in pieces), ZERO),
                status=CP.PENDING if pending else CP.PROCESSING,
                channel_transaction_id=self._gateway_no("GW", m.submitted) if online else None,
                wire_reference=self._wire_reference() if ch.kind == ChannelKind.WIRE else None,
                expires_at=None if pending else m.submitted + timedelta(seconds=ch.expire_seconds),
                confirm_due_at=m.submitted + timedelta(seconds=ch.confirm_timeout_seconds) if online else None,
                created_at=m.created, updated_at=m.submitted), merged_payment_id=mp)
            self.cps[(m, code)] = cp
            for p in pieces:
                order = self.orders[p.order]
                self.txns[p] = self._new(2, PaymentTransaction(
                    transaction_id=self._no("TXN", m.created), order_id=order.order_id, reseller_id=reseller.id,
                    transaction_type=TransactionType.PAYMENT, status=TransactionStatus.PROCESSING, amount=p.amount,
                    refunded_amount=ZERO,
                    refunding_amount=ZERO, channel_id=ch.id, channel_code=code, channel_kind=ch.kind,
                    channel_transaction_id=cp.channel_transaction_id, created_at=m.created),
                    payment_order_id=order, channel_payment_id=cp, merged_payment_id=mp)
                order.reserved_amount += p.amount
                self._derive(order, m.created, actor, f"merged payment {mp.merged_payment_id} submitted")

    def _settle(self, m: MergedPlan, code: str) -> None:
        cp, pieces = self.cps[(m, code)], m.by_channel()[code]
        t, outcome, kind = pieces[0].settled_at, pieces[0].outcome, cp.channel_kind
        success = outcome == CP.SUCCESS
        cp.status = next_channel_payment_status(cp.status, EVENT_FOR_OUTCOME[CP(outcome)])
        cp.completed_at, cp.updated_at = t, t
        excess = ZERO
        if not success:
            cp.failure_reason = self.rng.choice(demo_data.FAIL_REASONS)
        elif kind == ChannelKind.CREDIT:
            cp.channel_transaction_id = f"CL{cp.channel_payment_id}"
        elif kind == ChannelKind.WIRE:
            cp.channel_transaction_id = cp.wire_reference
            if not self.excess_done and m.reseller == "R1001":
                excess, self.excess_done = WIRE_EXCESS, True
            cp.received_amount = cp.amount + excess
        actors: dict[str, str] = {ChannelKind.ONLINE: f"channel:{code}", ChannelKind.WIRE: FINANCE}
        actor = actors.get(kind, self.user_labels.get(m.reseller, ""))
        reason = f"channel payment {cp.channel_payment_id} " + ("succeeded" if success else "failed")
        mp = self.mps[m]
        if success and kind == ChannelKind.WALLET:  # one debit per channel payment, as the wallet adapter posts it
            entry = self._wallet(m.reseller, -cp.amount, WalletEntryType.PAYMENT, cp.channel_payment_id,
                                 WalletMemo.payment(f"{self.resellers[m.reseller].name} · {mp.merged_payment_id}"),
                                 actor, t)
            self.wallet_payments.append((entry, cp, [self.txns[p] for p in pieces]))
        for p in pieces:
            txn, order = self.txns[p], self.orders[p.order]
            txn.status = TransactionStatus.SUCCESS if success else TransactionStatus.FAILED
            txn.completed_at, txn.failure_reason = t, cp.failure_reason
            txn.channel_transaction_id = cp.channel_transaction_id
            order.reserved_amount -= p.amount
            order.last_attempt_failed = not success
            if success:
                order.paid_amount += p.amount
                if kind == ChannelKind.CREDIT:
                    self._use_credit(p, order, txn, cp.channel_payment_id, actor, t)
                if order.payment_type == PaymentType.CREDIT_REPAYMENT:
                    self._repay(m.reseller, order, p.amount, txn, actor, t)
            self._derive(order, t, actor, reason)
        if excess:
            self._wallet(m.reseller, excess, WalletEntryType.EXCESS, cp.channel_payment_id,
                         WalletMemo.excess_of_wire(cp.wire_reference), FINANCE, t)
        event = merged_event_for(c.status for (mm, _), c in self.cps.items() if mm is m)
        if event is not None:
            mp.status = next_merged_status(mp.status, event)
            mp.completed_at = mp.updated_at = t

    def _extra(self, o: OrderPlan) -> None:
        order = self.orders[o]
        if o.extra in (OrderAction.STOP, OrderAction.FREEZE):
            status = PaymentStatus.STOPPED if o.extra == OrderAction.STOP else PaymentStatus.FROZEN
            self._set_status(order, status, o.extra_when, UPSTREAM, f"{o.extra.lower()}: {o.extra_reason}")
        else:
            self._refund(o, order)

    def _refund(self, o: OrderPlan, order: PaymentOrder) -> None:
        """A refund instruction executed with the LATEST strategy: newest payments first."""
        t, amount = o.extra_when, o.refund_amount
        full = amount == order.paid_amount - order.refunded_amount
        body = {"refundOrderId": f"RO-{self.rng.randrange(10**6):06d}", "paymentId": order.payment_id,
                "refundAmount": f"{amount:.2f}", "refundReason": o.extra_reason,
                "approvalInfo": {"approver": self.rng.choice(demo_data.APPROVERS),
                                 "approvedAt": to_shanghai_iso(t - timedelta(hours=2))},
                "refundType": RefundType.FULL if full else RefundType.PARTIAL, "strategy": RefundStrategy.LATEST,
                "transactionId": None}
        refund = self._new(1, Refund(
            refund_id=self._no("RF", t), refund_order_id=body["refundOrderId"], client_id=self.client_id,
            amount=amount, reason=o.extra_reason, approval_info=body["approvalInfo"], refund_type=body["refundType"],
            strategy=RefundStrategy.LATEST, status=RefundOrderStatus.SUCCESS, request_hash=request_fingerprint(body),
            created_at=t),
            payment_order_id=order)
        paid = sorted((x for p, x in self.txns.items() if p.order is o and x.status == TransactionStatus.SUCCESS),
                      key=_completed_at, reverse=True)
        left, done = amount, t
        for orig in paid:
            take = min(left, orig.refundable_amount)
            if take <= 0:
                continue
            online = orig.channel_kind == ChannelKind.ONLINE
            finished = t + (timedelta(minutes=10) if online else timedelta(seconds=2))
            rtx = self._new(3, PaymentTransaction(
                transaction_id=self._no("TXN", t), order_id=order.order_id, reseller_id=order.reseller_id,
                transaction_type=TransactionType.REFUND, status=TransactionStatus.SUCCESS, amount=-take,
                refunded_amount=ZERO,
                refunding_amount=ZERO, channel_id=orig.channel_id, channel_code=orig.channel_code,
                channel_kind=orig.channel_kind, business_order_id=refund.refund_order_id, remark=o.extra_reason,
                channel_transaction_id=self._gateway_no("GR", t) if online else None,
                created_at=t, completed_at=finished), payment_order_id=order, original_transaction_id=orig,
                refund_id=refund)
            orig.refunded_amount += take
            if orig.channel_kind == ChannelKind.WALLET:
                self._wallet(o.reseller, take, WalletEntryType.REFUND, rtx.transaction_id,
                             WalletMemo.refund(refund.refund_order_id), UPSTREAM, finished)
            left, done = left - take, max(done, finished)
        if left:
            raise RuntimeError(f"demo plan refunds more than was paid on {order.order_id}")
        refund.completed_at = done
        if done > t:  # an ONLINE refund is asynchronous: REFUNDING until the gateway answers
            order.refunding_amount += amount
            self._derive_refund(order, t, UPSTREAM, f"refund {refund.refund_order_id} requested")
            order.refunding_amount -= amount
        order.refunded_amount += amount
        self._derive_refund(order, done, UPSTREAM, f"refund {refund.refund_order_id} succeeded")

    # -- ledgers -------------------------------------------------------------------------------
    def _wallet(self, code: str, amount: Decimal, entry_type: str, reference: str | None, memo: WalletMemo | str,
                actor: str, t: datetime) -> WalletEntry:
        memo = WalletMemo.free_text(memo) if isinstance(memo, str) else memo
        reseller = self.resellers[code]
        if self.wallet[code] + amount < 0:  # the reseller tops up before paying (never negative)
            short = -(self.wallet[code] + amount)
            topup = (short // Decimal("500000") + 2) * Decimal("500000.00")
            before = max(t - timedelta(minutes=30), self.wallet_at.get(code, t) + timedelta(seconds=1))
            self._wallet(code, topup, WalletEntryType.TOPUP, None, "寄存资金充值（银行转账）", FINANCE, min(before, t))
        self.wallet[code] += amount
        self.wallet_at[code] = t
        return self._new(0, WalletEntry(reseller_id=reseller.id, entry_type=entry_type, amount=amount,
                                        balance_after=self.wallet[code], reference=reference, memo=memo.text,
                                        memo_code=memo.code, memo_params=memo.params or None, actor=actor,
                                        created_at=t))

    def _use_credit(self, p: Piece, order: PaymentOrder, txn: PaymentTransaction, reference: str, actor: str,
                    t: datetime) -> None:
        reseller = self.resellers[p.order.reseller]
        if self.used[reseller.code] + p.amount > reseller.credit_limit:
            raise ValidationFailed(f"reseller {reseller.code} has too little credit for the demo data set")
        rec = self._new(3, CreditRecord(
            credit_record_id=self.record_ids[p.order], reseller_id=reseller.id, order_id=order.order_id,
            amount=p.amount, outstanding_amount=p.amount, status=CreditRecordStatus.OPEN, created_at=t, updated_at=t,
            due_date=t.astimezone(SHANGHAI).date() + timedelta(days=reseller.credit_term_days)),
            payment_order_id=order, transaction_id=txn)
        self.records[rec.credit_record_id] = rec
        self._credit_entry(reseller, rec, CreditEntryType.USE, p.amount, reference, actor, t)

    def _repay(self, code: str, order: PaymentOrder, amount: Decimal, txn: PaymentTransaction, actor: str,
               t: datetime) -> None:
        rec = self.records[order.related_business_id]
        rec.outstanding_amount -= amount
        rec.updated_at = t
        self._credit_entry(self.resellers[code], rec, CreditEntryType.REPAY, -amount, txn.transaction_id, actor, t)

    def _credit_entry(self, reseller: Reseller, rec: CreditRecord, entry_type: str, amount: Decimal,
                      reference: str, actor: str, t: datetime) -> None:
        self.used[reseller.code] += amount
        self._new(4, CreditEntry(reseller_id=reseller.id, entry_type=entry_type, amount=amount,
                                 used_after=self.used[reseller.code], reference=reference, actor=actor,
                                 created_at=t), credit_record_id=rec)

    # -- statuses ------------------------------------------------------------------------------
    def _log(self, order: PaymentOrder, kind: str, old: str | None, new: str, reason: str, actor: str,
             t: datetime) -> None:
        self._new(1, StatusLog(field=kind, from_status=old, to_status=new, reason=reason, actor=actor, created_at=t),
                  payment_order_id=order)

    def _derive(self, order: PaymentOrder, t: datetime, actor: str, reason: str) -> None:
        if order.payment_status not in ADMINISTRATIVE:
            status = derive_payment_status(amount=order.payment_amount, paid=order.paid_amount,
                                           reserved=order.reserved_amount,
                                           last_attempt_failed=order.last_attempt_failed).value
            self._set_status(order, status, t, actor, reason)
        order.updated_at = t

    def _set_status(self, order: PaymentOrder, status: str, t: datetime, actor: str, reason: str) -> None:
        if status != order.payment_status:
            self._log(order, "payment", order.payment_status, status, reason, actor, t)
            order.payment_status, order.version, order.updated_at = status, order.version + 1, t

    def _derive_refund(self, order: PaymentOrder, t: datetime, actor: str, reason: str) -> None:
        status = derive_refund_status(paid=order.paid_amount, refunded=order.refunded_amount,
                                      refunding=order.refunding_amount,
                                      last_refund_failed=order.last_refund_failed).value
        if status != order.refund_status:
            self._log(order, "refund", order.refund_status, status, reason, actor, t)
            order.refund_status, order.version, order.updated_at = status, order.version + 1, t
