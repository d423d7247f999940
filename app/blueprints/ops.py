"""Operations endpoints (docs/API.md §11): liveness, readiness (up or down per dependency, nothing
more), Prometheus metrics (closed by default: ``metrics.may_read_metrics``); and the favicon every
browser asks for at the root."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, send_from_directory

from ..extensions import db
from ..metrics import metrics_response
from ..services.operations.metrics_state import StateCollector
from ..services.platform.queues import redis_connection
from ..services.platform.unit_of_work import discard, end_read

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    checks = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        end_read()
        checks["database"] = "ok"
    except Exception:  # any failure means not ready; what failed is for the logs, not the answer
        discard()
        current_app.logger.warning("readiness: database unreachable", exc_info=True)
        checks["database"] = "error"
    try:
        redis_connection().ping()
        checks["redis"] = "ok"
    except Exception:
        current_app.logger.warning("readiness: Redis unreachable", exc_info=True)
        checks["redis"] = "error"
    ready = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), 200 if ready else 503


@bp.get("/metrics")
def metrics():
    return metrics_response(current_app.config["METRICS_ALLOW"], current_app.config["METRICS_TOKEN"],
                            StateCollector())


@bp.get("/favicon.ico")
def favicon():
    """The icon browsers fetch from the root whatever the page says (app/static/favicon.ico)."""
    assert current_app.static_folder is not None  # the app is made with its static folder
    return send_from_directory(current_app.static_folder, "favicon.ico", max_age=7 * 24 * 3600)
