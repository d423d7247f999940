"""Daily statement CSV, the admin endpoints (knobs, reset, stats, token) and the in-process factory."""

from __future__ import annotations

import csv
import io
import time

import pytest

from sandbox.app import create_sandbox_app
from sandbox.testing import CallbackReceiver, http_request, start_sandbox, wait_until
from sandbox.util import shanghai_day


def test_statement_csv_for_today(sandbox, merchant, new_payment, receiver):
    sandbox.set_faults(statement_delay_ms=-86_400_000)  # today's statement, before the day closes
    paid, declined, pending = new_payment("100.00"), new_payment("7.50"), new_payment("1.00")
    sandbox.complete_payment(paid["gatewayTxnId"], "SUCCESS")
    sandbox.complete_payment(declined["gatewayTxnId"], "FAILED")
    refund = merchant.call("/api/refunds", merchantRefundNo="ST-RF1", merchantOrderNo=paid["merchantOrderNo"],
                           amount="30.00", notifyUrl=receiver.url()).json()
    payout = merchant.call("/api/payouts", merchantPayoutNo="ST-PO1", accountNo="6222020000000001",
                           accountName="Acme", bankCode="ICBC", amount="12.34").json()
    wait_until(lambda: merchant.call("/api/refunds/query", merchantRefundNo="ST-RF1").json()["status"] == "SUCCESS")

    r = merchant.call("/api/statements", date=shanghai_day(time.time()))
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(r.text))
    assert reader.fieldnames == ["gatewayTxnId", "merchantOrderNo", "type", "amount", "status", "completedAt"]
    rows = {row["gatewayTxnId"]: row for row in reader}
    assert set(rows) == {paid["gatewayTxnId"], declined["gatewayTxnId"], refund["refundId"], payout["payoutId"]}
    assert rows[paid["gatewayTxnId"]] | {"completedAt": ""} == {
        "gatewayTxnId": paid["gatewayTxnId"], "merchantOrderNo": paid["merchantOrderNo"], "type": "payment",
        "amount": "100.00", "status": "SUCCESS", "completedAt": ""}
    assert rows[declined["gatewayTxnId"]]["status"] == "FAILED"
    assert rows[refund["refundId"]]["type"] == "refund" and rows[refund["refundId"]]["amount"] == "-30.00"
    assert rows[refund["refundId"]]["merchantOrderNo"] == "ST-RF1"
    assert rows[payout["payoutId"]]["type"] == "payout" and rows[payout["payoutId"]]["amount"] == "12.34"
    assert all(row["completedAt"].endswith("+08:00") for row in rows.values())
    assert pending["gatewayTxnId"] not in rows

    other_day = merchant.call("/api/statements", date="2001-01-01")
    assert other_day.status == 200 and other_day.text.strip().count("\n") == 0  # header only
    other_merchant = sandbox.client("MCH2002").call("/api/statements", date=shanghai_day(time.time()))
    assert other_merchant.text.strip().count("\n") == 0
    bad = merchant.call("/api/statements", date="2024-13-01")
    assert bad.status == 400 and bad.json()["code"] == "INVALID_REQUEST"


def _lines(r) -> list[dict]:
    assert r.status == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text)))


def test_statement_waits_for_the_day_to_close_plus_the_delay(sandbox, merchant):
    today = shanghai_day(time.time())
    r = merchant.call("/api/statements", date=today)
    assert r.status == 409 and r.json()["code"] == "STATEMENT_NOT_READY"
    assert _lines(merchant.call("/api/statements", date="2001-01-01")) == []  # long closed
    sandbox.set_faults(statement_delay_ms=400 * 86_400_000)  # late by 400 days
    ten_days_ago = shanghai_day(time.time() - 10 * 86400)
    assert merchant.call("/api/statements", date=ten_days_ago).json()["code"] == "STATEMENT_NOT_READY"
    assert _lines(merchant.call("/api/statements", date="2001-01-01")) == []
    for bad in (-86_400_001, "x", 1.5):
        assert sandbox.admin("PUT", "/_sandbox/faults", {"statement_delay_ms": bad}).status == 400


def test_statement_fault_knobs_falsify_the_lines(sandbox, merchant, new_payment):
    sandbox.set_faults(statement_delay_ms=-86_400_000)
    today = shanghai_day(time.time())
    paid, declined = new_payment("100.00"), new_payment("7.50")
    sandbox.complete_payment(paid["gatewayTxnId"], "SUCCESS")
    sandbox.complete_payment(declined["gatewayTxnId"], "FAILED")
    honest = _lines(merchant.call("/api/statements", date=today))
    assert [(x["amount"], x["status"]) for x in honest] == [("100.00", "SUCCESS"), ("7.50", "FAILED")]

    sandbox.set_faults(statement_drop_rate=1.0)
    assert _lines(merchant.call("/api/statements", date=today)) == []
    sandbox.set_faults(statement_drop_rate=0.0, statement_amount_change_rate=1.0)
    assert [x["amount"] for x in _lines(merchant.call("/api/statements", date=today))] == ["101.00", "8.50"]
    sandbox.set_faults(statement_amount_change_rate=0.0, statement_duplicate_rate=1.0)
    assert [x["gatewayTxnId"] for x in _lines(merchant.call("/api/statements", date=today))] == [
        paid["gatewayTxnId"], paid["gatewayTxnId"], declined["gatewayTxnId"], declined["gatewayTxnId"]]
    sandbox.set_faults(statement_duplicate_rate=0.0, statement_failed_as_success_rate=1.0)
    assert [x["status"] for x in _lines(merchant.call("/api/statements", date=today))] == ["SUCCESS", "SUCCESS"]
    sandbox.set_faults(statement_failed_as_success_rate=0.0, statement_unknown_success=2)
    extra = _lines(merchant.call("/api/statements", date=today))[2:]
    assert [(x["merchantOrderNo"][:3], x["status"], x["type"]) for x in extra] == [("CPX", "SUCCESS", "payment")] * 2
    assert len({x["gatewayTxnId"] for x in extra}) == 2


def test_line_faults_pick_chosen_lines_and_the_download_may_be_slow(sandbox, merchant, new_payment):
    sandbox.set_faults(statement_delay_ms=-86_400_000)
    today = shanghai_day(time.time())
    made = {name: new_payment(amount) for name, amount in (("kept", "10.00"), ("dropped", "20.00"),
                                                          ("changed", "30.00"), ("twice", "40.00"),
                                                          ("declined", "50.00"))}
    for name, p in made.items():
        sandbox.complete_payment(p["gatewayTxnId"], "FAILED" if name == "declined" else "SUCCESS")
    order_no = {name: p["merchantOrderNo"] for name, p in made.items()}
    sandbox.set_faults(statement_line_faults={order_no["dropped"]: "drop", order_no["changed"]: "amount_change",
                                              made["twice"]["gatewayTxnId"]: "duplicate",
                                              order_no["declined"]: "failed_as_success"},
                       statement_latency_ms=300)
    started = time.monotonic()
    for _ in range(2):  # the same every time: nothing is rolled
        lines = _lines(merchant.call("/api/statements", date=today))
        assert [(x["merchantOrderNo"], x["amount"], x["status"]) for x in lines] == [
            (order_no["kept"], "10.00", "SUCCESS"), (order_no["changed"], "31.00", "SUCCESS"),
            (order_no["twice"], "40.00", "SUCCESS"), (order_no["twice"], "40.00", "SUCCESS"),
            (order_no["declined"], "50.00", "SUCCESS")]
    assert time.monotonic() - started >= 0.6
    for bad in ({"x": "explode"}, {"": "drop"}, ["drop"], {"x" * 65: "drop"}):
        assert sandbox.admin("PUT", "/_sandbox/faults", {"statement_line_faults": bad}).status == 400
    assert sandbox.admin("PUT", "/_sandbox/faults", {"statement_latency_ms": -1}).status == 400
    sandbox.reset()
    assert sandbox.faults()["statement_line_faults"] == {}


def test_faults_get_put_and_validation(sandbox):
    knobs = sandbox.faults()
    assert knobs["callback_retry_base_ms"] == 50 and knobs["drop_rate"] == 0.0 and knobs["payout_outcome"] == "success"
    merged = sandbox.set_faults(drop_rate=0.25, payout_outcome="async_fail")
    assert merged["drop_rate"] == 0.25 and merged["payout_outcome"] == "async_fail"
    assert merged["callback_retry_base_ms"] == 50  # others kept
    for bad in ({"no_such_knob": 1}, {"drop_rate": 2}, {"payout_outcome": "maybe"}, {"out_of_order": "yes"},
                {"callback_max_attempts": 0}, {"seed": "x"}):
        r = sandbox.admin("PUT", "/_sandbox/faults", bad)
        assert r.status == 400 and r.json()["code"] == "INVALID_REQUEST", bad
    assert sandbox.faults()["drop_rate"] == 0.25  # a rejected PUT changes nothing
    sandbox.reset()
    assert sandbox.faults()["drop_rate"] == 0.0 and sandbox.faults()["payout_outcome"] == "success"


def test_stats_reset_and_health(sandbox, new_payment):
    new_payment()
    assert sandbox.stats()["payments"] == 1
    sandbox.reset()
    stats = sandbox.stats()
    assert {k: stats[k] for k in ("payments", "payouts", "refunds", "callbacks_sent", "callbacks_dropped",
                                  "callbacks_acked")} == dict.fromkeys(
        ("payments", "payouts", "refunds", "callbacks_sent", "callbacks_dropped", "callbacks_acked"), 0)
    assert stats["payouts_by_merchant_payout_no"] == {}
    assert http_request("GET", sandbox.base_url + "/healthz").status == 200
    r = http_request("GET", sandbox.base_url + "/_sandbox/payments/GW0")
    assert r.status == 404 and r.json()["code"] == "ORDER_NOT_FOUND"


def test_admin_token_and_env_free_start(tmp_path):
    gw = start_sandbox(admin_token="tok-123", faults={"seed": 1}, workdir=str(tmp_path))
    try:
        assert http_request("GET", gw.base_url + "/_sandbox/stats").status == 401
        assert http_request("GET", gw.base_url + "/_sandbox/stats", headers={"X-Sandbox-Admin": "nope"}).status == 401
        assert gw.stats()["payments"] == 0  # the helper sends the token
        assert http_request("GET", gw.base_url + "/healthz").status == 200  # never needs it
        assert gw.client().call("/api/payments/query", merchantOrderNo="X").status == 404  # nor the API
    finally:
        assert gw.stop() == 0  # SIGTERM → graceful exit
    assert (tmp_path / "sandbox.db").exists()


def test_bad_startup_arguments_fail_fast(tmp_path):
    with pytest.raises(RuntimeError, match="unknown knob"):
        start_sandbox(faults={"nope": 1}, workdir=str(tmp_path))


def test_in_process_factory(tmp_path):
    app = create_sandbox_app({"db_path": str(tmp_path / "gw.db"), "merchants": ["M1:api:cb"],
                              "faults": {"processing_delay_ms": 0}})
    gateway = app.extensions["sandbox"]
    client = app.test_client()
    with CallbackReceiver() as receiver:
        from sandbox import signing

        body = (b'{"merchantNo":"M1","merchantOrderNo":"IP1","amount":"8.00","subject":"s",'
                b'"notifyUrl":"%s","returnUrl":"http://127.0.0.1:9/r"}' % receiver.url().encode())
        r = client.post("/api/payments", data=body, headers={"X-Gateway-Signature": signing.sign("api", body)},
                        content_type="application/json")
        assert r.status_code == 200 and r.json["payUrl"].startswith("http://localhost/pay/GW")
        txn = r.json["gatewayTxnId"]
        assert client.post(f"/pay/{txn}/processing").status_code == 303
        gateway.run_due_once()  # resolves (delay 0) and delivers, synchronously
        event = receiver.wait_for(1)[0].json()
        assert event["status"] == "SUCCESS" and event["merchantOrderNo"] == "IP1"
    gateway.close()


def test_cli_reads_environment_and_arguments_win(monkeypatch, tmp_path):
    from sandbox.__main__ import build_config

    monkeypatch.setenv("SANDBOX_MERCHANTS", "M1:a1|a0:c1, M2:a2:c2")
    monkeypatch.setenv("SANDBOX_PORT", "8123")
    monkeypatch.setenv("SANDBOX_DB", str(tmp_path / "env.db"))
    monkeypatch.setenv("SANDBOX_FAULTS", '{"drop_rate": 0.5}')
    args, cfg = build_config([])
    assert args.port == 8123 and cfg.db_path == str(tmp_path / "env.db")
    assert set(cfg.merchants) == {"M1", "M2"} and cfg.merchants["M1"].api_secrets == ("a1", "a0")
    assert cfg.faults == {"drop_rate": 0.5}
    args, cfg = build_config(["--port", "9", "--merchant", "X:a:c", "Y:b:d", "--faults", "{}"])
    assert args.port == 9 and set(cfg.merchants) == {"X", "Y"} and cfg.faults == {}
    with pytest.raises(SystemExit):
        build_config(["--merchant", "bad-spec"])
