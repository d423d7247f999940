"""Prometheus metrics (the list: docs/ARCHITECTURE.md "Metrics"). Under gunicorn,
PROMETHEUS_MULTIPROC_DIR makes every web worker's numbers add up in one scrape (prometheus_client
multiprocess mode); ``scripts/run`` gives the RQ workers the same directory, so what they count
(webhook attempts, settlements by query, alerts they raise) is in the same scrape.

Counters and histograms are counted where things happen. Figures that are a state of the system
(queue depth and the age of the oldest waiting job, unresolved alerts by kind) are read when
``/metrics`` is scraped (``StateCollector``), by the one process that answers: nothing to add up
across processes, and never stale."""

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
    Metric,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

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


class StateCollector:
    """Queue depth and oldest waiting job per queue (Redis), unresolved alerts per kind (the
    database), read at scrape time inside the app context of the ``/metrics`` request. A part
    that cannot be read is left out (``portal_state_scrape_errors`` says which)."""

    def collect(self) -> list[Metric]:
        depth = GaugeMetricFamily("portal_queue_depth", "Jobs waiting on a queue", labels=["queue"])
        age = GaugeMetricFamily("portal_queue_oldest_job_age_seconds",
                                "Age of the oldest job waiting on a queue (0 when none waits)", labels=["queue"])
        alerts = GaugeMetricFamily("portal_alerts_open", "Unresolved alerts (open or acknowledged), by kind",
                                   labels=["kind"])
        errors = GaugeMetricFamily("portal_state_scrape_errors", "1 when a part of the state could not be read",
                                   labels=["part"])
        try:
            from .services.platform.queue_stats import queue_ages

            for name, (n, oldest) in queue_ages().items():
                depth.add_metric([name], n)
                age.add_metric([name], oldest)
            errors.add_metric(["queues"], 0)
        except Exception:  # Redis down: the scrape still answers
            errors.add_metric(["queues"], 1)
        try:
            from .services.alerts.kinds import KNOWN_KINDS
            from .services.alerts.queries import open_by_kind
            from .services.platform.unit_of_work import end_read

            try:
                counts = dict.fromkeys(KNOWN_KINDS, 0) | open_by_kind()
            finally:
                end_read()
            for kind, n in sorted(counts.items()):
                alerts.add_metric([kind], n)
            errors.add_metric(["alerts"], 0)
        except Exception:
            errors.add_metric(["alerts"], 1)
        return [depth, age, alerts, errors]


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


def metrics_response(allow: list[str], token: str | None = None) -> Response:
    if not may_read_metrics(allow, token):
        abort(403)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        data = generate_latest(registry)
    else:
        data = generate_latest(REGISTRY)
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector())
    return Response(data + generate_latest(state), mimetype=CONTENT_TYPE_LATEST)
