"""Prometheus metrics. Under gunicorn, PROMETHEUS_MULTIPROC_DIR makes every worker's numbers
add up in one scrape (prometheus_client multiprocess mode)."""

from __future__ import annotations

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

REQUESTS = Counter("portal_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "portal_http_request_duration_seconds", "HTTP request latency", ["endpoint"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
ORDERS_CREATED = Counter("portal_payment_orders_created_total", "Payment orders created", ["payment_type"])


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


def metrics_response(allow: list[str]) -> Response:
    if allow and request.remote_addr not in allow:
        abort(403)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        data = generate_latest(registry)
    else:
        data = generate_latest(REGISTRY)
    return Response(data, mimetype=CONTENT_TYPE_LATEST)
