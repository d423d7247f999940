"""``scripts/run`` for real: the whole portal on free ports and a temporary instance folder, a
Ctrl-C (SIGINT to the script's process group, as a terminal sends it), then the facts a person
would check: every process it started is gone, one after the other (web, workers, scheduler,
sandbox, Redis last), the exit status is 0, nothing printed a traceback nor RQ's per-job lines;
``ACCESS_LOG=1`` logs each request; both servers answer ``/favicon.ico``; the banner lists every
demo login of the seed and says truly where the password and the API key are kept.

The script runs on a view of this interpreter's virtualenv (its ``bin/`` linked, plus the install
stamp ``ensure_venv`` checks), so it installs nothing and never touches the real one.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "scripts" / "run"
BANNER_END = "Press Ctrl-C to stop everything."
ORDER = ["web", "worker-1", "documents-worker", "scheduler", "sandbox", "mailcatcher", "redis"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc"),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="scripts/run starts a private redis-server"),
    pytest.mark.skipif(shutil.which("setsid") is None, reason="needs setsid (util-linux)"),
    pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="runs scripts/run on a view of this virtualenv"),
]


def demo_users() -> list[tuple[str, str, str | None, str]]:
    """USERS of app/demo/data.py: what ``flask demo seed`` creates."""
    from app.demo import data

    return list(data.USERS)


def login_line(email: str, role: str, reseller: str | None, _name: str) -> str:
    """The pattern of a login's line in the banner: role, email and reseller (when it has one)."""
    return rf"{role.replace('_', ' ')} +{re.escape(email)}" + (rf" +{reseller}" if reseller else "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def venv_view(where: Path) -> Path:
    """A directory that ``ensure_venv`` takes for a current virtualenv: ``bin/`` links to this
    interpreter's scripts (``python`` runs this interpreter) and the stamp of this pyproject.toml."""
    real_bin = Path(sys.executable).parent
    bin_dir = where / "bin"
    bin_dir.mkdir(parents=True)
    for entry in real_bin.iterdir():
        if entry.name.startswith("python"):
            continue
        (bin_dir / entry.name).symlink_to(entry)
    for name in ("python", "python3"):
        wrapper = bin_dir / name
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        wrapper.chmod(0o755)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    (where / ".portal-installed").write_text(f"{digest}\ntest\n")
    return where


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, session id) of a process, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[3])


def alive(pid: int) -> bool:
    stat = proc_stat(pid)
    return stat is not None and stat[0] != "Z"


def processes_in_sessions(sessions: set[int]) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = proc_stat(int(entry.name))
            if stat is not None and stat[0] != "Z" and stat[1] in sessions:
                found.add(int(entry.name))
    return found


class DeathWatch(threading.Thread):
    """Notes when each watched process stops running (polling /proc every 10 ms)."""

    def __init__(self, pids: dict[str, int]):
        super().__init__(daemon=True)
        self.pids = pids
        self.died: dict[str, float] = {}
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set() and len(self.died) < len(self.pids):
            for name, pid in self.pids.items():
                if name not in self.died and not alive(pid):
                    self.died[name] = time.monotonic()
            time.sleep(0.01)


def http_get(url: str, headers: dict[str, str]):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
        response.read()
        return response


def read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def run_script(tmp_path):
    """Starts scripts/run (its own session, like a terminal's foreground job) and kills what is left
    of it at the end, whatever the test saw."""
    started: list[subprocess.Popen] = []
    sessions: set[int] = set()

    def start(extra_env: dict[str, str]) -> tuple[subprocess.Popen, Path, Path, dict[str, str]]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DATABASE_", "REDIS_", "DEMO_", "SANDBOX_", "TEST_", "E2E_", "PYTEST_", "RQ_",
                                    "FLASK_", "GUNICORN_", "MAILCATCHER_", "SMTP_"))
               and k not in ("INSTANCE_PATH", "SECRET_KEY", "ENCRYPTION_KEYS", "PUBLIC_BASE_URL", "PORT", "HOST",
                             "WEB_WORKERS", "WORKER_PROCESSES", "LOG_LEVEL", "VIRTUAL_ENV", "VENV")}
        env.update(VENV=str(venv_view(tmp_path / "venv")), INSTANCE_PATH=str(tmp_path / "instance"),
                   PORT=str(free_port()), SANDBOX_PORT=str(free_port()), MAILCATCHER_SMTP_PORT=str(free_port()),
                   MAILCATCHER_HTTP_PORT=str(free_port()), WEB_WORKERS="1", PYTHONUNBUFFERED="1",
                   **extra_env)
        out, err = tmp_path / "stdout", tmp_path / "stderr"
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen([str(RUN)], cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                    start_new_session=True)
        started.append(proc)
        sessions.add(proc.pid)
        return proc, out, err, env

    start.sessions = sessions
    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    for pid in processes_in_sessions(sessions):  # children in sessions of their own
        os.kill(pid, signal.SIGKILL)


def wait_for_banner(proc: subprocess.Popen, out: Path, err: Path, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    while BANNER_END not in read(out):
        if proc.poll() is not None:
            pytest.fail(f"scripts/run exited ({proc.returncode}) while starting:\n{read(out)}\n{read(err)[-4000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"scripts/run was not up within {timeout} s:\n{read(out)}\n{read(err)[-4000:]}")
        time.sleep(0.2)
    return read(out)


def started_pids(stderr: str) -> dict[str, int]:
    """What the script says it started: ``==> started NAME (pid N)`` and the private Redis."""
    pids = {name: int(pid) for name, pid in re.findall(r"^==> started (\S+) \(pid (\d+)\)$", stderr, re.MULTILINE)}
    redis = re.search(r"^==> started a private Redis at \S+ \(pid (\d+),", stderr, re.MULTILINE)
    if redis:
        pids["redis"] = int(redis.group(1))
    return pids


def test_ctrl_c_stops_everything_in_order_cleanly(run_script, tmp_path):
    api_key = "rpp_test_" + "k" * 24
    proc, out, err, env = run_script({"DEMO_API_KEY": api_key, "ACCESS_LOG": "1"})
    banner = wait_for_banner(proc, out, err)
    request_id = f"run-test-{os.getpid()}"
    for port, headers in ((env["PORT"], {"X-Request-Id": request_id}), (env["SANDBOX_PORT"], {})):
        icon = http_get(f"http://127.0.0.1:{port}/favicon.ico", headers)
        assert icon.status == 200 and icon.headers["Content-Type"].startswith("image/"), (port, icon.headers)
    pids = started_pids(read(err))
    assert sorted(pids) == sorted(ORDER), read(err)
    everything = processes_in_sessions({proc.pid, *pids.values()})
    assert set(pids.values()) <= everything
    assert len(everything) >= len(ORDER) + 2  # gunicorn's worker, RQ's scheduler process, ...

    watch = DeathWatch(pids)
    watch.start()
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
    code = proc.wait(90)
    took = time.monotonic() - started
    watch.join(5)  # it ends by itself once every process has stopped (a busy machine may lag a poll)
    watch.done.set()
    output = read(out) + read(err)

    assert code == 0, output[-4000:]
    left = {pid for pid in everything if alive(pid)}
    assert not left, f"still running after scripts/run exited: {left}"
    assert sorted(watch.died, key=watch.died.get) == ORDER, (watch.died, output[-4000:])
    assert "Traceback" not in output, output
    assert not re.search(r"INFO \d+ \[job [^\]]+\] rq\.", output), "RQ's per-job lines (RQ_LOG_LEVEL=WARNING)"
    assert took < 60, f"stopping took {took:.1f} s"
    # ACCESS_LOG=1: gunicorn's line for the request: method, path, status, duration, request id.
    assert re.search(rf'^\[[^\]]+\] "GET /favicon\.ico" 200 \d+ms request={request_id}$', output, re.MULTILINE), output

    # The banner: every demo login, and where the password and the key really are.
    for user in demo_users():
        assert re.search(rf"^    {login_line(*user)}$", banner, re.MULTILINE), (user, banner)
    demo_env = tmp_path / "instance" / "demo.env"
    stored = dict(line.split("=", 1) for line in demo_env.read_text().splitlines())
    password = re.search(r"password for all: (\S+)\)", banner).group(1)
    assert stored["DEMO_PASSWORD"] == password
    assert f"The password is kept in {demo_env}." in banner
    assert "DEMO_API_KEY" not in stored and api_key not in demo_env.read_text()
    assert f"Demo API key: {api_key}" in banner
    assert f"The API key comes from DEMO_API_KEY in the environment (not stored in {demo_env})." in banner
    assert "kept in" not in banner.split("The API key", 1)[1]


# ---------------------------------------------------------------- the banner's helpers (scripts/_lib.sh), alone

def lib(script: str, env: dict[str, str] | None = None) -> str:
    """Runs ``script`` in bash with scripts/_lib.sh sourced (as scripts/run does); its stdout."""
    prelude = f'set -Eeuo pipefail; ROOT="{ROOT}"; cd "$ROOT"; source scripts/_lib.sh; PY="{sys.executable}"\n'
    base = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_")}
    done = subprocess.run(["bash", "-c", prelude + script], env={**base, **(env or {})}, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_demo_logins_are_every_user_the_seed_creates():
    lines = lib("demo_logins").splitlines()
    users = demo_users()
    assert len(lines) == len(users)
    for line, user in zip(lines, users, strict=True):
        assert re.fullmatch(login_line(*user), line), (line, user)
    assert any("operator@r1003.example" in line for line in lines)


SHOW = 'demo_value DEMO_API_KEY \'"gen-" + secrets.token_hex(16)\'\n' \
       'printf "%s|%s\\n" "$DEMO_API_KEY" "${DEMO_SOURCE[DEMO_API_KEY]}"\n' \
       'demo_value_note DEMO_API_KEY "The API key"\n'


def test_a_generated_demo_value_is_kept_in_demo_env_and_reused(tmp_path):
    demo_env = tmp_path / "demo.env"
    first = lib(SHOW, {"DEMO_ENV": str(demo_env)}).splitlines()
    value, source = first[0].split("|")
    assert value.startswith("gen-") and source == "generated"
    assert first[1] == f"The API key is kept in {demo_env}."
    assert demo_env.read_text() == f"DEMO_API_KEY={value}\n"
    assert demo_env.stat().st_mode & 0o077 == 0  # secrets: readable by the owner only

    again = lib(SHOW, {"DEMO_ENV": str(demo_env)}).splitlines()
    assert again[0] == f"{value}|file" and again[1] == first[1]
    assert demo_env.read_text() == f"DEMO_API_KEY={value}\n"


def test_a_demo_value_from_the_environment_is_used_and_never_written(tmp_path):
    demo_env = tmp_path / "demo.env"
    demo_env.write_text("DEMO_API_KEY=rpp_demo_an_older_generated_value_1234\n")
    out = lib(SHOW, {"DEMO_ENV": str(demo_env), "DEMO_API_KEY": "rpp_from_the_environment_12345678"}).splitlines()
    assert out[0] == "rpp_from_the_environment_12345678|environment"
    assert out[1] == f"The API key comes from DEMO_API_KEY in the environment (not stored in {demo_env})."
    assert demo_env.read_text() == "DEMO_API_KEY=rpp_demo_an_older_generated_value_1234\n"

    fresh = tmp_path / "fresh.env"
    lib(SHOW, {"DEMO_ENV": str(fresh), "DEMO_API_KEY": "rpp_from_the_environment_12345678"})
    assert not fresh.exists()
