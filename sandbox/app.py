"""The sandbox gateway's Flask app factory.

``create_sandbox_app(config)`` builds the app and its ``Gateway`` (``app.extensions["sandbox"]``) but
starts no thread: ``python -m sandbox`` starts the dispatcher; in-process users call
``gateway.start_dispatcher()`` or drive it step by step with ``gateway.run_due_once()``, and
``gateway.close()`` at the end.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from .config import SandboxConfig
from .gateway import Gateway, GatewayError


def create_sandbox_app(config: SandboxConfig | Mapping | None = None, *, clock=None) -> Flask:
    cfg = SandboxConfig.coerce(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    gateway = Gateway(cfg, clock=clock or time.time)
    app.extensions["sandbox"] = gateway

    from . import admin, api, bank, pages, receivers

    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(bank.bp)
    app.register_blueprint(receivers.bp)

    @app.get("/favicon.ico")
    def favicon():
        return app.send_static_file("favicon.ico")  # sandbox/static/favicon.ico

    @app.get("/healthz")
    def healthz():
        return jsonify({"code": "OK", "service": "sandbox-gateway"})

    @app.errorhandler(GatewayError)
    def gateway_error(exc: GatewayError):
        return jsonify({"code": exc.code, "message": exc.message}), exc.http_status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/pay/"):
            return exc
        code = (exc.name or "ERROR").upper().replace(" ", "_")
        return jsonify({"code": code, "message": exc.description}), exc.code

    return app
