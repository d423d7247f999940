"""A deployment of several processes (scripts/cluster) on a PostgreSQL database of its own, shared by
the tests of one module: started once (~15 s), stopped and dropped at the end."""

from __future__ import annotations

import os
import shutil
import socket
import uuid

import pytest

from sandbox.testing import DEFAULT_MERCHANTS
from tests.support.cluster import Cluster
from tests.support.database import postgres_database

MERCHANT_NO = "MCH1001"  # bench/load_mix.py's ONLINE channel merchant


def _ports_free(base: int, n: int = 4) -> bool:
    for port in range(base, base + n):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _port_block() -> int:
    """CLUSTER_TEST_PORT (haproxy; the next three for web-1, web-2, the sandbox), else four free ports
    in a row found here."""
    if os.environ.get("CLUSTER_TEST_PORT"):
        return int(os.environ["CLUSTER_TEST_PORT"])
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base < 65000 and _ports_free(base):
            return base
    raise RuntimeError("no four free ports in a row")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base_url = os.environ.get("TEST_DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        pytest.skip("the cluster runs on PostgreSQL only (TEST_DATABASE_URL)")
    if shutil.which("haproxy") is None:
        pytest.skip("no haproxy (apt-get install haproxy; scripts/test installs it)")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    prefix = f"cluster-{uuid.uuid4().hex[:6]}-"
    api_secret, callback_secret = DEFAULT_MERCHANTS[MERCHANT_NO]
    with postgres_database(base_url) as database_url:
        deployment = Cluster(tmp_path_factory.mktemp("cluster"), port=_port_block(), database_url=database_url,
                             redis_url=redis_url, prefix=prefix, env={
                                 "SANDBOX_MERCHANTS": f"{MERCHANT_NO}:{api_secret}:{callback_secret}",
                                 # The production limiters stay on, with budgets the test cannot reach.
                                 "API_RATE_LIMIT": "10000000 per minute", "LOGIN_RATE_LIMIT": "100000 per minute",
                             })
        try:
            with deployment:
                yield deployment
        finally:
            from redis import Redis

            conn = Redis.from_url(redis_url)
            keys = {*conn.scan_iter(f"{prefix}*"), *conn.scan_iter(f"rq:*{prefix}*")}
            if keys:
                conn.delete(*keys)
