"""Callback delivery faults: drop, duplicate, retry with backoff, give up, out-of-order, resend, delay."""

from __future__ import annotations

import time

from sandbox import signing
from sandbox.testing import wait_until


def test_drop_rate_one_means_no_callback_but_query_shows_success(sandbox, merchant, new_payment, receiver):
    sandbox.set_faults(drop_rate=1.0, callback_max_attempts=3)
    p = new_payment()
    sandbox.complete_payment(p["gatewayTxnId"], "SUCCESS")
    stats = wait_until(lambda: (s := sandbox.stats())["callbacks_gave_up"] == 1 and s, timeout=5)
    assert receiver.requests == []
    assert stats["callbacks_dropped"] == 3 and stats["callbacks_sent"] == 0 and stats["callbacks_acked"] == 0
    q = merchant.call("/api/payments/query", merchantOrderNo=p["merchantOrderNo"]).json()
    assert q["status"] == "SUCCESS"
    (cb,) = sandbox.payment(p["gatewayTxnId"])["callbacks"]
    assert [d["outcome"] for d in cb["deliveries"]] == ["DROPPED"] * 3 and cb["status"] == "GAVE_UP"


def test_duplicate_rate_one_sends_the_same_event_twice(sandbox, new_payment, receiver):
    sandbox.set_faults(duplicate_rate=1.0)
    p = new_payment()
    sandbox.complete_payment(p["gatewayTxnId"], "SUCCESS")
    first, second = receiver.wait_for(2)
    assert first.json()["eventId"] == second.json()["eventId"]
    assert first.body == second.body
    for cb in (first, second):
        assert signing.verify(sandbox.callback_secret(), cb.signature, cb.body)
    stats = wait_until(lambda: (s := sandbox.stats())["callbacks_acked"] == 1 and s)
    assert stats["callbacks_sent"] == 2


def test_failed_acknowledgement_is_retried_with_backoff(sandbox, new_payment, receiver):
    answers = iter([(500, b"oops"), (200, b"fail"), (302, b"")])
    receiver.responder = lambda req: next(answers, (200, b"success"))
    p = new_payment()
    sandbox.complete_payment(p["gatewayTxnId"], "SUCCESS")
    calls = receiver.wait_for(4, timeout=5)
    assert len({c.json()["eventId"] for c in calls}) == 1
    gaps = [b.received_at - a.received_at for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps[0] >= 0.04 and gaps[1] >= 0.09 and gaps[2] >= 0.18  # 50 ms, 100 ms, 200 ms
    cb = wait_until(lambda: (c := sandbox.payment(p["gatewayTxnId"])["callbacks"][0])["status"] == "ACKED" and c)
    assert [d["httpStatus"] for d in cb["deliveries"]] == [500, 200, 302, 200]
    assert [d["outcome"] for d in cb["deliveries"]] == ["REJECTED", "REJECTED", "REJECTED", "ACKED"]
    assert cb["attempts"] == 4


def test_gives_up_after_max_attempts(sandbox, new_payment, receiver):
    receiver.status = 500
    p = new_payment()
    sandbox.complete_payment(p["gatewayTxnId"], "FAILED")
    receiver.wait_for(4, timeout=5)  # callback_max_attempts is 4 in these tests
    cb = wait_until(lambda: (c := sandbox.payment(p["gatewayTxnId"])["callbacks"][0])["status"] == "GAVE_UP" and c)
    assert cb["attempts"] == 4
    time.sleep(0.5)
    assert len(receiver.requests) == 4


def test_unreachable_receiver_is_an_error_attempt(sandbox, new_payment):
    p = new_payment(notifyUrl="http://127.0.0.1:9/closed")
    sandbox.set_faults(callback_max_attempts=1)
    sandbox.complete_payment(p["gatewayTxnId"], "SUCCESS")
    cb = wait_until(lambda: (c := sandbox.payment(p["gatewayTxnId"])["callbacks"][0])["status"] == "GAVE_UP" and c)
    assert cb["deliveries"][0]["outcome"] == "ERROR" and cb["deliveries"][0]["error"]


def test_out_of_order_delivers_held_callbacks_newest_first(sandbox, new_payment, receiver):
    sandbox.set_faults(out_of_order=True)
    payments = [new_payment(f"{i}.00") for i in (1, 2, 3)]
    for p in payments:
        sandbox.complete_payment(p["gatewayTxnId"], "SUCCESS")
    time.sleep(0.3)
    assert receiver.requests == []  # held
    sandbox.set_faults(out_of_order=False)  # releases the held batch
    got = [c.json()["gatewayTxnId"] for c in receiver.wait_for(3)]
    assert got == [p["gatewayTxnId"] for p in reversed(payments)]


def test_out_of_order_flush_and_hold_timer(sandbox, new_payment, receiver):
    sandbox.set_faults(out_of_order=True)
    a, b = new_payment("1.00"), new_payment("2.00")
    sandbox.complete_payment(a["gatewayTxnId"], "SUCCESS")
    sandbox.complete_payment(b["gatewayTxnId"], "FAILED")
    sandbox.flush_callbacks()
    assert [c.json()["gatewayTxnId"] for c in receiver.wait_for(2)] == [b["gatewayTxnId"], a["gatewayTxnId"]]
    receiver.clear()
    sandbox.set_faults(out_of_order_hold_ms=300)
    c, d = new_payment("3.00"), new_payment("4.00")
    sandbox.complete_payment(c["gatewayTxnId"], "SUCCESS")
    sandbox.complete_payment(d["gatewayTxnId"], "SUCCESS")
    assert [x.json()["gatewayTxnId"] for x in receiver.wait_for(2, timeout=3)] == [d["gatewayTxnId"],
                                                                                   c["gatewayTxnId"]]


def test_resend_sends_the_same_event_again(sandbox, new_payment, receiver):
    p = new_payment()
    assert sandbox.admin("POST", f"/_sandbox/callbacks/resend/{p['gatewayTxnId']}").status == 409  # not final
    sandbox.complete_payment(p["gatewayTxnId"], "SUCCESS")
    first = receiver.wait_for(1)[0]
    resent = sandbox.resend_callback(p["gatewayTxnId"])
    second = receiver.wait_for(2)[1]
    assert resent["eventId"] == first.json()["eventId"] == second.json()["eventId"]
    assert second.body == first.body
    assert sandbox.admin("POST", "/_sandbox/callbacks/resend/GW404").status == 404


def test_callback_delay(sandbox, new_payment, receiver):
    sandbox.set_faults(callback_delay_ms=400)
    p = new_payment()
    started = time.time()
    sandbox.complete_payment(p["gatewayTxnId"], "SUCCESS")
    cb = receiver.wait_for(1, timeout=3)[0]
    assert cb.received_at - started >= 0.35
