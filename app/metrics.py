"""Prometheus metrics (the list: docs/ARCHITECTURE.md "Metrics"). Under gunicorn,
PROMETHEUS_MULTIPROC_DIR makes every web worker's numbers add up in one scrape (prometheus_client
multiprocess mode); ``scripts/run`` gives the RQ workers the same directory, so what they count
(webhook attempts, settlements by query, alerts they raise) is in the same scrape.

Counters and histograms are counted where things happen. Figures that are a state of the system
(queue depth and the age of the oldest waiting job, unresolved alerts by kind) are read when
``/metrics`` is scraped (``services/operations/metrics_state.StateCollector``, handed in by
``blueprints/ops.py``), by the one process that answers: nothing to add up across processes, and
never stale."""

from __future__ import annotations

import hmac
import os
import time

from flask import Flask, Response, abort, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

REQUESTS = Counter("portal_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "portal_http_request_duration_seconds", "HTTP request latency", ["endpoint"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
ORDERS_CREATED = Counter("portal_payment_orders_created_total", "Payment orders created", ["payment_type"])
CALLBACKS = Counter("portal_callbacks_total", "Callbacks from channels and the payout bank, by answer",
                    ["kind", "outcome"])
SETTLEMENT_DELAY = Histogram(
    "portal_settlement_delay_seconds",
    "From the channel's completion of a payment to the portal applying it (callback or query)",
    ["channel_kind", "source"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400),
)
WEBHOOK_ATTEMPTS = Counter("portal_webhook_attempts_total", "Webhook delivery attempts, by outcome", ["outcome"])
RATE_LIMITED = Counter("portal_rate_limit_refusals_total", "Requests refused by a rate limit", ["scope"])
ALERTS_RAISED = Counter("portal_alerts_raised_total", "Alerts raised (new ones; repeats are not counted)",
                        ["kind"])


def callback_outcome(status: int) -> str:
    """The ``outcome`` label of a callback answered with ``status``."""
    if status < 300:
        return "accepted"
    return "rejected" if status < 500 else "error"


def init_metrics(app: Flask) -> None:
    @app.before_request
    def _start_timer():
        g._metrics_start = time.perf_counter()

    @app.after_request
    def _record(response):
        start = g.pop("_metrics_start", None)
        if start is not None:
            endpoint = request.endpoint or "unknown"
            LATENCY.labels(endpoint).observe(time.perf_counter() - start)
            REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        return response


def may_read_metrics(allow: list[str], token: str | None) -> bool:
    """``/metrics`` shows business volume, so it is closed by default (docs/SECURITY.md): open to a
    request carrying ``Authorization: Bearer <METRICS_TOKEN>``, or coming straight from an address
    of ``METRICS_ALLOW`` (default: loopback only). A request that passed through a proxy
    (``X-Forwarded-For`` / ``Forwarded``) is never trusted by address: behind a local proxy every
    client would look like loopback."""
    if token:
        sent = request.headers.get("Authorization", "")
        if sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].encode(), token.encode()):
            return True
    proxied = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    return not proxied and request.remote_addr in allow


def metrics_response(allow: list[str], token: str | None = None, state: Collector | None = None) -> Response:
    """The scrape: the counted metrics (summed over processes in multiprocess mode), then what
    ``state`` reads at scrape time (services/operations/metrics_state.py)."""
    if not may_read_metrics(allow, token):
        abort(403)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        data = generate_latest(registry)
    else:
        data = generate_latest(REGISTRY)
    if state is not None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(state)
        data += generate_latest(registry)
    return Response(data, mimetype=CONTENT_TYPE_LATEST)
