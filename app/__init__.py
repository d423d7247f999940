"""Reseller Payment Portal: the application factory, and the composition root (docs/ARCHITECTURE.md):
the only module that imports every layer. Nothing imports it but the entry points (``create_app``)."""

from __future__ import annotations

import os
import uuid

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider

from . import url_converters
from .config import load_config
from .extensions import csrf, db, login_manager, migrate
from .rate_limits import init_rate_limits
from .serialization import json_dumps


def create_app(overrides: dict | None = None) -> Flask:
    # The rest of the app is imported here, not at the top: importing any ``app.*`` module (a job, a
    # domain rule) must not load every blueprint, and nothing is built at import time.
    from . import models  # noqa: F401  (registers tables)
    from .blueprints import ops
    from .blueprints.api import bp as api_bp
    from .blueprints.api import channel_callbacks, payout_callbacks
    from .blueprints.web import register_web
    from .cli import register_cli
    from .db_setup import configure_engine, refresh_locked_rows
    from .i18n import init_i18n
    from .metrics import init_metrics
    from .services.connections import connect_areas
    from .web_setup import init_web

    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None, instance_relative_config=True)
    app.config.update(load_config(app.instance_path, overrides))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"], "json_serializer": json_dumps,
    }
    app.config.setdefault("API_RATE_LIMIT", os.environ.get("API_RATE_LIMIT", "100000 per minute"))
    assert isinstance(app.json, DefaultJSONProvider)  # Flask's own, which these settings belong to
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    url_converters.install(app.url_map)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    init_rate_limits(app)
    with app.app_context():
        configure_engine(db.engine)
    refresh_locked_rows()
    connect_areas()

    app.register_blueprint(ops.bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(channel_callbacks.bp)
    app.register_blueprint(payout_callbacks.bp)
    csrf.exempt(api_bp)  # the API authenticates with keys, not cookies
    csrf.exempt(channel_callbacks.bp)  # channels sign their callbacks
    csrf.exempt(payout_callbacks.bp)  # the payout gateway signs its callbacks

    init_i18n(app)
    init_web(app)
    register_web(app)
    init_metrics(app)

    @app.before_request
    def _request_id():
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming[:64] if incoming and incoming.isprintable() else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):
        if not g.get("request_id"):  # a before_request that ran earlier (the rate limiter) refused it
            _request_id()
        response.headers["X-Request-Id"] = g.request_id
        return response

    register_cli(app)
    return app
