"""Operations endpoints (docs/API.md §11): liveness, readiness, Prometheus metrics; and the favicon
every browser asks for at the root."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, send_from_directory

from ..extensions import db
from ..metrics import metrics_response
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
    except Exception as exc:  # any failure means not ready
        discard()
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        redis_connection().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if ready else "unavailable", "checks": checks}), 200 if ready else 503


@bp.get("/metrics")
def metrics():
    return metrics_response(current_app.config["METRICS_ALLOW"])


@bp.get("/favicon.ico")
def favicon():
    """The icon browsers fetch from the root whatever the page says (app/static/favicon.ico)."""
    return send_from_directory(current_app.static_folder, "favicon.ico", max_age=7 * 24 * 3600)
