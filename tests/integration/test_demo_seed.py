"""``flask demo seed``: the demo data set is complete, keeps every invariant of docs/DOMAIN.md §3 exactly,
is idempotent, and is usable through the API with DEMO_API_KEY / DEMO_PASSWORD."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.demo.plan import build_plan
from app.demo.seed import seed_demo
from app.domain.enums import PaymentStatus, PaymentType
from app.domain.order_status import ADMINISTRATIVE, derive_payment_status, derive_refund_status
from app.domain.timeutil import SHANGHAI, shanghai_today
from app.extensions import db
from app.models import (
    ApiClient,
    BankReceipt,
    Channel,
    ChannelPayment,
    CreditEntry,
    CreditRecord,
    Merchant,
    MergedPayment,
    PaymentOrder,
    PaymentTransaction,
    ReconciliationException,
    ReconciliationRun,
    Refund,
    Reseller,
    StatusLog,
    User,
    WalletEntry,
)
from app.services.accounts import api_clients
from app.services.accounts.users import verify_password
from app.services.dashboards import overdue
from app.services.ledgers import money_flows
from app.services.ledgers.credit_view import record_status
from app.services.platform import crypto

ZERO = Decimal("0.00")
PASSWORD = "demo-password-for-tests"
API_KEY = "rpp_demo_key_for_the_seed_tests_0123456789"


@pytest.fixture
def demo_env(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD)
    monkeypatch.setenv("DEMO_API_KEY", API_KEY)
    monkeypatch.delenv("SANDBOX_MERCHANTS", raising=False)


@pytest.fixture
def seeded(ctx, demo_env):
    started = time.monotonic()
    report = seed_demo()
    assert time.monotonic() - started < 10  # the whole data set, users' password hashing included
    return report


def _all(model):
    return db.session.scalars(sa.select(model).order_by(model.id)).all()


def _by(rows, attr):
    out = defaultdict(list)
    for r in rows:
        out[getattr(r, attr)].append(r)
    return out


def _plan_signature(now):
    plan = build_plan(now)
    today = now.astimezone(SHANGHAI).date()
    orders = [(o.order_id, o.payment_type, o.amount, o.scenario, (today - o.created.astimezone(SHANGHAI).date()).days,
               [(p.outcome, p.amount, p.channel) for p in o.pieces], o.extra_amount) for o in plan.orders]
    groups = sorted(sorted((p.order.order_id, p.order.payment_type) for p in m.pieces) for m in plan.merged)
    return orders, groups


def test_the_plan_is_the_same_at_any_time_of_day():
    base = datetime(2026, 11, 23, 0, 5, tzinfo=UTC)
    expected = _plan_signature(base)
    for hours in (3, 7.5, 11, 15.9, 19, 23.5, 24 * 30 + 13):
        assert _plan_signature(base + timedelta(hours=hours)) == expected


def test_every_type_and_status_is_there(seeded):
    orders = _all(PaymentOrder)
    assert len(orders) >= 180
    assert {o.payment_status for o in orders} == {s.value for s in PaymentStatus}
    assert {o.payment_type for o in orders} == {t.value for t in PaymentType}
    assert {"PARTIAL_REFUNDED", "FULL_REFUNDED"} <= {o.refund_status for o in orders}
    codes = {r.id: r.code for r in _all(Reseller)}
    per_reseller = defaultdict(int)
    for o in orders:
        per_reseller[codes[o.reseller_id]] += 1
        assert o.order_id.startswith("SO2026") and len(o.order_id) == 12
        assert Decimal("0.01") <= o.payment_amount <= Decimal("8000000.00")
        assert o.business_desc and o.payment_deadline is not None and o.currency == "CNY"
    assert per_reseller["R1001"] > 100 and per_reseller["R1002"] > 0 and per_reseller["R1003"] > 0
    assert max(per_reseller, key=per_reseller.get) == "R1001" and "R1004" not in per_reseller
    now = max(o.created_at for o in orders) + timedelta(days=1)
    assert any(o.payment_deadline < now and o.payment_status == "UNPAID" for o in orders)  # overdue
    assert any(o.payment_deadline > now for o in orders)
    assert (now - min(o.created_at for o in orders)).days >= 60
    assert any(o.payment_amount != o.payment_amount.to_integral_value() for o in orders)  # cents
    assert any(line.startswith("  payment orders: created") for line in seeded.lines)


def test_master_data(seeded):
    resellers = {r.code: r for r in _all(Reseller)}
    assert resellers["R1004"].status == "SUSPENDED" and resellers["R1001"].credit_limit == Decimal("10000000.00")
    users = {u.email: u for u in _all(User)}
    assert users["operator@r1001.example"].role == "reseller_operator"
    assert users["operator@r1001.example"].reseller_id == resellers["R1001"].id
    assert users["approver@r1001.example"].role == "reseller_approver"
    assert users["operator@r1002.example"].reseller_id == resellers["R1002"].id
    assert {users[e].role for e in ("finance@example.com", "finance2@example.com")} == {"finance"}
    assert users["admin@example.com"].role == "admin"
    merchant = db.session.scalar(sa.select(Merchant).where(Merchant.merchant_id == "M1001"))
    assert merchant.single_limit == Decimal("1000000.00") and merchant.daily_limit == Decimal("5000000.00")
    channels = {c.code: c for c in _all(Channel)}
    assert {c.kind for c in channels.values()} == {"ONLINE", "WALLET", "WIRE", "CREDIT"}
    unionpay = channels["ONLINE_UNIONPAY"]
    assert unionpay.config == {"base_url": "http://127.0.0.1:8001", "merchant_no": "MCH1001"}
    assert unionpay.max_amount == Decimal("50000000.00") and unionpay.expire_seconds == 86400
    assert unionpay.confirm_timeout_seconds == 900 and unionpay.name_en == "UnionPay B2B"
    secrets = json.loads(crypto.decrypt(unionpay.secrets_enc))
    assert len(secrets["api_secret"]) == 64 and len(secrets["callback_secret"]) == 64
    assert secrets["api_secret"] not in unionpay.secrets_enc  # encrypted at rest
    assert channels["ONLINE_EBANK"].max_amount == Decimal("5000000.00") and channels["ONLINE_EBANK"].enabled
    wire = channels["WIRE_ICBC"]
    assert wire.config["account_no"] == "6222020200112233445" and wire.expire_seconds == 7 * 86400
    assert channels["CREDIT"].supports_partial_refund
    restricted = [c for c in channels.values() if not c.available_to_all]
    assert [(c.code, [r.code for r in c.resellers]) for c in restricted] == [("ONLINE_ALIPAY_B2B", ["R1002"])]


def test_order_invariants_hold_exactly(seeded):
    orders = _all(PaymentOrder)
    txns = _all(PaymentTransaction)
    by_order = _by(txns, "payment_order_id")
    refunds_of = _by([t for t in txns if t.transaction_type == "REFUND"], "original_transaction_id")
    logs = _by(db.session.scalars(sa.select(StatusLog).order_by(StatusLog.created_at, StatusLog.id)).all(),
               "payment_order_id")
    for o in orders:
        ts = by_order[o.id]

        def total(kind, status, ts=ts):
            return sum((t.amount for t in ts if t.transaction_type == kind and t.status == status), ZERO)

        assert o.paid_amount == total("PAYMENT", "SUCCESS"), o.order_id
        assert o.refunded_amount == -total("REFUND", "SUCCESS"), o.order_id
        assert o.reserved_amount == total("PAYMENT", "PROCESSING"), o.order_id
        assert o.refunding_amount == -total("REFUND", "PROCESSING"), o.order_id
        assert ZERO <= o.refunded_amount <= o.paid_amount <= o.payment_amount
        assert o.reserved_amount + o.paid_amount <= o.payment_amount
        derived = derive_payment_status(amount=o.payment_amount, paid=o.paid_amount, reserved=o.reserved_amount,
                                        last_attempt_failed=o.last_attempt_failed).value
        if o.payment_status in ADMINISTRATIVE:
            assert o.reserved_amount == 0  # never stopped or frozen with money in flight
        else:
            assert o.payment_status == derived, o.order_id
        assert o.refund_status == derive_refund_status(
            paid=o.paid_amount, refunded=o.refunded_amount, refunding=o.refunding_amount,
            last_refund_failed=o.last_refund_failed).value
        if o.payment_status == "FAILED":
            assert o.last_attempt_failed and any(t.status == "FAILED" for t in ts)
        for t in ts:
            assert t.order_id == o.order_id and t.reseller_id == o.reseller_id and t.created_at >= o.created_at
            if t.transaction_type == "PAYMENT":
                assert t.refunded_amount == -sum((r.amount for r in refunds_of[t.id] if r.status == "SUCCESS"), ZERO)
                assert t.refunded_amount <= t.amount
            else:
                assert t.amount < 0 and t.original_transaction_id and t.refund_id and t.business_order_id
        # The timeline: created UNPAID, each step from the previous one, ending at the current status.
        payment_logs = [g for g in logs[o.id] if g.field == "payment"]
        assert (payment_logs[0].from_status, payment_logs[0].to_status) == (None, "UNPAID")
        for prev, nxt in zip(payment_logs, payment_logs[1:], strict=False):
            assert nxt.from_status == prev.to_status and nxt.created_at >= prev.created_at
        assert payment_logs[-1].to_status == o.payment_status
        refund_logs = [g for g in logs[o.id] if g.field == "refund"]
        assert (refund_logs[-1].to_status if refund_logs else "NO_REFUND") == o.refund_status
        if o.payment_status == "PAID" and o.paid_amount == o.payment_amount and len(payment_logs) > 1:
            assert "PAYING" in {g.to_status for g in payment_logs}


def test_the_finance_desks_stored_figures_equal_a_recount(seeded):
    assert money_flows.stored() and money_flows.differences() == []
    assert overdue.differences() == []  # the open orders per deadline day, kept by the triggers


def test_merged_and_channel_payments_add_up(seeded):
    txns = [t for t in _all(PaymentTransaction) if t.transaction_type == "PAYMENT"]
    by_cp, by_mp = _by(txns, "channel_payment_id"), _by(txns, "merged_payment_id")
    cps = _all(ChannelPayment)
    cps_of = _by(cps, "merged_payment_id")
    thresholds = dict(db.session.execute(sa.select(Reseller.id, Reseller.approval_threshold)).all())
    multi_order = multi_channel = 0
    for mp in _all(MergedPayment):
        assert mp.total_amount == sum((cp.amount for cp in cps_of[mp.id]), ZERO) == \
            sum((t.amount for t in by_mp[mp.id]), ZERO), mp.merged_payment_id
        multi_order += len({t.payment_order_id for t in by_mp[mp.id]}) > 1
        multi_channel += len(cps_of[mp.id]) > 1
        statuses = {cp.status for cp in cps_of[mp.id]}
        expected = {"SUCCEEDED": {"SUCCESS"}, "FAILED": {"FAILED"}, "PROCESSING": {"PROCESSING"},
                    "PENDING_APPROVAL": {"PENDING"}}[mp.status]
        assert statuses == expected
        if mp.total_amount > thresholds[mp.reseller_id] and mp.status != "PENDING_APPROVAL":
            approver = db.session.get(User, mp.approved_by_user_id)
            assert approver.role == "reseller_approver" and mp.approved_by_user_id != mp.created_by_user_id
    assert multi_order >= 5 and multi_channel >= 5
    for cp in cps:
        assert cp.amount == sum((t.amount for t in by_cp[cp.id]), ZERO)
        status = {"PENDING": "PROCESSING"}.get(cp.status, cp.status)
        assert {t.status for t in by_cp[cp.id]} == {status}
        assert all(t.channel_code == cp.channel_code for t in by_cp[cp.id])
        if cp.channel_kind == "ONLINE" and cp.status == "SUCCESS":
            assert cp.channel_transaction_id.startswith("GW") and cp.channel_transaction_id[2:].isdigit()
        if cp.channel_kind == "WALLET":  # one debit per channel payment, named as the wallet adapter does
            entry = db.session.scalar(sa.select(WalletEntry).where(WalletEntry.reference == cp.channel_payment_id))
            assert entry.entry_type == "PAYMENT" and entry.amount == -cp.amount
            assert cp.channel_transaction_id == f"WL{entry.id:010d}"
        if cp.channel_kind == "CREDIT":
            assert cp.channel_transaction_id == f"CL{cp.channel_payment_id}"
        if cp.channel_kind == "WIRE":
            assert cp.wire_reference and cp.wire_reference.startswith("W")
            if cp.status == "PROCESSING":  # waiting for a voucher, not yet expired
                assert cp.expires_at > max(c.created_at for c in cps)
    assert {"WALLET", "CREDIT", "WIRE", "ONLINE"} <= {cp.channel_kind for cp in cps if cp.status == "SUCCESS"}
    refunds = _all(Refund)
    assert refunds and all(r.status == "SUCCESS" and r.strategy == "LATEST" and r.refund_order_id.startswith("RO-")
                           for r in refunds)


def test_wallets_and_credit_ledgers(seeded):
    resellers = {r.id: r for r in _all(Reseller)}
    entries = _by(db.session.scalars(sa.select(WalletEntry).order_by(WalletEntry.created_at, WalletEntry.id)),
                  "reseller_id")
    for rid, r in resellers.items():
        running = ZERO
        for e in entries[rid]:
            running += e.amount
            assert e.balance_after == running >= 0
        assert r.wallet_balance == running >= 0
    by_code = {r.code: r for r in resellers.values()}
    assert by_code["R1001"].wallet_balance > 0 and by_code["R1002"].wallet_balance > 0
    types = {e.entry_type for es in entries.values() for e in es}
    assert {"TOPUP", "PAYMENT", "EXCESS"} <= types

    records = _all(CreditRecord)
    credit_entries = _by(db.session.scalars(sa.select(CreditEntry).order_by(CreditEntry.created_at,
                                                                              CreditEntry.id)), "reseller_id")
    for rid, r in resellers.items():
        assert r.credit_used == sum((c.outstanding_amount for c in records if c.reseller_id == rid), ZERO)
        assert r.credit_used <= r.credit_limit
        running = ZERO
        for e in credit_entries[rid]:
            running += e.amount
            assert e.used_after == running >= 0
        assert running == r.credit_used
    orders = {o.id: o for o in _all(PaymentOrder)}
    txns = {t.id: t for t in _all(PaymentTransaction)}
    repayments = [o for o in orders.values() if o.payment_type == "CREDIT_REPAYMENT"]
    repaid_by = _by([e for es in credit_entries.values() for e in es if e.entry_type == "REPAY"], "credit_record_id")
    for rec in records:
        txn, paid_order = txns[rec.transaction_id], orders[rec.payment_order_id]
        assert txn.channel_kind == "CREDIT" and txn.status == "SUCCESS" and txn.amount == rec.amount
        assert paid_order.order_id == rec.order_id and rec.reseller_id == paid_order.reseller_id
        assert rec.due_date == txn.completed_at.astimezone(SHANGHAI).date() + timedelta(
            days=resellers[rec.reseller_id].credit_term_days)
        assert rec.amount - rec.outstanding_amount == -sum((e.amount for e in repaid_by[rec.id]), ZERO)
        assert rec.status == record_status(rec)
        bound = [o for o in repayments if o.related_business_id == rec.credit_record_id]
        assert len(bound) <= 1
        for o in bound:
            assert o.related_business_type == "CREDIT_RECORD" and o.order_id == rec.order_id
            assert o.reseller_id == rec.reseller_id and o.payment_amount <= rec.amount
            assert o.paid_amount == rec.amount - rec.outstanding_amount
            assert all(t.channel_kind != "CREDIT" for t in txns.values() if t.payment_order_id == o.id)
    assert len(repayments) >= 3 and "PAID" in {o.payment_status for o in repayments}
    statuses = {rec.status for rec in records}
    assert {"REPAID", "OVERDUE", "OPEN"} <= statuses
    assert all(rec.due_date < shanghai_today() and rec.outstanding_amount > 0
               for rec in records if rec.status == "OVERDUE")


def _snapshot() -> dict:
    counts = {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
              for t in db.metadata.sorted_tables}
    balances = db.session.execute(sa.select(Reseller.code, Reseller.wallet_balance, Reseller.credit_used)
                                  .order_by(Reseller.code)).all()
    amounts = db.session.execute(sa.select(sa.func.sum(PaymentOrder.paid_amount),
                                           sa.func.sum(PaymentOrder.reserved_amount),
                                           sa.func.sum(PaymentOrder.refunded_amount))).one()
    keys = db.session.execute(sa.select(ApiClient.name, ApiClient.key_hash)).all()
    users = db.session.execute(sa.select(User.email, User.password_hash).order_by(User.email)).all()
    db.session.rollback()
    return {"counts": counts, "balances": balances, "amounts": tuple(amounts), "keys": keys, "users": users}


def test_second_run_changes_nothing(seeded):
    before = _snapshot()
    assert before["counts"]["payment_orders"] >= 180
    again = seed_demo()
    assert _snapshot() == before
    assert any("already present" in line for line in again.lines)


def test_second_run_without_env_changes_nothing(ctx, monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    monkeypatch.delenv("DEMO_API_KEY", raising=False)
    first = seed_demo()
    text = "\n".join(first.lines)
    assert "generated; shown only now" in text
    key = next(line.split(" key ")[1].split(" ")[0] for line in first.lines if line.startswith("API client"))
    assert api_clients.authenticate(key).scopes == api_clients.ALL_SCOPES
    before = _snapshot()
    second = "\n".join(seed_demo().lines)
    assert _snapshot() == before
    assert "shown at the first seed" in second and key not in second


def test_env_key_and_password_work(seeded, monkeypatch):
    client = api_clients.authenticate(API_KEY)
    assert client is not None and client.name == "demo-upstream"
    assert client.scopes == {"payments", "refunds", "credit", "finance", "disburse", "resellers", "webhooks"}
    for email in ("operator@r1001.example", "approver@r1001.example", "operator@r1002.example",
                  "finance@example.com", "finance2@example.com", "admin@example.com"):
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert verify_password(user.password_hash, PASSWORD), email
    text = "\n".join(seeded.lines)
    assert API_KEY in text and PASSWORD in text

    # A restart with another DEMO_API_KEY / DEMO_PASSWORD: the stored key and passwords follow the env.
    monkeypatch.setenv("DEMO_API_KEY", API_KEY + "-rotated")
    monkeypatch.setenv("DEMO_PASSWORD", PASSWORD + "-2")
    orders = db.session.scalar(sa.select(sa.func.count(PaymentOrder.id)))
    db.session.rollback()
    seed_demo()
    assert api_clients.authenticate(API_KEY) is None
    assert api_clients.authenticate(API_KEY + "-rotated").name == "demo-upstream"
    admin = db.session.scalar(sa.select(User).where(User.email == "admin@example.com"))
    assert verify_password(admin.password_hash, PASSWORD + "-2") and admin.session_version == 2
    assert db.session.scalar(sa.select(sa.func.count(PaymentOrder.id))) == orders


def test_gateway_secrets_follow_sandbox_merchants(ctx, demo_env, monkeypatch):
    monkeypatch.setenv("SANDBOX_MERCHANTS", "MCH1001:api-one|api-old:cb-one,MCH1002:api-two:cb-two")
    seed_demo()
    channels = {c.code: json.loads(crypto.decrypt(c.secrets_enc)) for c in _all(Channel) if c.secrets_enc}
    assert channels["ONLINE_UNIONPAY"] == {"api_secret": "api-one", "callback_secret": "cb-one"}
    assert channels["ONLINE_EBANK"] == {"api_secret": "api-two", "callback_secret": "cb-two"}
    assert len(channels["ONLINE_ALIPAY_B2B"]["api_secret"]) == 64  # not named: random
    db.session.rollback()
    monkeypatch.setenv("SANDBOX_MERCHANTS", "MCH1001:api-new:cb-new")
    report = seed_demo()
    unionpay = db.session.scalar(sa.select(Channel).where(Channel.code == "ONLINE_UNIONPAY"))
    stored = json.loads(crypto.decrypt(unionpay.secrets_enc))
    assert stored["api_secret"] == "api-new" and stored["api_secret_previous"] == "api-one"
    assert any("ONLINE_UNIONPAY" in line for line in report.lines)


def test_short_env_values_are_refused(ctx, monkeypatch):
    from app.domain.errors import ValidationFailed

    monkeypatch.setenv("DEMO_PASSWORD", "short")
    with pytest.raises(ValidationFailed):
        seed_demo()
    assert db.session.scalar(sa.select(sa.func.count(Reseller.id))) == 0


def test_api_lists_the_demo_orders(app, client, demo_env):
    with app.app_context():
        seed_demo()
        api_clients.clear_cache()
    headers = {"Authorization": f"Bearer {API_KEY}"}
    r = client.get("/api/v1/integration/payment", query_string={"resellerId": "R1001"}, headers=headers)
    assert r.status_code == 200, r.json
    assert r.json["data"]["total"] > 100
    order = r.json["data"]["items"][0]
    s = client.get(f"/api/v1/integration/payment/{order['paymentId']}/status", headers=headers)
    assert s.status_code == 200 and s.json["data"]["orderId"] == order["orderId"]
    limit = client.get("/api/v1/integration/credit/R1001/limit", headers=headers)
    assert limit.status_code == 200, limit.json
    with app.app_context():
        used = db.session.scalar(sa.select(Reseller.credit_used).where(Reseller.code == "R1001"))
    assert Decimal(limit.json["data"]["usedCreditLimit"]) == used > 0


def test_cli_prints_the_report(app, ctx, demo_env):
    # ``flask`` (FlaskGroup) pushes the app context itself; the test runner does not.
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    assert "payment orders: created" in result.output and API_KEY in result.output
    again = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert again.exit_code == 0 and "already present" in again.output


def test_cli_refuses_a_short_key(app, ctx, monkeypatch):
    monkeypatch.setenv("DEMO_API_KEY", "too-short")
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 2 and "DEMO_API_KEY" in result.output


def test_past_days_are_reconciled_with_every_class_and_receipts_wait(seeded):
    line = next(x for x in seeded.lines if x.startswith("  reconciliation:"))
    assert "(every-class)" in line and "(dropped)" in line and "(clean)" in line, line
    runs = _all(ReconciliationRun)
    online = [r for r in runs if r.channel_kind == "ONLINE"]
    assert len(online) == 3 and {r.state for r in runs} == {"COMPLETED"}
    assert {r.channel_kind for r in runs} == {"ONLINE", "WALLET", "CREDIT"}
    seen = {cls for r in online for cls, f in r.figures.items() if isinstance(f, dict) and f["count"]}
    assert seen == {"MATCHED", "AMOUNT_MISMATCH", "STATUS_MISMATCH", "MISSING_IN_SYSTEM", "MISSING_IN_CHANNEL",
                    "DUPLICATE"}
    newest, middle, oldest = sorted(online, key=lambda r: r.day, reverse=True)
    assert all(newest.figures[c]["count"] == 1 for c in ("AMOUNT_MISMATCH", "STATUS_MISMATCH", "MISSING_IN_SYSTEM",
                                                          "MISSING_IN_CHANNEL", "DUPLICATE"))
    assert (middle.exception_count, oldest.exception_count) == (1, 0)
    assert oldest.figures["MATCHED"]["count"] >= 3 and middle.figures["MATCHED"]["count"] >= 2
    assert sorted(e.exception_class for e in _all(ReconciliationException) if e.state == "OPEN") == sorted(
        ["AMOUNT_MISMATCH", "STATUS_MISMATCH", "MISSING_IN_SYSTEM", "MISSING_IN_CHANNEL", "DUPLICATE",
         "MISSING_IN_CHANNEL"])
    receipts = _all(BankReceipt)
    assert [(r.state, r.reason) for r in receipts] == [("OPEN", "NO_REFERENCE"), ("OPEN", "NO_REFERENCE"),
                                                       ("OPEN", "UNKNOWN_REFERENCE")]
    # The money invariants after these runs: test_order_invariants_hold_exactly (the same ``seeded``).
