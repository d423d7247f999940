"""Sandbox administration for tests and demos (unsigned; ``X-Sandbox-Admin: <token>`` when a token is
configured): fault knobs, reset, forcing outcomes, resending callbacks, inspection, stats."""

from __future__ import annotations

import hmac
import json

from flask import Blueprint, current_app, jsonify, request

from .config import ConfigError
from .gateway import Gateway, GatewayError
from .views import payment_view, payout_admin_view, refund_view

bp = Blueprint("sandbox_admin", __name__, url_prefix="/_sandbox")
ADMIN_HEADER = "X-Sandbox-Admin"


def _gateway() -> Gateway:
    return current_app.extensions["sandbox"]


@bp.before_request
def require_admin_token():
    token = _gateway().config.admin_token
    if token and not hmac.compare_digest(request.headers.get(ADMIN_HEADER, "").encode(), token.encode()):
        raise GatewayError(401, "ADMIN_TOKEN_REQUIRED", f"missing or wrong {ADMIN_HEADER} header")


def _json_body() -> dict:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise GatewayError(400, "INVALID_REQUEST", "body is not JSON") from None
    if not isinstance(body, dict):
        raise GatewayError(400, "INVALID_REQUEST", "body must be a JSON object")
    return body


@bp.get("/faults")
def get_faults():
    return jsonify(_gateway().faults.snapshot())


@bp.put("/faults")
def put_faults():
    g = _gateway()
    try:
        values = g.faults.update(_json_body())
    except ConfigError as exc:
        raise GatewayError(400, "INVALID_REQUEST", str(exc)) from None
    g.wake.set()  # e.g. out_of_order switched off: release held callbacks now
    return jsonify(values)


@bp.put("/merchants/<merchant_no>/callback-secret")
def set_callback_secret(merchant_no: str):
    """The merchant's new callback (notification) secret, after the portal rotated it
    (docs/SECURITY.md "Callbacks in"): ``{"callbackSecret": "..."}``."""
    secret = _json_body().get("callbackSecret")
    if not isinstance(secret, str):
        raise GatewayError(400, "INVALID_REQUEST", "callbackSecret (a string) is required")
    _gateway().set_callback_secret(merchant_no, secret)
    return jsonify({"code": "OK", "merchantNo": merchant_no})


@bp.post("/reset")
def reset():
    faults = _gateway().reset()
    return jsonify({"code": "OK", "faults": faults})


@bp.post("/payments/<txn_id>/complete")
def complete_payment(txn_id: str):
    body = _json_body()
    status = body.get("status")
    if status not in ("SUCCESS", "FAILED", "PROCESSING"):
        raise GatewayError(400, "INVALID_REQUEST", "status must be SUCCESS, FAILED or PROCESSING")
    reason = body.get("failReason")
    if reason is not None and not isinstance(reason, str):
        raise GatewayError(400, "INVALID_REQUEST", "failReason must be a string")
    row = _gateway().act_on_payment(txn_id, status, admin=True, fail_reason=reason)
    return jsonify({"code": "OK", **payment_view(row)})


@bp.post("/callbacks/resend/<txn_id>")
def resend_callback(txn_id: str):
    event_id = _gateway().resend_payment_callback(txn_id)
    return jsonify({"code": "OK", "eventId": event_id})


@bp.post("/callbacks/flush")
def flush_callbacks():
    g = _gateway()
    g.callbacks.flush_requested.set()
    g.wake.set()
    return jsonify({"code": "OK"})


@bp.get("/callbacks")
def list_callbacks():
    return jsonify({"code": "OK", "callbacks": _gateway().callbacks_for(request.args.get("objectId"))})


@bp.get("/payments/<txn_id>")
def payment_record(txn_id: str):
    g = _gateway()
    row = g.get_payment(txn_id)
    if row is None:
        raise GatewayError(404, "ORDER_NOT_FOUND", f"no payment {txn_id}")
    return jsonify({"code": "OK", **payment_view(row), "notifyUrl": row["notify_url"],
                    "returnUrl": row["return_url"], "refunds": [refund_view(r) for r in g.refunds_of(txn_id)],
                    "callbacks": g.callbacks_for(txn_id)})


@bp.get("/refunds/<refund_id>")
def refund_record(refund_id: str):
    g = _gateway()
    row = g.get_object("refunds", "refund_id", refund_id)
    if row is None:
        raise GatewayError(404, "REFUND_NOT_FOUND", f"no refund {refund_id}")
    return jsonify({"code": "OK", **refund_view(row), "merchantNo": row["merchant_no"],
                    "callbacks": g.callbacks_for(refund_id)})


@bp.get("/payouts/<payout_id>")
def payout_record(payout_id: str):
    g = _gateway()
    row = g.get_object("payouts", "payout_id", payout_id)
    if row is None:
        raise GatewayError(404, "PAYOUT_NOT_FOUND", f"no payout {payout_id}")
    return jsonify({"code": "OK", **payout_admin_view(row), "callbacks": g.callbacks_for(payout_id)})


@bp.get("/stats")
def stats():
    return jsonify(_gateway().stats())
