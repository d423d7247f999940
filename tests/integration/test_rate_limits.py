"""The shared rate limiter (app/rate_limits.py) on the tests' real Redis: two limiter objects stand
for two processes sharing one budget."""

from __future__ import annotations

import uuid

import pytest
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from app import rate_limits
from app.rate_limits import LeasedRateLimiter


@pytest.fixture
def processes(app):
    storage = storage_from_string(app.config["REDIS_URL"])
    return LeasedRateLimiter(FixedWindowRateLimiter(storage)), LeasedRateLimiter(FixedWindowRateLimiter(storage)), \
        storage


def _spend(limiters, item, key, n) -> int:
    return sum(limiters[i % 2].hit(item, "test", key) for i in range(n))


def test_a_small_budget_is_exact_across_processes(processes):
    a, b, _ = processes
    item, key = parse("5 per minute"), uuid.uuid4().hex
    assert [(a, b)[i % 2].hit(item, "test", key) for i in range(7)] == [True] * 5 + [False] * 2


def test_a_large_budget_is_leased_and_never_exceeded(processes):
    a, b, storage = processes
    item, key = parse("3000 per minute"), uuid.uuid4().hex  # leases of 3
    allowed = _spend((a, b), item, key, 3600)
    # Both processes' leases were spent: the budget exactly, none of the last 600.
    assert allowed == 3000
    # Redis counted a lease per three requests, then each refused request once (as a plain fixed
    # window does), and each process's refused lease of 3 — again whenever its mark expired
    # (LEASE_SECONDS) while the refused requests went on, on a slow machine.
    refused_leases = storage.get(item.key_for("test", key)) - (3000 + 600)
    assert refused_leases >= 2 * 3 and refused_leases % 3 == 0


def test_a_lease_is_dropped_when_its_time_is_up(processes, monkeypatch):
    a, _, storage = processes
    item, key = parse("3000 per minute"), uuid.uuid4().hex
    monkeypatch.setattr(rate_limits, "LEASE_SECONDS", 0.0)
    assert all(a.hit(item, "test", key) for _ in range(10))
    # Every request took a fresh lease of 3: the unspent tokens are lost, never carried over.
    assert storage.get(item.key_for("test", key)) == 30


def test_a_budget_spent_elsewhere_refuses_a_lease(processes):
    a, b, _ = processes
    item, key = parse("2000 per minute"), uuid.uuid4().hex  # leases of 2
    assert _spend((b, b), item, key, 1999) == 1999  # b holds the last token in its lease
    assert a.hit(item, "test", key) is False  # a lease of 2 no longer fits, nor a single token
    assert b.hit(item, "test", key) is True
    assert b.hit(item, "test", key) is False
