"""Hypothesis stateful test of the payment engine: random checkouts over every channel kind,
callbacks (success, failure, duplicate, late, forged), expiries, voucher confirmations (equal, more,
less) and cancels; after every step every invariant of DESIGN.md §3 and the ledgers holds."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from app.channels.online import signature
from app.domain.errors import DomainError
from app.extensions import db
from app.models import ChannelPayment, MergedPayment, PaymentOrder, Voucher
from app.models.types import now_utc
from app.services import checkout, compensation, payment_lifecycle, vouchers, wallet
from app.services.checkout import AllocationIn
from tests.conftest import _truncate_all

from .conftest import FINANCE, OPERATOR, add_channel, check_invariants, make_order

CALLBACK_SECRET = "cb-secret-for-tests"
EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "200"))  # SECURITY.md: CI runs >= 200 x 50
STEPS = int(os.environ.get("STATEFUL_STEPS", "50"))

cents = st.integers(min_value=1, max_value=500_000_00)


def money(c: int) -> str:
    return f"{Decimal(c) / 100:.2f}"


class EngineMachine(RuleBasedStateMachine):
    app = None  # set by the test

    @initialize()
    def setup(self):
        self.ctx = self.app.app_context()
        self.ctx.push()
        _truncate_all(self.app)
        from app.models import Reseller, User

        r = Reseller(code="R1001", name="R1001", status="ACTIVE", credit_limit=Decimal("2000000.00"),
                     credit_used=Decimal("0.00"), wallet_balance=Decimal("0.00"), credit_term_days=30,
                     credit_status="ACTIVE", approval_threshold=Decimal("99999999.00"), version=1)
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
        self.client = self.app.test_client()
        self.orders: list[str] = []
        self.events: list[bytes] = []

    def teardown(self):
        db.session.remove()
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
        v = vouchers.upload(OPERATOR, self.operator_id, self.reseller_id, number, "slip.pdf", b"%PDF-1.7 x")
        delta = Decimal(data.draw(st.integers(1, 10_000_00))) / 100
        received = {"equal": amount, "more": amount + delta,
                    "less": max(amount - delta, Decimal("0.01")), "less-reject": max(amount - delta, Decimal("0.01"))}
        shortfall = "reject" if kind == "less-reject" else "accept"
        vouchers.confirm(FINANCE, "finance", self.finance_id, v.id, f"{received[kind]:.2f}", shortfall)

    @rule(data=st.data())
    def expire_one(self, data):
        cps = db.session.scalars(sa.select(ChannelPayment).where(ChannelPayment.status == "PROCESSING",
                                                                 ChannelPayment.channel_kind == "WIRE")).all()
        if not cps:
            return
        cp = data.draw(st.sampled_from(cps))
        cp.expires_at = now_utc() - timedelta(seconds=1)
        db.session.commit()
        compensation.expire_due()

    @rule(data=st.data())
    def cancel(self, data):
        mps = db.session.scalars(sa.select(MergedPayment.merged_payment_id).where(
            MergedPayment.status == "PROCESSING")).all()
        if not mps:
            return
        mp = data.draw(st.sampled_from(mps))
        db.session.rollback()
        try:
            payment_lifecycle.cancel(OPERATOR, self.reseller_id, mp)
        except DomainError:
            pass

    @invariant()
    def money_adds_up(self):
        if hasattr(self, "reseller_id"):
            check_invariants()
            db.session.rollback()


def test_engine_state_machine(app):
    EngineMachine.app = app
    run = EngineMachine.TestCase
    run.settings = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    run().runTest()
