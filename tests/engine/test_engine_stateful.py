"""Hypothesis stateful test of the payment engine: random checkouts over every channel kind,
callbacks (success, failure, duplicate, late, forged), expiries, voucher confirmations (equal, more,
less) and cancels; credit repayment orders; refunds of every strategy (LATEST, SPECIFIED,
PROPORTIONAL; FULL and PARTIAL, valid or not) on every channel with their replays, the gateway's
refund callbacks, the payouts of WIRE refunds (callbacks, polling to MANUAL, finance's settlement)
and finance's retries; after every step every invariant of docs/DOMAIN.md §3, the ledgers and the
refunds (conftest.check_invariants) holds.

The bank cannot be reached (port 9): ONLINE payments, ONLINE refunds and payouts stay PROCESSING
until a signed callback (or finance) settles them."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from app.channels.online import signature
from app.domain.errors import DomainError, IdempotencyKeyReused
from app.extensions import db
from app.models import (
    ChannelPayment,
    CreditRecord,
    Disbursement,
    Merchant,
    MergedPayment,
    PaymentOrder,
    PaymentTransaction,
    Voucher,
)
from app.models.types import now_utc
from app.services.checkout import cancellation
from app.services.checkout import submission as checkout
from app.services.checkout.validation import AllocationIn
from app.services.ledgers import wallet
from app.services.orders.creation import NewPaymentOrder, create_payment_order
from app.services.payouts import manual as payout_manual
from app.services.payouts import polling as payout_polling
from app.services.platform import crypto
from app.services.platform.actor import Actor
from app.services.refunds import creation as refunds
from app.services.refunds import online as refund_online
from app.services.refunds import retry as refund_retry
from app.services.refunds.instruction import RefundInstruction
from app.services.settlement import expiry
from app.services.vouchers import review as voucher_review
from app.services.vouchers import upload as voucher_upload
from tests.support.database import reset_database
from tests.support.engine import FINANCE, OPERATOR, check_invariants, check_stored_figures, make_order
from tests.support.factories import add_channel
from tests.support.files import minimal_pdf

CALLBACK_SECRET = "cb-secret-for-tests"
ORDER_SYSTEM = Actor(type="api_client", id="order-system", client_id=None)
STRATEGIES = ["LATEST", "SPECIFIED", "PROPORTIONAL"]
# docs/SECURITY.md: CI runs 80 x 50 on SQLite and 30 x 50 on PostgreSQL, whose round trips make each
# step about three times dearer (the same state machine and invariants; PostgreSQL's own concurrency
# is the subject of the concurrent tests, and bench/stateful_long.py --postgres runs the long profile).
_ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")
EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "30" if _ON_POSTGRES else "80"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "50"))

cents = st.integers(min_value=1, max_value=500_000_00)


def money(c: int) -> str:
    return f"{Decimal(c) / 100:.2f}"


class EngineMachine(RuleBasedStateMachine):
    app = None  # set by the test
    seen: Counter = Counter()  # what the refund rules did, over all examples (printed with STATEFUL_STATS=1)
    pending: dict = {}  # counts for the refund follow-up rules' preconditions (_count_pending)

    @initialize()
    def setup(self):
        self.ctx = self.app.app_context()
        self.ctx.push()
        self.seen["examples run"] += 1
        reset_database(self.app)
        from app.models import Reseller, User

        r = Reseller(code="R1001", name="R1001", status="ACTIVE", credit_limit=Decimal("2000000.00"),
                     credit_used=Decimal("0.00"), wallet_balance=Decimal("0.00"), credit_term_days=30,
                     credit_status="ACTIVE", approval_threshold=Decimal("99999999.00"), version=1,
                     refund_account_no_enc=crypto.encrypt("6222020000001234"), refund_account_name="R1001",
                     refund_bank_code="ICBC")
        db.session.add(r)
        db.session.flush()
        self.reseller_id = r.id
        for email, role, rid in (("op@r", "reseller_operator", r.id), ("fin@x", "finance", None)):
            db.session.add(User(email=email, name=email, password_hash="x", role=role, locale="zh", active=True,
                                session_version=1, reseller_id=rid))
        db.session.commit()
        self.operator_id, self.finance_id = db.session.scalars(sa.select(User.id).order_by(User.id)).all()
        wallet.post(self.reseller_id, Decimal("1000000.00"), "TOPUP", reference=None, actor="test")
        db.session.commit()
        add_channel("WALLET", "WALLET")
        add_channel("CREDIT", "CREDIT")
        add_channel("WIRE", "WIRE")
        # A bank that cannot be reached at checkout: its results arrive only as signed callbacks.
        add_channel("ONLINE", "ONLINE", config={"base_url": "http://127.0.0.1:9", "merchant_no": "M1"},
                    secrets={"api_secret": "a", "callback_secret": CALLBACK_SECRET})
        # WIRE refunds are paid out by M1001 through that same unreachable gateway.
        db.session.add(Merchant(merchant_id="M1001", name="Payouts", active=True,
                                single_limit=Decimal("99999999.00"), daily_limit=Decimal("999999999.00")))
        db.session.commit()
        self.saved_config = {k: self.app.config.get(k) for k in ("DISBURSE_CHANNEL_CODE", "REFUND_PAYOUT_MERCHANT_ID")}
        self.app.config.update(DISBURSE_CHANNEL_CODE="ONLINE", REFUND_PAYOUT_MERCHANT_ID="M1001")
        self.client = self.app.test_client()
        self.orders: list[str] = []
        self.events: list[bytes] = []
        self.refunds: list[RefundInstruction] = []
        self.clock = now_utc()
        self._count_pending()

    def teardown(self):
        if hasattr(self, "reseller_id"):  # once per example: every path that moved money kept the aggregates
            check_stored_figures()
        db.session.remove()
        if hasattr(self, "saved_config"):
            self.app.config.update(self.saved_config)
        self.ctx.pop()

    # --- rules ---------------------------------------------------------------------------------

    @rule(amount=cents)
    def create_order(self, amount):
        self.orders.append(make_order(amount=money(amount), deadline=now_utc() + timedelta(days=len(self.orders))))

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), channel=st.sampled_from(["WALLET", "CREDIT", "WIRE", "ONLINE"]))
    def checkout(self, data, channel):
        picked = data.draw(st.lists(st.sampled_from(self.orders), min_size=1, max_size=3, unique=True))
        rows = []
        for pid in picked:
            o = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.payment_id == pid))
            payable = int(o.payable_amount * 100)
            amount = data.draw(st.one_of(st.integers(1, max(payable, 1)), st.integers(-5, payable + 100)))
            rows.append(AllocationIn(pid, money(amount) if amount > 0 else str(amount), channel))
        db.session.rollback()
        try:
            checkout.submit(OPERATOR, self.operator_id, self.reseller_id, rows)
        except DomainError:
            pass

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), channel=st.sampled_from(["WALLET", "CREDIT", "WIRE", "ONLINE"]))
    def pay_and_settle(self, data, channel):
        """A valid checkout settled at once (ONLINE by its callback, WIRE by a voucher confirmed for the
        amount), so that every channel has payments to refund."""
        # The rest in Python: SQLite computes NUMERIC differences in floating point (12.64 - 12.63 -
        # 0.01 > 0 there), which made an order with nothing left look payable.
        orders = db.session.execute(sa.select(
            PaymentOrder.payment_id, PaymentOrder.payment_amount, PaymentOrder.paid_amount,
            PaymentOrder.reserved_amount,
        ).where(PaymentOrder.payment_status.not_in(("STOPPED", "FROZEN"))).order_by(PaymentOrder.id)).all()
        db.session.rollback()
        payable = [(pid, amount - paid - reserved) for pid, amount, paid, reserved in orders
                   if amount - paid - reserved > 0]
        if not payable:
            return
        pid, left = data.draw(st.sampled_from(payable))
        amount = data.draw(st.integers(1, int(left * 100)))
        try:
            res = checkout.submit(OPERATOR, self.operator_id, self.reseller_id,
                                  [AllocationIn(pid, money(amount), channel)])
        except DomainError:  # e.g. not enough credit left, or CREDIT for a repayment order
            return
        cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk))
        number, cp_id = cp.channel_payment_id, cp.id
        db.session.rollback()
        if channel == "ONLINE":
            body = json.dumps({"eventId": f"ev-{cp_id}-paid", "type": "payment", "merchantNo": "M1",
                               "merchantOrderNo": number, "gatewayTxnId": f"GW{cp_id}", "amount": money(amount),
                               "currency": "CNY", "status": "SUCCESS", "paidAt": None, "failReason": None}).encode()
            assert self._post_callback(body).status_code == 200
        elif channel == "WIRE":
            v = voucher_upload.upload(OPERATOR, self.operator_id, self.reseller_id, number, "slip.pdf", minimal_pdf())
            voucher_review.confirm(FINANCE, "finance", self.finance_id, v.id, money(amount))

    def _processing(self, kind):
        return db.session.scalars(sa.select(ChannelPayment).where(
            ChannelPayment.channel_kind == kind, ChannelPayment.status == "PROCESSING")
            .order_by(ChannelPayment.id)).all()

    def _post_callback(self, body: bytes, secret=CALLBACK_SECRET, t=None):
        headers = {signature.HEADER: signature.sign(secret, body, t), "Content-Type": "application/json"}
        return self.client.post("/api/v1/payment/callback/online/ONLINE", data=body, headers=headers)

    @rule(data=st.data(), status=st.sampled_from(["SUCCESS", "FAILED"]))
    def bank_callback(self, data, status):
        cps = self._processing("ONLINE")
        if not cps:
            return
        cp = data.draw(st.sampled_from(cps))
        body = json.dumps({"eventId": f"ev-{cp.id}-{status}-{len(self.events)}", "type": "payment",
                           "merchantNo": "M1", "merchantOrderNo": cp.channel_payment_id,
                           "gatewayTxnId": f"GW{cp.id}", "amount": f"{cp.amount:.2f}", "currency": "CNY",
                           "status": status, "paidAt": None, "failReason": None}).encode()
        db.session.rollback()
        assert self._post_callback(body).status_code == 200
        self.events.append(body)

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def duplicate_or_late_callback(self, data):
        body = data.draw(st.sampled_from(self.events))
        assert self._post_callback(body).status_code == 200

    @precondition(lambda self: self.events)
    @rule(data=st.data(), how=st.sampled_from(["secret", "stale", "byte"]))
    def forged_callback(self, data, how):
        body = data.draw(st.sampled_from(self.events))
        if how == "secret":
            r = self._post_callback(body, secret="wrong")
        elif how == "stale":
            r = self._post_callback(body, t=int(time.time()) - 301)
        else:
            header = signature.sign(CALLBACK_SECRET, body)
            r = self.client.post("/api/v1/payment/callback/online/ONLINE", data=body.replace(b"SUCCESS", b"FAILED")
                                 .replace(b"M1", b"M2") + b" ", headers={signature.HEADER: header})
        assert r.status_code == 400

    @rule(data=st.data(), kind=st.sampled_from(["less", "equal", "more", "less-reject"]))
    def wire_voucher(self, data, kind):
        cps = [cp for cp in self._processing("WIRE") if not db.session.scalar(
            sa.select(Voucher.id).where(Voucher.channel_payment_id == cp.id, Voucher.status == "PENDING"))]
        if not cps:
            return
        cp = data.draw(st.sampled_from(cps))
        number, amount = cp.channel_payment_id, cp.amount
        db.session.rollback()
        v = voucher_upload.upload(OPERATOR, self.operator_id, self.reseller_id, number, "slip.pdf", minimal_pdf())
        delta = Decimal(data.draw(st.integers(1, 10_000_00))) / 100
        received = {"equal": amount, "more": amount + delta,
                    "less": max(amount - delta, Decimal("0.01")), "less-reject": max(amount - delta, Decimal("0.01"))}
        shortfall = "reject" if kind == "less-reject" else "accept"
        voucher_review.confirm(FINANCE, "finance", self.finance_id, v.id, f"{received[kind]:.2f}", shortfall)

    @rule(data=st.data())
    def expire_one(self, data):
        cps = db.session.scalars(sa.select(ChannelPayment).where(ChannelPayment.status == "PROCESSING",
                                                                 ChannelPayment.channel_kind == "WIRE")).all()
        if not cps:
            return
        cp = data.draw(st.sampled_from(cps))
        cp.expires_at = now_utc() - timedelta(seconds=1)
        db.session.commit()
        expiry.expire_due()

    @rule(data=st.data())
    def cancel(self, data):
        mps = db.session.scalars(sa.select(MergedPayment.merged_payment_id).where(
            MergedPayment.status == "PROCESSING")).all()
        if not mps:
            return
        mp = data.draw(st.sampled_from(mps))
        db.session.rollback()
        try:
            cancellation.cancel(OPERATOR, self.reseller_id, mp)
        except DomainError:
            pass

    # --- credit repayment orders ------------------------------------------------------------------

    @rule(data=st.data())
    def create_repayment_order(self, data):
        recs = db.session.execute(sa.select(CreditRecord.credit_record_id, CreditRecord.order_id,
                                            CreditRecord.outstanding_amount).where(
            CreditRecord.outstanding_amount > 0).order_by(CreditRecord.id)).all()
        db.session.rollback()
        if not recs:
            return
        rec_id, order_id, outstanding = data.draw(st.sampled_from(recs))
        amount = data.draw(st.integers(1, int(outstanding * 100) + 100))  # above what is open: refused
        try:
            outcome = create_payment_order(
                Actor(type="api_client", id="credit-system", client_id=None),
                NewPaymentOrder(order_id=order_id, reseller_code="R1001", payment_type="CREDIT_REPAYMENT",
                                payment_amount=Decimal(money(amount)), credit_record_id=rec_id),
                idempotency_key=None, fingerprint=f"repay-{len(self.orders)}")
            self.orders.append(outcome.order.payment_id)
        except DomainError:
            pass
        db.session.rollback()

    # --- refunds ----------------------------------------------------------------------------------

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), full=st.booleans())
    def refund_latest(self, data, full):
        self._refund(data, "LATEST", full)

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), full=st.booleans())
    def refund_specified(self, data, full):
        self._refund(data, "SPECIFIED", full)

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), full=st.booleans())
    def refund_proportional(self, data, full):
        self._refund(data, "PROPORTIONAL", full)

    def _refund(self, data, strategy, full):
        """Mostly an order with something to refund; FULL of about the refundable amount, PARTIAL of
        about anything up to it (some of each invalid: zero, negative, above, FULL off by a cent)."""
        paid = db.session.scalars(sa.select(PaymentOrder.payment_id).where(
            PaymentOrder.paid_amount > PaymentOrder.refunded_amount + PaymentOrder.refunding_amount)
            .order_by(PaymentOrder.id)).all()
        pid = data.draw(st.sampled_from(paid if paid and data.draw(st.integers(0, 9)) else self.orders))
        o = db.session.scalar(sa.select(PaymentOrder).where(PaymentOrder.payment_id == pid))
        refundable = int(o.refundable_amount * 100)
        partial_max, txn_id = refundable, None
        if strategy == "SPECIFIED":
            own = db.session.execute(sa.select(PaymentTransaction.transaction_id, PaymentTransaction.amount
                                               - PaymentTransaction.refunded_amount
                                               - PaymentTransaction.refunding_amount).where(
                PaymentTransaction.payment_order_id == o.id, PaymentTransaction.transaction_type == "PAYMENT",
                PaymentTransaction.status == "SUCCESS").order_by(PaymentTransaction.id)).all()
            anyone = db.session.scalars(sa.select(PaymentTransaction.transaction_id).where(
                PaymentTransaction.transaction_type == "PAYMENT").order_by(PaymentTransaction.id)).all()
            if own and data.draw(st.integers(0, 5)):
                txn_id, left = data.draw(st.sampled_from(own))
                partial_max = int(left * 100)
            else:  # another order's transaction, an unpaid one, or none at all: refused
                txn_id = data.draw(st.sampled_from(anyone)) if anyone else "TXN-NONE"
        if full:
            cents = data.draw(st.one_of(st.just(refundable), st.integers(refundable - 2, refundable + 2)))
        else:
            cents = data.draw(st.one_of(st.integers(1, max(partial_max, 1)), st.integers(-5, partial_max + 100)))
        ins = RefundInstruction(refund_order_id=f"RO-{len(self.refunds)}-{data.draw(st.integers(0, 9))}",
                                payment_id=pid, amount=Decimal(cents) / 100, refund_type="FULL" if full else "PARTIAL",
                                strategy=strategy, transaction_id=txn_id, reason="stateful")
        db.session.rollback()
        label = f"refund {strategy} {ins.refund_type}"
        try:
            created, _, duplicate = refunds.create_refund(ORDER_SYSTEM, ins)
        except DomainError as exc:
            db.session.rollback()
            self.seen[f"{label}: refused ({type(exc).__name__})"] += 1
            return
        kinds = sorted(set(db.session.scalars(sa.select(PaymentTransaction.channel_kind).where(
            PaymentTransaction.refund_id == created.id))))
        db.session.rollback()
        self.seen[f"{label}: {'duplicate' if duplicate else 'on ' + '+'.join(kinds)}"] += 1
        if not duplicate:
            self.refunds.append(ins)

    @precondition(lambda self: self.refunds)
    @rule(data=st.data(), same=st.booleans())
    def replay_refund(self, data, same):
        ins = data.draw(st.sampled_from(self.refunds))
        if not same:
            ins = RefundInstruction(**{**ins.__dict__, "amount": ins.amount + Decimal("0.01")})
        try:
            _, _, duplicate = refunds.create_refund(ORDER_SYSTEM, ins)
            assert same and duplicate
        except IdempotencyKeyReused:
            assert not same
        db.session.rollback()

    def _processing_parts(self, kind):
        return db.session.scalars(sa.select(PaymentTransaction).where(
            PaymentTransaction.transaction_type == "REFUND", PaymentTransaction.status == "PROCESSING",
            PaymentTransaction.channel_kind == kind).order_by(PaymentTransaction.id)).all()

    @precondition(lambda self: self.pending.get('online_parts'))
    @rule(data=st.data(), status=st.sampled_from(["SUCCESS", "FAILED"]), forged=st.booleans())
    def refund_callback(self, data, status, forged):
        parts = self._processing_parts("ONLINE")
        if not parts:
            return
        part = data.draw(st.sampled_from(parts))
        cp_no = db.session.scalar(sa.select(ChannelPayment.channel_payment_id).where(
            ChannelPayment.id == part.channel_payment_id))
        body = json.dumps({"eventId": f"rev-{part.id}-{status}-{len(self.events)}", "type": "refund",
                           "merchantNo": "M1", "merchantRefundNo": part.transaction_id, "merchantOrderNo": cp_no,
                           "refundId": f"GR{part.id}", "amount": f"{-part.amount:.2f}", "status": status,
                           "refundedAt": None, "failReason": None if status == "SUCCESS" else "declined"}).encode()
        db.session.rollback()
        headers = {signature.HEADER: signature.sign("wrong" if forged else CALLBACK_SECRET, body),
                   "Content-Type": "application/json"}
        r = self.client.post("/api/v1/payment/callback/refund/ONLINE", data=body, headers=headers)
        assert r.status_code == (400 if forged else 200)
        self.seen[f"refund callback {'forged' if forged else status}"] += 1

    def _open_payouts(self, statuses=("INIT", "PROCESSING", "MANUAL")):
        return db.session.scalars(sa.select(Disbursement).where(Disbursement.status.in_(statuses))
                                  .order_by(Disbursement.id)).all()

    @precondition(lambda self: self.pending.get('open_payouts'))
    @rule(data=st.data(), status=st.sampled_from(["SUCCESS", "FAILED"]), forged=st.booleans())
    def payout_callback(self, data, status, forged):
        payouts = self._open_payouts()
        if not payouts:
            return
        d = data.draw(st.sampled_from(payouts))
        before = d.status
        body = json.dumps({"eventId": f"pev-{d.id}-{len(self.events)}", "type": "payout", "merchantNo": "M1",
                           "merchantPayoutNo": d.order_no, "payoutId": f"GP{d.id}", "amount": f"{d.amount:.2f}",
                           "status": status, "bankSerialNo": "BS1" if status == "SUCCESS" else None,
                           "failReason": None if status == "SUCCESS" else "ACCOUNT_FROZEN",
                           "completedAt": None}).encode()
        db.session.rollback()
        headers = {signature.HEADER: signature.sign("wrong" if forged else CALLBACK_SECRET, body),
                   "Content-Type": "application/json"}
        r = self.client.post("/api/v1/disburse/callback", data=body, headers=headers)
        assert r.status_code == (400 if forged else 200)
        self.seen[f"payout callback {'forged' if forged else status} on {before}"] += 1

    @precondition(lambda self: self.pending.get('polled_payouts'))
    @rule(times=st.integers(1, payout_polling.MAX_POLL_ATTEMPTS))
    def poll_payouts(self, times):
        """The poller on a fake clock, an hour later each time: a payout goes MANUAL after the bound."""
        for _ in range(times):
            self.clock += timedelta(hours=1)
            payout_polling.poll_due(now=self.clock)

    @precondition(lambda self: self.pending.get('manual_payouts'))
    @rule(data=st.data(), outcome=st.sampled_from(["SUCCESS", "FAILED"]))
    def settle_manual(self, data, outcome):
        payouts = self._open_payouts(("MANUAL",))
        if not payouts:
            return
        order_no = data.draw(st.sampled_from(payouts)).order_no
        db.session.rollback()
        payout_manual.settle_manual(FINANCE, "finance", order_no, outcome, bank_serial_no="BS-STATEMENT",
                                    reason="from the bank statement")
        self.seen[f"payout settled by finance: {outcome}"] += 1

    @precondition(lambda self: self.pending.get('failed_parts'))
    @rule(data=st.data())
    def retry_failed_part(self, data):
        failed = db.session.scalars(sa.select(PaymentTransaction.id).where(
            PaymentTransaction.transaction_type == "REFUND", PaymentTransaction.status == "FAILED")
            .order_by(PaymentTransaction.id)).all()
        db.session.rollback()
        if not failed:
            return
        try:
            part = refund_retry.retry_part(FINANCE, data.draw(st.sampled_from(failed)))
            self.seen[f"retry on {part.channel_kind}: {part.status}"] += 1
        except DomainError as exc:
            self.seen[f"retry refused ({type(exc).__name__})"] += 1
        db.session.rollback()

    @precondition(lambda self: self.pending.get('online_parts'))
    @rule()
    def compensate_refunds(self):
        refund_online.compensate_refunds(older_than_seconds=0)

    @invariant()
    def money_adds_up(self):
        if hasattr(self, "reseller_id"):
            self.seen["invariant checks (one after set-up, one after each step)"] += 1
            check_invariants()
            self._count_pending()
            db.session.rollback()

    def _count_pending(self):
        """What the refund follow-up rules can work on (their preconditions), after every step."""
        def n(model, *where):
            return sa.select(sa.func.count()).select_from(model).where(*where).scalar_subquery()

        part = (PaymentTransaction.transaction_type == "REFUND",)
        counts = {
            "online_parts": n(PaymentTransaction, *part, PaymentTransaction.status == "PROCESSING",
                              PaymentTransaction.channel_kind == "ONLINE"),
            "failed_parts": n(PaymentTransaction, *part, PaymentTransaction.status == "FAILED"),
            "open_payouts": n(Disbursement, Disbursement.status.in_(("INIT", "PROCESSING", "MANUAL"))),
            "polled_payouts": n(Disbursement, Disbursement.status.in_(("INIT", "PROCESSING"))),
            "manual_payouts": n(Disbursement, Disbursement.status == "MANUAL"),
        }
        row = db.session.execute(sa.select(*counts.values())).one()
        self.pending = dict(zip(counts, row, strict=True))


def test_engine_state_machine(app):
    EngineMachine.app = app
    run = EngineMachine.TestCase
    run.settings = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    EngineMachine.seen.clear()
    run().runTest()
    if os.environ.get("STATEFUL_STATS"):
        for what, n in sorted(EngineMachine.seen.items()):
            print(f"{n:6d}  {what}")
