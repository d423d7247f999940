"""End-to-end fixtures: the REAL stack as separate processes, driven by Debian's Chromium.

Once per session: a fresh database (PostgreSQL when E2E_DATABASE_URL or TEST_DATABASE_URL names a
server, a dedicated database created and dropped there; else a SQLite file in a temporary folder),
Redis DB 12 (E2E_REDIS_URL) with a queue prefix of its own, ``flask db upgrade``, the sandbox bank
gateway (``python -m sandbox``), ``flask demo seed`` (users, channels of every kind, ~200 orders),
then the web app under gunicorn, an RQ worker (``python worker.py``) and the scheduler
(``python worker.py cron``), exactly as ``scripts/run`` starts them. Everything is stopped at the
end; the processes' logs are printed when a test failed.

Each test makes its own payment orders through the JSON API (``stack.create_orders``), so the
tests do not depend on each other's order. Screenshots go to ``e2e/screenshots/`` (git-ignored);
a failing test leaves ``FAILED-<test>-<n>.png`` there too.

    E2E_DATABASE_URL / TEST_DATABASE_URL  PostgreSQL server (postgresql://user@host:port/db)
    E2E_REDIS_URL      default redis://127.0.0.1:6379/12 (a private redis-server when nothing answers)
    E2E_CHROMIUM       default /usr/bin/chromium
    E2E_HEADED=1       show the browser (E2E_SLOWMO=ms to slow it down)
    E2E_ATTACH=FILE    use the stack that ``python -m e2e.serve`` keeps running (it prints FILE)

The fixtures and hooks are here; what they run and what the tests import (the logins, ``money``,
``plain``, ``shot``, ``Stack``, ``running_stack``, ``Browsing``) is in e2e/support.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from .support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LOG_DIRS,
    SCREENSHOTS,
    Browsing,
    Stack,
    attached_stack,
    running_stack,
)


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    if os.environ.get("E2E_ATTACH"):  # write and rerun tests against a stack that keeps running
        SCREENSHOTS.mkdir(exist_ok=True)
        yield attached_stack(os.environ["E2E_ATTACH"])
        return
    with running_stack(tmp_path_factory.mktemp("e2e")) as s:
        yield s


# ---------------------------------------------------------------------------------------------- the browser

@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                               headless=os.environ.get("E2E_HEADED") != "1",
                               slow_mo=float(os.environ.get("E2E_SLOWMO", "0")))
        yield b
        b.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def browsing(browser, stack, request) -> Iterator[Browsing]:
    b = Browsing(browser, stack)
    yield b
    rep = getattr(request.node, "rep_call", None)
    b.close(request.node.name if rep is not None and rep.failed else None)


def pytest_sessionstart(session):
    SCREENSHOTS.mkdir(exist_ok=True)
    for old in SCREENSHOTS.glob("FAILED-*"):  # what the last run's failures left
        old.unlink()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if exitstatus in (0, 5) or not LOG_DIRS:
        return
    for log_dir in LOG_DIRS:
        for log in sorted(log_dir.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()
            if not lines:
                continue
            terminalreporter.section(f"e2e log: {log.name} (last 60 of {len(lines)} lines; {log})")
            terminalreporter.write_line("\n".join(lines[-60:]))
