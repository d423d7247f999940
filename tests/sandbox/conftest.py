"""The sandbox gateway under test runs as a real subprocess (one per session), reset before each test.

Knobs are made fast for tests (short delays, 50 ms callback backoff); ``reset`` restores exactly these
startup values, so a test that changes knobs does not leak them into the next one."""

from __future__ import annotations

import time

import pytest

from sandbox.testing import CallbackReceiver, SandboxProcess, start_sandbox

FAST_FAULTS = {
    "callback_retry_base_ms": 50,
    "callback_max_attempts": 4,
    "callback_timeout_ms": 2000,
    "processing_delay_ms": 300,
    "refund_delay_ms": 200,
    "payout_delay_ms": 200,
    "payout_timeout_sleep_ms": 2500,
    "out_of_order_hold_ms": 60000,
    "seed": 42,
}
MERCHANTS = {
    "MCH1001": ("api-secret-1001", "callback-secret-1001"),
    "MCH2002": ("api-secret-2002", "callback-secret-2002"),
}


@pytest.fixture(scope="session")
def sandbox() -> SandboxProcess:
    gw = start_sandbox(merchants=MERCHANTS, faults=FAST_FAULTS)
    yield gw
    gw.stop()


@pytest.fixture(autouse=True)
def _fresh_sandbox(request):
    if "sandbox" in request.fixturenames:
        request.getfixturevalue("sandbox").reset()
    yield


@pytest.fixture
def receiver():
    with CallbackReceiver() as r:
        yield r


@pytest.fixture
def merchant(sandbox):
    """The signed client of MCH1001."""
    return sandbox.client("MCH1001")


@pytest.fixture
def new_payment(merchant, receiver):
    """new_payment(amount="1250.00", **overrides) -> the create response's JSON (asserts 200)."""
    counter = iter(range(1, 10_000))

    def make(amount: str = "1250.00", **overrides) -> dict:
        fields = {
            "merchantOrderNo": f"ORD{time.time_ns() % 10**12}{next(counter)}",
            "amount": amount, "currency": "CNY", "subject": "Order payment",
            "notifyUrl": receiver.url("/notify"), "returnUrl": "http://127.0.0.1:9/payments/42",
            **overrides,
        }
        r = merchant.call("/api/payments", **fields)
        assert r.status == 200, r.text
        return {**r.json(), "merchantOrderNo": fields["merchantOrderNo"]}

    return make
