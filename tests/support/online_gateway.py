"""The real sandbox gateway process and the portal served over real HTTP (in a thread), so that the
gateway's callbacks reach the portal the way a bank's would. A plugin (tests/conftest.py
``pytest_plugins``): the session fixtures ``gateway`` and ``portal_http`` are there for every folder."""

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
