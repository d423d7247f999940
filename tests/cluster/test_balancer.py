"""The balancer's retry rule (docs/ARCHITECTURE.md §7 "Deployment", "Retries at the balancer"), on
scripts/cluster's own haproxy.cfg: a request that reached a web group which died before answering is
sent again to the other group when it is a GET, never when it is a POST (the client retries a POST
with its key). The two "web groups" here are sockets that read a request and close without an
answer, as a SIGKILLed gunicorn does; they answer /readyz, so haproxy counts them up."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.cluster import REPO, SCRIPT, haproxy_stats

pytestmark = pytest.mark.cluster


class DyingServer:
    """Answers GET /readyz; reads any other request, records its request line, closes unanswered."""

    def __init__(self, port: int):
        self.seen: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", port))
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                line = conn.recv(65536).split(b"\r\n", 1)[0].decode()
                if line.startswith("GET /readyz"):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                elif line:
                    self.seen.append(line.split(" HTTP/")[0])

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the thread (close alone does not)
        self.sock.close()
        self.thread.join(5)


def _port_block() -> int:
    """Four ports in a row: CLUSTER_TEST_PORT + 10 when set (test_kill.py takes CLUSTER_TEST_PORT
    itself), else four free ones found here."""
    if os.environ.get("CLUSTER_TEST_PORT"):
        return int(os.environ["CLUSTER_TEST_PORT"]) + 10
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        try:
            for port in range(base, base + 4):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no four free ports in a row")


def _servers_up(admin_socket: Path) -> int:
    """How many of the backend's servers haproxy counts UP (``show stat`` on its admin socket)."""
    if not admin_socket.exists():
        return 0
    rows = haproxy_stats(admin_socket)
    return sum(1 for r in rows if r["pxname"] == "web" and r["svname"].startswith("web-") and r["status"] == "UP")


@pytest.fixture
def balancer(tmp_path: Path):
    if shutil.which("haproxy") is None:
        pytest.skip("no haproxy (apt-get install haproxy; scripts/test installs it)")
    base = _port_block()
    env = {**os.environ, "CLUSTER_DIR": str(tmp_path), "CLUSTER_PORT": str(base)}
    cfg = subprocess.run(["bash", str(SCRIPT), "haproxy-cfg"], cwd=REPO, env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    groups = [DyingServer(base + 1), DyingServer(base + 2)]
    proc = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while _servers_up(tmp_path / "haproxy.sock") < 2:  # two good checks a second apart, each
            assert proc.poll() is None, "haproxy exited"
            assert time.monotonic() < deadline, "haproxy did not count both groups up within 15 s"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{base}", groups
    finally:
        proc.terminate()
        proc.wait(10)
        for g in groups:
            g.close()


def _send(url: str, method: str) -> int:
    req = urllib.request.Request(url, data=b"{}" if method == "POST" else None, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_post_that_reached_a_dying_group_is_not_sent_again(balancer):
    url, groups = balancer
    assert _send(f"{url}/api/v1/integration/payment/create", "POST") == 502
    sent = [line for g in groups for line in g.seen]
    assert sent == ["POST /api/v1/integration/payment/create"]


def test_a_get_that_reached_a_dying_group_is_tried_again_on_the_other(balancer):
    url, groups = balancer
    assert _send(f"{url}/api/v1/integration/payment/PAY1/status", "GET") == 502
    assert all(g.seen for g in groups), [g.seen for g in groups]  # both groups were tried
    assert len([line for g in groups for line in g.seen]) == 4  # the first try and `retries 3`
