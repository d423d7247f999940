"""Disbursements (docs/API.md §9, docs/DOMAIN.md §9) against the real sandbox gateway process: every
``payout_outcome``, polling to MANUAL on a fake clock, the signed payout callback, validation,
idempotency under concurrency, masking of account numbers, finance settlement, notifyUrl."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.channels.online import signature
from app.domain.errors import Forbidden, StateConflict
from app.domain.event_types import NOTIFY_URL_ROW
from app.extensions import db
from app.models import AuditEntry, Disbursement, Merchant, OutboxEvent
from app.models.types import now_utc
from app.services.payouts import manual as payout_manual
from app.services.payouts import notify as payout_notify
from app.services.payouts import polling as payout_polling
from sandbox.testing import CallbackReceiver, wait_until
from tests.support.alerts import alerts_of
from tests.support.engine import FINANCE, OPERATOR, detached
from tests.support.online_gateway import CALLBACK_SECRET, MERCHANT

ACCOUNT = "6222020000001234567"
_n = {"i": 0}


@pytest.fixture
def payouts(app, online, make_api_key):
    """M1001 (single 50,000, daily 100,000) and M2002 (inactive); an API caller with scope disburse."""
    db.session.add(Merchant(merchant_id="M1001", name="Demo", active=True, single_limit=Decimal("50000.00"),
                            daily_limit=Decimal("100000.00")))
    db.session.add(Merchant(merchant_id="M2002", name="Off", active=False, single_limit=Decimal("50000.00"),
                            daily_limit=Decimal("100000.00")))
    db.session.commit()
    online.set_faults(payout_outcome="success", payout_delay_ms=200, payout_timeout_sleep_ms=15000)
    keys = ("WEBHOOK_ALLOWED_HOSTS", "DISBURSE_BANK_TIMEOUT_SECONDS")
    saved = {k: app.config[k] for k in keys if k in app.config}
    app.config["WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"  # the notifyUrl receivers of these tests
    key = make_api_key("disburse")
    yield online, key
    for k in keys:
        app.config.pop(k, None)
    app.config.update(saved)


def body(**kw) -> dict:
    _n["i"] += 1
    b = {"requestId": f"REQ{_n['i']:06d}", "merchantId": "M1001", "bankAccountNo": ACCOUNT,
         "bankAccountName": "Acme Trading Co.", "bankCode": "ICBC", "amount": "500.00", "currency": "CNY",
         "purpose": "rebate"}
    b.update(kw)
    return {k: v for k, v in b.items() if v is not None}


def post(client, key, b):
    return client.post("/api/v1/disburse", json=b, headers={"Authorization": f"Bearer {key}"})


def row(order_no: str) -> Disbursement:
    db.session.expire_all()
    return detached(db.session.scalar(sa.select(Disbursement).where(Disbursement.order_no == order_no)))


def count_rows() -> int:
    n = db.session.scalar(sa.select(sa.func.count()).select_from(Disbursement))
    db.session.rollback()
    return n


def create(client, key, **kw):
    r = post(client, key, body(**kw))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["data"]


# --- every payout_outcome -------------------------------------------------------------------------

def test_sync_success(client, payouts):
    gw, key = payouts
    data = create(client, key)
    assert data["status"] == "SUCCESS" and data["duplicate"] is False
    d = row(data["orderNo"])
    assert d.bank_serial_no.startswith("BS") and d.completed_at is not None
    r = client.get(f"/api/v1/disburse/{data['orderNo']}/status", headers={"Authorization": f"Bearer {key}"})
    assert r.get_json()["data"] == {"orderNo": data["orderNo"], "status": "SUCCESS",
                                    "bankSerialNo": d.bank_serial_no, "failReason": None}
    assert gw.stats()["payouts_by_merchant_payout_no"] == {data["orderNo"]: 1}


def test_sync_fail(client, payouts):
    gw, key = payouts
    gw.set_faults(payout_outcome="fail")
    data = create(client, key)
    assert data["status"] == "FAILED"
    assert row(data["orderNo"]).fail_reason == "ACCOUNT_FROZEN"


@pytest.mark.parametrize("outcome,final", [("async_success", "SUCCESS"), ("async_fail", "FAILED")])
def test_async_result_by_callback(client, payouts, outcome, final):
    gw, key = payouts
    gw.set_faults(payout_outcome=outcome)
    data = create(client, key)
    assert data["status"] == "PROCESSING"
    assert row(data["orderNo"]).next_poll_at is not None
    d = wait_until(lambda: (x := row(data["orderNo"])).status == final and x, timeout=10)
    assert d.next_poll_at is None
    events = db.session.scalars(sa.select(OutboxEvent).where(OutboxEvent.event_type == "disbursement.completed")).all()
    assert [e.payload["status"] for e in events] == [final]
    db.session.rollback()


def test_processing_forever_polls_with_backoff_then_manual(client, payouts):
    gw, key = payouts
    gw.set_faults(payout_outcome="processing_forever")
    order_no = create(client, key)["orderNo"]
    d = row(order_no)
    assert d.status == "PROCESSING"
    now = d.next_poll_at
    assert payout_polling.poll_due(now=now - timedelta(seconds=1)) == {"polled": 0, "final": 0, "manual": 0}
    waits = []
    for _ in range(payout_polling.MAX_POLL_ATTEMPTS - 1):
        assert payout_polling.poll_due(now=now)["polled"] == 1
        d = row(order_no)
        assert d.status == "PROCESSING"
        waits.append((d.next_poll_at - now).total_seconds())
        now = d.next_poll_at
    assert waits == [5 * 2 ** i for i in range(1, payout_polling.MAX_POLL_ATTEMPTS)]
    assert payout_polling.poll_due(now=now) == {"polled": 1, "final": 0, "manual": 1}
    d = row(order_no)
    assert d.status == "MANUAL" and d.next_poll_at is None
    assert alerts_of("payout_manual") == [(order_no, "OPEN", 1)]
    assert gw.stats()["payouts_by_merchant_payout_no"] == {order_no: 1}
    # finance settles it; nobody else may
    with pytest.raises(Forbidden):
        payout_manual.settle_manual(OPERATOR, "reseller_operator", order_no, "SUCCESS", bank_serial_no="BS1")
    db.session.rollback()
    settled = payout_manual.settle_manual(FINANCE, "finance", order_no, "SUCCESS", bank_serial_no="BS20261123001")
    assert settled.status == "SUCCESS" and settled.bank_serial_no == "BS20261123001"
    assert alerts_of("payout_manual") == [(order_no, "RESOLVED", 1)]  # settled: the alert is resolved
    with pytest.raises(StateConflict):
        payout_manual.settle_manual(FINANCE, "finance", order_no, "FAILED", reason="x")
    db.session.rollback()
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "disbursement.settle_manual"))
    assert entry.actor_id == FINANCE.id and entry.target_id == order_no and entry.after["status"] == "SUCCESS"
    db.session.rollback()


def test_manual_settled_as_failed_with_reason(client, payouts):
    gw, key = payouts
    gw.set_faults(payout_outcome="processing_forever")
    order_no = create(client, key)["orderNo"]
    now = now_utc()
    for _ in range(payout_polling.MAX_POLL_ATTEMPTS):
        now += timedelta(hours=1)
        payout_polling.poll_due(now=now)
    assert row(order_no).status == "MANUAL"
    d = payout_manual.settle_manual(FINANCE, "finance", order_no, "FAILED", reason="returned by bank (statement)")
    assert d.status == "FAILED" and d.fail_reason == "returned by bank (statement)"
    db.session.rollback()


def test_timeout_never_pays_twice_and_the_outcome_is_found_by_query(app, client, payouts):
    gw, key = payouts
    app.config["DISBURSE_BANK_TIMEOUT_SECONDS"] = 0.5
    gw.set_faults(payout_outcome="timeout", payout_timeout_sleep_ms=3000, drop_rate=1.0)  # no callback
    data = create(client, key)
    assert data["status"] == "PROCESSING"
    order_no = data["orderNo"]
    assert gw.stats()["payouts_by_merchant_payout_no"] == {order_no: 1}
    later = now_utc() + timedelta(minutes=1)

    def settled():
        payout_polling.poll_due(now=later)
        return row(order_no).status == "SUCCESS"

    wait_until(settled, timeout=10, interval=0.3)
    assert row(order_no).bank_serial_no.startswith("BS")
    assert gw.stats()["payouts_by_merchant_payout_no"] == {order_no: 1}


# --- the bank's callback ----------------------------------------------------------------------------

def _callback(order_no, amount="500.00", status="SUCCESS", secret=CALLBACK_SECRET):
    payload = {"eventId": "EV" + "0" * 32, "type": "payout", "merchantNo": MERCHANT, "merchantPayoutNo": order_no,
               "payoutId": "GP1", "amount": amount, "status": status, "bankSerialNo": "BS99",
               "failReason": None, "completedAt": "2026-11-23T10:00:00+08:00"}
    raw = json.dumps(payload).encode()
    return raw, {"Content-Type": "application/json", signature.HEADER: signature.sign(secret, raw)}


def test_forged_or_mismatched_callbacks_are_refused(client, payouts):
    gw, key = payouts
    gw.set_faults(payout_outcome="processing_forever")
    order_no = create(client, key)["orderNo"]
    for raw, headers in (_callback(order_no, secret="forged"), _callback(order_no, amount="501.00"),
                         _callback("DB000000000000")):
        r = client.post("/api/v1/disburse/callback", data=raw, headers=headers)
        assert r.status_code == 400
    r = client.post("/api/v1/disburse/callback", data=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert row(order_no).status == "PROCESSING"
    raw, headers = _callback(order_no)
    for _ in range(2):  # the first applies, a duplicate is acknowledged
        r = client.post("/api/v1/disburse/callback", data=raw, headers=headers)
        assert (r.status_code, r.get_data(as_text=True)) == (200, "success")
    d = row(order_no)
    assert d.status == "SUCCESS" and d.bank_serial_no == "BS99"
    late, headers = _callback(order_no, status="FAILED")
    assert client.post("/api/v1/disburse/callback", data=late, headers=headers).status_code == 200
    assert row(order_no).status == "SUCCESS"


def test_callback_route_is_in_openapi(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "/disburse/callback" in json.dumps(doc["paths"]) or any("disburse/callback" in p for p in doc["paths"])


# --- validation and idempotency -----------------------------------------------------------------

@pytest.mark.parametrize("change,field", [
    ({"bankAccountNo": "12345"}, "bankAccountNo"),
    ({"bankAccountNo": "6222-0200-0000"}, "bankAccountNo"),
    ({"bankAccountNo": "1" * 33}, "bankAccountNo"),
    ({"bankCode": "HSBC"}, "bankCode"),
    ({"amount": "50000.01"}, "amount"),
    ({"merchantId": "M9999"}, "merchantId"),
    ({"merchantId": "M2002"}, "merchantId"),
    ({"amount": "0"}, "amount"),
    ({"amount": "-1.00"}, "amount"),
    ({"amount": "1.005"}, "amount"),
    ({"currency": "USD"}, "currency"),
    ({"requestId": "refund:TXN20261123000001"}, "requestId"),  # reserved for the payouts of WIRE refunds
])
def test_bad_input_is_422_naming_the_field_and_nothing_is_stored(client, payouts, change, field):
    gw, key = payouts
    r = post(client, key, body(**change))
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["code"] == "VALIDATION_ERROR"
    assert field in [e["field"] for e in r.get_json()["errors"]]
    assert count_rows() == 0
    assert gw.stats()["payouts"] == 0


def test_daily_limit(client, payouts):
    gw, key = payouts
    create(client, key, amount="50000.00")
    gw.set_faults(payout_outcome="fail")
    create(client, key, amount="50000.00")  # FAILED: does not count
    gw.set_faults(payout_outcome="success")
    create(client, key, amount="49999.99")
    r = post(client, key, body(amount="0.02"))
    assert r.status_code == 422 and r.get_json()["errors"][0]["field"] == "amount"
    assert count_rows() == 3
    create(client, key, amount="0.01")


def test_replay_returns_current_state_and_other_body_is_refused(client, payouts):
    gw, key = payouts
    gw.set_faults(payout_outcome="processing_forever")
    b = body()
    first = post(client, key, b)
    assert first.status_code == 201
    order_no = first.get_json()["data"]["orderNo"]
    raw, headers = _callback(order_no)
    assert client.post("/api/v1/disburse/callback", data=raw, headers=headers).status_code == 200
    again = post(client, key, b)
    assert again.status_code == 200
    assert again.get_json()["data"] == {"orderNo": order_no, "status": "SUCCESS", "duplicate": True}
    other = post(client, key, {**b, "amount": "501.00"})
    assert other.status_code == 422 and other.get_json()["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert count_rows() == 1
    assert gw.stats()["payouts_by_merchant_payout_no"] == {order_no: 1}


def test_scope_is_required(client, payouts, make_api_key):
    r = post(client, make_api_key("payments"), body())
    assert r.status_code == 403


def test_concurrent_replays_make_one_payout(app, payouts):
    gw, key = payouts
    gw.set_faults(payout_outcome="async_success", payout_delay_ms=2000)
    b = body()
    barrier = threading.Barrier(20)

    def call(_):
        c = app.test_client()
        barrier.wait()
        r = post(c, key, b)
        return r.status_code, r.get_json()["data"]["orderNo"]

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(call, range(20)))
    assert sorted(s for s, _ in results) == [200] * 19 + [201]
    assert len({n for _, n in results}) == 1
    assert count_rows() == 1
    assert gw.stats()["payouts_by_merchant_payout_no"] == {results[0][1]: 1}


# --- masking and notifyUrl --------------------------------------------------------------------------

def test_account_number_is_never_shown_unmasked(client, payouts, caplog):
    gw, key = payouts
    caplog.set_level("DEBUG")
    with CallbackReceiver() as rx:
        data = create(client, key, notifyUrl=rx.url("/notify"))
        r = client.get(f"/api/v1/disburse/{data['orderNo']}/status", headers={"Authorization": f"Bearer {key}"})
        assert payout_notify.deliver_notifications()["sent"] == 1
        (received,) = rx.wait_for(1)
    d = row(data["orderNo"])
    assert d.account_no_masked == "6222 **** **** 4567" and ACCOUNT not in d.account_no_enc
    texts = [json.dumps(r.get_json()), received.body.decode(), caplog.text]
    texts += [json.dumps([e.before, e.after, e.target_id]) for e in db.session.scalars(sa.select(AuditEntry))]
    texts += [json.dumps(e.payload) for e in db.session.scalars(sa.select(OutboxEvent))]
    db.session.rollback()
    for text in texts:
        assert ACCOUNT not in text
    assert received.json()["data"]["bankAccountNo"] == "6222 **** **** 4567"


def test_notify_url_is_signed_and_retried(app, client, payouts):
    gw, key = payouts
    with CallbackReceiver(status=500) as rx:
        order_no = create(client, key, notifyUrl=rx.url("/notify"))["orderNo"]
        assert payout_notify.deliver_notifications() == {"sent": 0, "retrying": 1, "dead": 0}
        assert payout_notify.deliver_notifications() == {"sent": 0, "retrying": 0, "dead": 0}  # not due yet
        rx.status = 200
        assert payout_notify.deliver_notifications(now=now_utc() + timedelta(seconds=6))["sent"] == 1
        first, second = rx.wait_for(2)
    assert first.body == second.body and first.headers["webhook-id"] == second.headers["webhook-id"]
    data = second.json()
    assert data["type"] == "disbursement.completed" and data["data"]["orderNo"] == order_no
    with app.app_context():
        secret = payout_notify.notify_secret()
    key_bytes = base64.b64decode(secret.removeprefix("whsec_"))
    msg = f"{second.headers['webhook-id']}.{second.headers['webhook-timestamp']}.".encode() + second.body
    expected = "v1," + base64.b64encode(hmac.new(key_bytes, msg, hashlib.sha256).digest()).decode()
    assert second.headers["webhook-signature"] == expected


@pytest.mark.parametrize("url", ["http://10.0.0.5/notify", "http://127.0.0.2/notify", "http://[::1]/notify",
                                 "http://169.254.169.254/latest/meta-data/", "ftp://93.184.215.14/notify",
                                 "http://user:pw@93.184.215.14/", "notify"])
def test_a_notify_url_outside_the_address_policy_is_refused_at_creation(client, payouts, url):
    _, key = payouts  # the allow-list holds 127.0.0.1 only
    before = count_rows()
    r = post(client, key, body(notifyUrl=url))
    assert r.status_code == 422, r.get_json()
    assert [e["field"] for e in r.get_json()["errors"]] == ["notifyUrl"]
    assert count_rows() == before


def test_a_notify_url_is_checked_again_at_send_time(app, client, payouts):
    """Accepted while its host was allowed; the allow-list no longer has it, so it is never called."""
    _, key = payouts
    with CallbackReceiver() as rx:
        create(client, key, notifyUrl=rx.url("/notify"))
        app.config["WEBHOOK_ALLOWED_HOSTS"] = ""
        assert payout_notify.deliver_notifications() == {"sent": 0, "retrying": 1, "dead": 0}
        payload = db.session.scalar(sa.select(OutboxEvent.payload).where(OutboxEvent.event_type == NOTIFY_URL_ROW))
        db.session.rollback()
        assert "loopback" in payload["_delivery"]["lastError"] and payload["_delivery"]["lastError"].startswith(
            "not sent")
        assert rx.requests == []


def test_cli_creates_and_updates_a_merchant(app, ctx):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["merchants", "create", "M3003", "--name", "Supplier pay", "--single-limit", "1000.00",
                            "--daily-limit", "5000.00"])
    assert r.exit_code == 0 and "created merchant M3003" in r.output
    r = runner.invoke(args=["merchants", "create", "M3003", "--name", "Supplier pay", "--single-limit", "2000.00",
                            "--daily-limit", "5000.00", "--inactive"])
    assert r.exit_code == 0 and "updated merchant M3003" in r.output
    m = db.session.scalar(sa.select(Merchant).where(Merchant.merchant_id == "M3003"))
    assert (m.single_limit, m.active) == (Decimal("2000.00"), False)
    db.session.rollback()
    r = runner.invoke(args=["merchants", "create", "M3004", "--name", "x", "--single-limit", "0",
                            "--daily-limit", "1"])
    assert r.exit_code == 2
