"""The HTTP servers the benchmarks can put in front of a WSGI application, started and stopped the
same way: ``bench/create_order.py`` runs several of them side by side (one port each) and drives
them in interleaved rounds; ``bench/callbacks.py`` and ``bench/server_checks.py`` take one by name.

    gunicorn-sync     gunicorn -w 3 -k sync             one request per worker, connection closed after it
    gunicorn-gthread  gunicorn -w 3 -k gthread          4 threads per worker, keep-alive 5 s
    granian           granian --interface wsgi          3 workers, keep-alive, its default thread pool
                                                         (backpressure // 2 threads per worker)
    granian-bt4       granian, 4 blocking threads       the thread pool sized like gthread's

Every server gets the same environment (the caller's: database, Redis, PROMETHEUS_MULTIPROC_DIR),
listens on 127.0.0.1 and logs warnings only unless ``access_log`` is set.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class ServerSpec:
    name: str
    kind: str  # gunicorn | granian
    workers: int = 3
    worker_class: str = "sync"  # gunicorn only
    threads: int | None = None  # gunicorn gthread threads, granian blocking threads
    extra: tuple[str, ...] = field(default_factory=tuple)

    def describe(self) -> str:
        if self.kind == "gunicorn":
            return (f"gunicorn -w {self.workers} -k {self.worker_class}"
                    + (f" --threads {self.threads} --keep-alive 5" if self.worker_class == "gthread" else ""))
        return (f"granian --interface wsgi --workers {self.workers}"
                + (f" --blocking-threads {self.threads}" if self.threads else " (default blocking threads)"))


SERVERS: dict[str, ServerSpec] = {
    "gunicorn-sync": ServerSpec("gunicorn-sync", "gunicorn"),
    "gunicorn-gthread": ServerSpec("gunicorn-gthread", "gunicorn", worker_class="gthread", threads=4),
    "granian": ServerSpec("granian", "granian"),
    "granian-bt4": ServerSpec("granian-bt4", "granian", threads=4),
}
DEFAULT_SERVERS = ("gunicorn-sync", "gunicorn-gthread", "granian")


def _gunicorn_has_control_socket_flag() -> bool:
    # gunicorn >= 24 opens a control socket at a fixed path in $HOME; several servers would share it.
    out = subprocess.run([str(VENV_BIN / "gunicorn"), "--help"], capture_output=True, text=True).stdout
    return "--no-control-socket" in out


def command(spec: ServerSpec, app: str, port: int, *, access_log: bool = False,
            extra: tuple[str, ...] = ()) -> list[str]:
    """The command line that serves WSGI ``app`` ("module:attr"; "module:factory()" for gunicorn, which
    granian takes as ``--factory module:factory``) on 127.0.0.1:port."""
    if spec.kind == "gunicorn":
        cmd = [str(VENV_BIN / "gunicorn"), "-w", str(spec.workers), "-k", spec.worker_class,
               "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "2048"]
        if spec.worker_class == "gthread":
            cmd += ["--threads", str(spec.threads or 4), "--keep-alive", "5"]
        if _gunicorn_has_control_socket_flag():
            cmd.append("--no-control-socket")
        if access_log:
            cmd += ["--access-logfile", "-"]
        return cmd + list(spec.extra) + list(extra) + [app]
    cmd = [str(VENV_BIN / "granian"), "--interface", "wsgi", "--workers", str(spec.workers),
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--backlog", "2048",
           "--no-ws"]
    if spec.threads:
        cmd += ["--blocking-threads", str(spec.threads)]
    if access_log:
        cmd += ["--access-log", "--log-level", "info"]
    if app.endswith("()"):
        cmd.append("--factory")
        app = app[:-2]
    return cmd + list(spec.extra) + list(extra) + [app]


class Server:
    """One running server (its own session, so its workers can be signalled as a group)."""

    def __init__(self, spec: ServerSpec, app: str, port: int, env: dict, logfile: Path, *,
                 access_log: bool = False, extra: tuple[str, ...] = (), health_path: str = "/healthz"):
        self.spec, self.port, self.logfile = spec, port, logfile
        self.base = f"http://127.0.0.1:{port}"
        self.cmd = command(spec, app, port, access_log=access_log, extra=extra)
        self._out = open(logfile, "wb")
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.wait_ready(health_path)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_text(self) -> str:
        self._out.flush()
        return self.logfile.read_text(errors="replace")

    def wait_ready(self, path: str = "/healthz", timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited ({self.proc.returncode}):\n{self.log_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base + path, timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"{self.spec.name} did not answer {path} within {timeout:g} s")

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, then SIGKILL of the whole group after ``timeout`` s; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.proc.wait()
        self._out.close()
        return self.proc.returncode
