"""Helpers of the end-to-end tests: the logins of the demo seed, amounts as the screens show them, the
REAL stack as separate processes (``Stack``, ``running_stack``; the ``stack`` fixture of e2e/conftest.py
runs one per session, ``python -m e2e.serve`` keeps one running), a browser signed in as a person
(``Browsing``) and screenshots (``shot``)."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, expect

from sandbox.testing import SandboxProcess, http_request, start_sandbox

E2E_DIR = Path(__file__).resolve().parent
ROOT = E2E_DIR.parent
SCREENSHOTS = E2E_DIR / "screenshots"
PY = sys.executable
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"

# Playwright's auto-waiting: every expect() waits up to this long (HTMX polling, the worker, callbacks).
WAIT_MS = 30_000
expect.set_options(timeout=WAIT_MS)

# The logins of the demo seed (USERS in app/demo/data.py); all share DEMO_PASSWORD.
OPERATOR = "operator@r1001.example"
APPROVER = "approver@r1001.example"
OPERATOR_R1002 = "operator@r1002.example"
FINANCE = "finance@example.com"
FINANCE2 = "finance2@example.com"
ADMIN = "admin@example.com"

LOG_DIRS: list[Path] = []  # printed by pytest_terminal_summary when something failed


# ---------------------------------------------------------------------------------------------- helpers

WEBHOOK_HOST = "127.0.0.2"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def money(value: Decimal | str) -> str:
    """``Decimal("1250000")`` → ``¥1,250,000.00``, as the screens show amounts."""
    return f"¥{Decimal(value):,.2f}"


def plain(value: Decimal | str) -> str:
    """What a person types into an amount field: ``1250000.00``."""
    return f"{Decimal(value):.2f}"


def fake_executable() -> bytes:
    """An ELF header and some bytes: what a Linux program looks like, whatever its name says."""
    return b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + os.urandom(256)


def _redis_ping(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except Exception:
        return False


def _pg_admin_url(base: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if base.startswith(prefix):
            return "postgresql+psycopg://" + base[len(prefix):]
    return base


def _create_pg_database(base: str) -> tuple[str, str]:
    import sqlalchemy as sa

    url = sa.engine.make_url(_pg_admin_url(base))
    name = f"portal_e2e_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_pg_database(base: str, name: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(sa.engine.make_url(_pg_admin_url(base)), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


# ---------------------------------------------------------------------------------------------- processes

@dataclass
class Child:
    """A long-running process in its own process group, its output in ``log``."""

    name: str
    proc: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _spawn(name: str, cmd: list[str], env: dict, log_dir: Path) -> Child:
    log = log_dir / f"{name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    return Child(name, proc, log)


def _stop(children: list[Child], timeout: float = 15.0) -> None:
    """TERM every child's process group (gunicorn finishes requests, the worker its job), wait,
    then KILL what is left."""
    for child in children:
        if child.alive():
            try:
                os.killpg(child.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        try:  # the group may outlive its leader (the worker's scheduler child, gunicorn workers)
            os.killpg(child.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if child.proc.poll() is None:
            child.proc.wait(5)


def _run(cmd: list[str], env: dict, what: str, log_dir: Path, timeout: float = 600) -> str:
    started = time.monotonic()
    done = subprocess.run(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)
    (log_dir / f"{what}.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    sys.stderr.write(f"[e2e] {what}: {time.monotonic() - started:.1f} s\n")
    return done.stdout


# ---------------------------------------------------------------------------------------------- the stack

@dataclass
class Stack:
    base_url: str
    gateway: SandboxProcess
    password: str
    api_key: str
    database_url: str
    redis_url: str
    queue_prefix: str
    log_dir: Path
    children: list[Child] = field(default_factory=list)

    # -- the JSON API (scope payments...), for making each test's own payment orders and checking results
    def api(self, method: str, path: str, body: dict | None = None, expect_status: int | None = 200) -> dict:
        raw = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"}
        r = http_request(method, self.base_url + path, raw, headers, timeout=30)
        if expect_status is not None and r.status != expect_status:
            raise AssertionError(f"{method} {path} → {r.status}: {r.text[:1000]}")
        return r.json()

    def create_orders(self, amounts: list[str | Decimal], reseller: str = "R1001",
                      payment_type: str = "ADVANCE_PAYMENT", days: int = 30, desc: str = "E2E") -> list[dict]:
        """One new payment order per amount (deadlines ``days``, ``days``+1, ... ahead), each with a
        unique ``orderId`` ``E2E<hex>-<n>``; returns the API's PaymentOrder dicts in that order."""
        tag = uuid.uuid4().hex[:8].upper()
        made = []
        for n, amount in enumerate(amounts, start=1):
            deadline = (datetime.now(UTC) + timedelta(days=days + n)).replace(microsecond=0)
            body = {"requestId": f"e2e-{tag}-{n}", "orderId": f"E2E{tag}-{n}", "resellerId": reseller,
                    "paymentType": payment_type, "paymentAmount": plain(amount),
                    "paymentDeadline": deadline.isoformat(), "businessDesc": f"{desc} {tag}-{n}",
                    "tags": {"e2e": tag}}
            made.append(self.api("POST", "/api/v1/integration/payment/create", body, expect_status=201)["data"])
        return made

    def order(self, payment_id: str) -> dict:
        return self.api("GET", f"/api/v1/integration/payment/{payment_id}/status")["data"]

    def transactions(self, payment_id: str) -> list[dict]:
        data = self.api("GET", f"/api/v1/integration/payment/{payment_id}/transactions")["data"]
        return data["items"] if isinstance(data, dict) else data

    def wallet_balance(self, reseller: str = "R1001") -> Decimal:
        return Decimal(self.api("GET", f"/api/v1/integration/resellers/{reseller}")["data"]["walletBalance"])

    def credit_available(self, reseller: str = "R1001") -> Decimal:
        data = self.api("GET", f"/api/v1/integration/credit/{reseller}/limit")["data"]
        return Decimal(data["availableCreditLimit"])

    def credit_records(self, order_id: str, reseller: str = "R1001") -> list[dict]:
        data = self.api("GET", f"/api/v1/integration/credit/records?resellerId={reseller}&orderId={order_id}")["data"]
        return data["items"] if isinstance(data, dict) else data

    def check_alive(self) -> None:
        dead = [c for c in self.children if not c.alive()]
        if dead:
            raise RuntimeError("; ".join(f"{c.name} exited ({c.proc.returncode}):\n{c.tail()}" for c in dead))


def _choose_database(tmp: Path) -> tuple[str, Callable[[], None]]:
    base = os.environ.get("E2E_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or ""
    if base.startswith("postgres"):
        url, name = _create_pg_database(base)
        return url, lambda: _drop_pg_database(base, name)
    return f"sqlite:///{tmp / 'portal.db'}", lambda: None


def _choose_redis(tmp: Path) -> tuple[str, Callable[[], None]]:
    url = os.environ.get("E2E_REDIS_URL") or DEFAULT_REDIS_URL
    if _redis_ping(url):
        return url, lambda: None
    if os.environ.get("E2E_REDIS_URL"):
        raise RuntimeError(f"nothing answers at E2E_REDIS_URL={url}")
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError(f"nothing answers at {url} and there is no redis-server to start a private one")
    port = free_port()
    redis_dir = tmp / "redis"
    redis_dir.mkdir()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(redis_dir)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/12"
    for _ in range(100):
        if _redis_ping(url):
            break
        time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("the private redis-server did not start")

    def stop():
        proc.terminate()
        proc.wait(10)

    return url, stop


def _wait_ready(stack: Stack, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        stack.check_alive()
        try:
            if http_request("GET", stack.base_url + "/readyz", timeout=2).status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{stack.base_url}/readyz did not answer 200 within {timeout} s:\n"
                               + "\n".join(f"--- {c.name}\n{c.tail()}" for c in stack.children))
        time.sleep(0.2)


@contextmanager
def running_stack(tmp: Path) -> Iterator[Stack]:
    """The whole stack with its files under ``tmp``; stopped (and its database dropped) on exit."""
    log_dir = tmp / "logs"
    log_dir.mkdir()
    LOG_DIRS.append(log_dir)
    cleanups: list[Callable[[], None]] = []
    children: list[Child] = []
    gateway = None
    try:
        database_url, drop_db = _choose_database(tmp)
        cleanups.append(drop_db)
        redis_url, stop_redis = _choose_redis(tmp)
        cleanups.append(stop_redis)

        from cryptography.fernet import Fernet

        merchants = {f"MCH{n}": (secrets.token_hex(24), secrets.token_hex(24)) for n in (1001, 1002, 1003)}
        (tmp / "sandbox").mkdir()
        gateway = start_sandbox(merchants=merchants, workdir=str(tmp / "sandbox"))
        web_port = free_port()
        base_url = f"http://127.0.0.1:{web_port}"
        prefix = f"e2e-{uuid.uuid4().hex[:8]}-"
        password = "e2e-" + secrets.token_urlsafe(12)
        api_key = "rpp_e2e_" + secrets.token_urlsafe(24)
        metrics_dir = tmp / "prometheus"
        metrics_dir.mkdir()
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SANDBOX_", "TEST_", "E2E_", "DATABASE_", "REDIS_", "DEMO_", "PYTEST_"))}
        env.update({
            "FLASK_APP": "app", "PYTHONUNBUFFERED": "1", "INSTANCE_PATH": str(tmp / "instance"),
            "DATABASE_URL": database_url, "REDIS_URL": redis_url, "RQ_QUEUE_PREFIX": prefix,
            "SECRET_KEY": secrets.token_hex(32), "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "PUBLIC_BASE_URL": base_url, "PORT": str(web_port),
            "DEMO_PASSWORD": password, "DEMO_API_KEY": api_key, "API_RATE_LIMIT": "100000 per minute",
            "LOGIN_RATE_LIMIT": "100000 per minute", "RQ_LOG_LEVEL": "WARNING",
            # The admin's webhook test receives on its own loopback address (the demo's sandbox
            # receivers on 127.0.0.1 stay unregistered: no extra deliveries in every other test).
            "WEBHOOK_ALLOWED_HOSTS": WEBHOOK_HOST,
            # what `flask demo seed` gives the ONLINE channels: the gateway's address and secrets
            "SANDBOX_PORT": str(gateway.port),
            "SANDBOX_MERCHANTS": ",".join(f"{no}:{api}:{cb}" for no, (api, cb) in merchants.items()),
        })
        flask = [PY, "-m", "flask", "--app", "app"]
        _run(flask + ["db", "upgrade"], env, "flask db upgrade", log_dir)
        _run(flask + ["demo", "seed"], env, "flask demo seed", log_dir)

        # The sign-in limit is read from the app's config only: the factory gets it as an override.
        factory = 'app:create_app({"LOGIN_RATE_LIMIT": "100000 per minute"})'
        gunicorn = [PY, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{web_port}", "--graceful-timeout", "5",
                    "--timeout", "60"]
        help_text = subprocess.run([PY, "-m", "gunicorn", "--help"], capture_output=True, text=True).stdout
        if "--no-control-socket" in help_text:
            gunicorn.append("--no-control-socket")
        children.append(_spawn("web", gunicorn + [factory], {**env, "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)},
                               log_dir))
        children.append(_spawn("worker", [PY, "worker.py"], env, log_dir))
        # A worker of its own for PDF documents, as docs/ARCHITECTURE.md advises for production: every
        # settled payment asks for a receipt, and on one worker the receipts of all the earlier tests'
        # payments queue in front of the one a test waits for.
        children.append(_spawn("documents-worker", [PY, "worker.py", "--queues", "documents"], env, log_dir))
        children.append(_spawn("scheduler", [PY, "worker.py", "cron"], env, log_dir))
        stack = Stack(base_url, gateway, password, api_key, database_url, redis_url, prefix, log_dir, children)
        _wait_ready(stack)
        SCREENSHOTS.mkdir(exist_ok=True)
        yield stack
        stack.check_alive()  # a process that died during the run is an error of the run
    finally:
        _stop(children)
        if gateway is not None:
            shutil.copy(gateway.log_path, log_dir / "sandbox.log")
            gateway.stop()
        for cleanup in reversed(cleanups):
            cleanup()


def attached_stack(path: str) -> Stack:
    """The stack that ``python -m e2e.serve`` runs, from the JSON file it wrote (E2E_ATTACH)."""
    info = json.loads(Path(path).read_text())
    gateway = SandboxProcess(None, info["gateway"], "", "", "", {}, None, False)
    return Stack(info["base_url"], gateway, info["password"], info["api_key"], info["database_url"],
                 info["redis_url"], info["queue_prefix"], Path(info["log_dir"]))


# ---------------------------------------------------------------------------------------------- the browser

class Browsing:
    """``browsing.as_user(email)`` → a Page signed in as that person, in a context of its own (so
    several people can be signed in at once); ``browsing.anonymous()`` → a page signed in as nobody.
    Dialogs (``data-confirm``) are accepted."""

    def __init__(self, browser: Browser, stack: Stack):
        self.browser, self.stack = browser, stack
        self.contexts: list[BrowserContext] = []

    def anonymous(self) -> Page:
        context = self.browser.new_context(base_url=self.stack.base_url, locale="zh-CN",
                                           timezone_id="Asia/Shanghai", viewport={"width": 1280, "height": 900})
        context.set_default_timeout(WAIT_MS)
        context.on("page", lambda p: p.on("dialog", lambda d: d.accept()))
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda d: d.accept())
        return page

    def as_user(self, email: str, path: str = "/") -> Page:
        page = self.anonymous()
        sign_in(page, email, self.stack.password)
        if path != "/":
            page.goto(path)
        return page

    def close(self, failed_name: str | None) -> None:
        for i, context in enumerate(self.contexts):
            if failed_name:
                for j, page in enumerate(context.pages):
                    try:
                        page.screenshot(path=str(SCREENSHOTS / f"FAILED-{failed_name}-{i}{j}.png"), full_page=True)
                        (SCREENSHOTS / f"FAILED-{failed_name}-{i}{j}.html").write_text(page.content())
                    except Exception:  # the page may be gone already
                        pass
            context.close()


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill(password)
    page.get_by_test_id("login-submit").click()
    expect(page).not_to_have_url(_LOGIN_URL)


def shot(page: Page, name: str) -> None:
    """A full-page screenshot of a main screen, for a person to look at: e2e/screenshots/<name>.png."""
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


_LOGIN_URL = re.compile(r"/login(\?|$)")
