"""The real sandbox gateway process and the portal served over real HTTP (in a thread), so that the
gateway's callbacks reach the portal the way a bank's would."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from sandbox.testing import DEFAULT_MERCHANTS, start_sandbox

MERCHANT = "MCH1001"
API_SECRET, CALLBACK_SECRET = DEFAULT_MERCHANTS[MERCHANT]


@pytest.fixture(scope="session")
def gateway():
    gw = start_sandbox(faults={"callback_retry_base_ms": 50, "processing_delay_ms": 300, "seed": 7})
    yield gw
    gw.stop()


@pytest.fixture(scope="session")
def portal_http(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def online(app, gateway, portal_http, engine_setup):
    """An ONLINE channel pointing at the sandbox; callbacks come back to ``portal_http``."""
    from .conftest import add_channel

    gateway.reset()
    gateway.set_faults(drop_rate=0.0, duplicate_rate=0.0, out_of_order=False, query_error_rate=0.0,
                       callback_delay_ms=0, callback_retry_base_ms=50, processing_resolves_to="SUCCESS")
    old = app.config["PUBLIC_BASE_URL"]
    app.config["PUBLIC_BASE_URL"] = portal_http
    add_channel("ONLINE_UNIONPAY", "ONLINE", config={"base_url": gateway.base_url, "merchant_no": MERCHANT},
                secrets={"api_secret": API_SECRET, "callback_secret": CALLBACK_SECRET}, confirm_timeout_seconds=900)
    yield gateway
    app.config["PUBLIC_BASE_URL"] = old
