"""scripts/cluster from Python: a local deployment of several processes (haproxy, two web groups, two
RQ workers, a scheduler, the sandbox gateway) on one PostgreSQL and one Redis, for the tests of
tests/cluster/ and for ``bench/load_mix.py --cluster``.

    with Cluster(state_dir, port=9100, database_url=..., redis_url=..., prefix="c1-") as cluster:
        cluster.url            # haproxy
        cluster.kill("web-1"); cluster.restart("web-1")

Every subcommand is the script's own (one way to run the topology, by hand or from here); this
class adds the environment of one deployment and reads what the script keeps in its state
directory (the parts' logs, the shared secrets)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "cluster"
PARTS = ("sandbox", "web-1", "web-2", "worker-1", "worker-2", "scheduler", "haproxy")


class ClusterError(RuntimeError):
    pass


class Cluster:
    def __init__(self, state_dir: Path, *, port: int, database_url: str, redis_url: str, prefix: str,
                 env: dict[str, str] | None = None):
        self.state_dir = Path(state_dir)
        self.port = port
        self.prefix = prefix
        self.database_url = database_url
        self.redis_url = redis_url
        self.env = {
            **os.environ, "CLUSTER_DIR": str(self.state_dir), "CLUSTER_PORT": str(port),
            "DATABASE_URL": database_url, "REDIS_URL": redis_url, "RQ_QUEUE_PREFIX": prefix,
            "LOG_LEVEL": "WARNING", **(env or {}),
        }
        # What the test process set for itself must not leak into the deployment.
        for name in ("INSTANCE_PATH", "SECRET_KEY", "ENCRYPTION_KEYS", "PUBLIC_BASE_URL", "PROMETHEUS_MULTIPROC_DIR"):
            if name not in (env or {}):
                self.env.pop(name, None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.port + 3}"

    def run(self, *args: str, timeout: float = 120) -> str:
        """One subcommand of scripts/cluster; its stdout. Raises ClusterError with its output on failure."""
        proc = subprocess.run(["bash", str(SCRIPT), *args], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        if proc.returncode != 0:
            raise ClusterError(f"scripts/cluster {' '.join(args)} exited {proc.returncode}:\n"
                               f"{proc.stdout}{proc.stderr[-4000:]}")
        return proc.stdout

    def start(self) -> str:
        return self.run("start", timeout=300).strip()

    def stop(self) -> None:
        self.run("stop", timeout=180)

    def kill(self, part: str) -> None:
        self.run("kill", part)

    def kill_now(self, part: str) -> None:
        """What ``scripts/cluster kill PART`` does (SIGKILL to a web group's process group, to a
        worker's process), sent from this process: the script's own start takes 50-100 ms on a busy
        machine, longer than most requests, so a test that waits for requests in flight kills here."""
        pid = self.pid(part)
        if pid is None:
            raise ClusterError(f"{part} has no pid file")
        if part.startswith("web-"):
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)

    def restart(self, part: str) -> None:
        self.run("restart", part)

    def scheduler2(self) -> None:
        self.run("scheduler2")

    def status(self) -> dict[str, str]:
        """Part -> "running", "DOWN" or "stopped"."""
        out = {}
        for line in self.run("status").splitlines():
            name, _, rest = line.partition(" ")
            if name != "url":
                out[name] = rest.split()[0]
        return out

    def in_flight(self, server: str) -> int:
        """Requests haproxy has sent to ``server`` (web-1, web-2) that are not answered yet (the
        ``scur`` column of its ``show stat``)."""
        for row in haproxy_stats(self.state_dir / "haproxy.sock"):
            if row.get("pxname") == "web" and row.get("svname") == server:
                return int(row["scur"] or 0)
        raise ClusterError(f"haproxy knows no server {server}")

    def pid(self, part: str) -> int | None:
        path = self.state_dir / "pids" / f"{part}.pid"
        return int(path.read_text()) if path.exists() else None

    def log(self, part: str) -> str:
        path = self.state_dir / "logs" / f"{part}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def secrets(self) -> dict[str, str]:
        """SECRET_KEY and ENCRYPTION_KEYS every process of the deployment shares."""
        lines = (self.state_dir / "secrets.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line)

    def app_config(self) -> dict[str, str]:
        """``create_app`` overrides that give a process the deployment's view (its database, Redis,
        prefix and keys): for seeding and for reading the database from the test process."""
        return {"DATABASE_URL": self.database_url, "REDIS_URL": self.redis_url, "RQ_QUEUE_PREFIX": self.prefix,
                "RATELIMIT_KEY_PREFIX": f"{self.prefix}LIMITS", **self.secrets()}

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def haproxy_stats(admin_socket: Path) -> list[dict[str, str]]:
    """haproxy's ``show stat`` on its admin socket: a row per proxy and server, by column name."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(str(admin_socket))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    return [dict(zip(header, line.split(","), strict=False)) for line in lines[1:] if line]
