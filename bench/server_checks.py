"""What matters in a production HTTP server besides speed, checked on each server of bench/servers.py
(not read from their docs): each check starts the server on the real portal (bench/check_wsgi.py,
SQLite database, Prometheus multiprocess mode as in production), does one thing to it and records
what happened.

    .venv/bin/python bench/server_checks.py                                  # every check, the default servers
    .venv/bin/python bench/server_checks.py --servers granian --checks crash,timeout

Checks:
  shutdown    SIGTERM while a 3 s request runs: does it finish (200), are new connections refused,
              how long until the server is gone
  reload      SIGHUP while requests keep coming: errors seen, were the workers replaced
  recycle     worker recycling after N requests (gunicorn --max-requests 20; granian has only
              --workers-lifetime >= 60 s and --workers-max-rss, tried with 10 s)
  timeout     a 6 s request with the server's request timeout at 3 s (gunicorn --timeout 3; granian has
              none for WSGI): what the client gets, and is the server still serving after
  limits      a 20 MB body (to a bare endpoint and to the API, whose MAX_CONTENT_LENGTH is 12 MB), an
              8 kB request line, a 16 kB header, 200 headers: the statuses answered
  access_log  the access log line of one request: method, path, status, duration, X-Request-Id
  metrics     60 requests (10 at a time), SIGHUP (new workers), 60 more, then 5 scrapes of /metrics: does
              every scrape count all 120 (the counters of every worker, old and new, added up)
  crash       a worker is killed in the middle of a request (SIGKILL, as an OOM kill): what the client gets, does the
              server go on serving; granian also with --respawn-failed-workers, and two crashes 1 s apart

Writes bench/results/server_checks.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import servers as http_servers  # noqa: E402

APP = "bench.check_wsgi:app"
CHECKS = ("shutdown", "reload", "recycle", "timeout", "limits", "access_log", "metrics", "crash")


def log(msg: str = "") -> None:
    print(msg, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = 15, full: bool = False) -> dict:
    """One request on a new connection: {status, body, seconds} or {error, seconds}."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return {"status": r.status, "body": (data if full else data[:200]).decode("utf-8", "replace"),
                "request_id": r.getheader("X-Request-Id"), "seconds": round(time.perf_counter() - t0, 3)}
    except (OSError, http.client.HTTPException) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:200], "seconds": round(time.perf_counter() - t0, 3)}
    finally:
        conn.close()


def raw_post(port: int, path: str, body: bytes, content_type: str, timeout: float = 60) -> dict:
    """A POST whose answer is read even when the server answers (and closes) before the body is all
    sent, as a server or application refusing a too large body does."""
    t0 = time.perf_counter()
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    sent_all = True
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(head + body)
        except OSError:
            sent_all = False
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except OSError:
            pass
    status = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return {"status": int(status.group(1)) if status else None, "body_sent_in_full": sent_all,
            "answer": data.split(b"\r\n\r\n", 1)[-1][:120].decode("utf-8", "replace"),
            "seconds": round(time.perf_counter() - t0, 3)}


class Env:
    """A migrated SQLite database and the environment of every server started by the checks."""

    def __init__(self, tmp: Path, redis_url: str):
        from cryptography.fernet import Fernet

        self.tmp = tmp
        self.base = {**os.environ, "FLASK_APP": "app", "DATABASE_URL": f"sqlite:///{tmp / 'portal.db'}",
                     "INSTANCE_PATH": str(tmp / "instance"), "SECRET_KEY": secrets.token_hex(32),
                     "ENCRYPTION_KEYS": Fernet.generate_key().decode(), "REDIS_URL": redis_url,
                     "PYTHONPATH": str(ROOT)}
        (tmp / "instance").mkdir()
        subprocess.run([str(http_servers.VENV_BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=self.base,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self, spec: http_servers.ServerSpec, tag: str, *, extra: tuple[str, ...] = (),
              access_log: bool = False) -> http_servers.Server:
        prom = self.tmp / f"prom-{spec.name}-{tag}"
        shutil.rmtree(prom, ignore_errors=True)
        prom.mkdir()
        env = {**self.base, "PROMETHEUS_MULTIPROC_DIR": str(prom)}
        return http_servers.Server(spec, APP, free_port(), env, self.tmp / f"{spec.name}-{tag}.log",
                                   extra=extra, access_log=access_log)


def concurrently(n: int, fn, *args, **kw) -> list[dict]:
    pairs = [in_thread(fn, *args, **kw) for _ in range(n)]
    for t, _ in pairs:
        t.join(30)
    return [box for _, box in pairs]


def worker_pids(srv, n: int = 12) -> set[int]:
    """The workers that answer n requests sent at once (each holds its worker 0.3 s, so an idle
    worker's accept loop cannot take them all)."""
    return {int(r["body"]) for r in concurrently(n, request, srv.port, "GET", "/check/pid?s=0.3", timeout=10)
            if r.get("status") == 200}


def in_thread(fn, *args, **kw) -> tuple[threading.Thread, dict]:
    box: dict = {}
    t = threading.Thread(target=lambda: box.update(fn(*args, **kw)), daemon=True)
    t.start()
    return t, box


def gone_within(srv, since: float, limit: float) -> float | None:
    """Seconds from ``since`` (a perf_counter) until the server exited, None if not within ``limit``."""
    try:
        srv.proc.wait(timeout=limit)
        return round(time.perf_counter() - since, 2)
    except subprocess.TimeoutExpired:
        return None


# --- the checks ------------------------------------------------------------------------------------

def check_shutdown(env: Env, spec) -> dict:
    extra = ("--graceful-timeout", "10") if spec.kind == "gunicorn" else ("--workers-kill-timeout", "10")
    srv = env.start(spec, "shutdown", extra=extra)
    try:
        t, box = in_thread(request, srv.port, "GET", "/check/sleep?s=3")
        time.sleep(0.7)
        t_term = time.perf_counter()
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        during = request(srv.port, "GET", "/healthz", timeout=3)
        t.join(15)
        return {"extra": list(extra), "in_flight": box, "new_request_after_term": during,
                "exit_after_term_s": gone_within(srv, t_term, 20),
                "exit_status": srv.proc.returncode,
                "ok": box.get("status") == 200 and "error" in during}
    finally:
        srv.stop(5)


def check_reload(env: Env, spec) -> dict:
    srv = env.start(spec, "reload")
    try:
        before = worker_pids(srv)
        results = {"ok": 0, "errors": [], "statuses": {}}
        stop = time.perf_counter() + 8

        def loop():
            while time.perf_counter() < stop:
                r = request(srv.port, "GET", "/healthz", timeout=20)
                if r.get("status") == 200:
                    results["ok"] += 1
                else:
                    results["errors"].append(r)
            return {}

        threads = [in_thread(loop)[0] for _ in range(2)]
        time.sleep(1)
        srv.proc.send_signal(signal.SIGHUP)
        for t in threads:
            t.join(30)
        deadline = time.time() + 30  # new workers import the portal: seconds on a loaded machine
        after: set = set()
        while time.time() < deadline:
            after = worker_pids(srv)
            if after and not (before & after):
                break
            time.sleep(1)
        return {"requests_ok": results["ok"], "errors": len(results["errors"]), "first_errors": results["errors"][:3],
                "pids_before": sorted(before), "pids_after": sorted(after),
                "workers_replaced": bool(after) and not (before & after),
                "server_alive": srv.proc.poll() is None,
                "ok": not results["errors"] and bool(after) and not (before & after)}
    finally:
        srv.stop(10)


def check_recycle(env: Env, spec) -> dict:
    if spec.kind == "gunicorn":
        srv = env.start(spec, "recycle", extra=("--max-requests", "20"))
        try:
            seen, errors = set(), 0
            for _ in range(100):
                r = request(srv.port, "GET", "/check/pid", timeout=30)
                if r.get("status") == 200:
                    seen.add(int(r["body"]))
                else:
                    errors += 1
            return {"option": "--max-requests 20", "requests": 100, "errors": errors, "distinct_workers": len(seen),
                    "ok": errors == 0 and len(seen) > spec.workers}
        finally:
            srv.stop(10)
    # granian: by age or memory only; the age must be >= 60 s.
    cmd = http_servers.command(spec, APP, free_port(), extra=("--workers-lifetime", "10"))
    r = subprocess.run(cmd, cwd=ROOT, env=env.base, capture_output=True, text=True, timeout=60)
    return {"option": "--workers-lifetime 10 (no per-request count exists)", "exit_status": r.returncode,
            "said": (r.stderr or r.stdout).strip().splitlines()[-1:] if (r.stderr or r.stdout) else [],
            "ok": False, "note": "only --workers-lifetime (>= 60 s) and --workers-max-rss"}


def check_timeout(env: Env, spec) -> dict:
    extra = ("--timeout", "3") if spec.kind == "gunicorn" else ()
    srv = env.start(spec, "timeout", extra=extra)
    try:
        slow = request(srv.port, "GET", "/check/sleep?s=6", timeout=20)
        time.sleep(1)
        after = request(srv.port, "GET", "/healthz", timeout=5)
        cut = "error" in slow or (slow.get("status", 200) >= 500) or slow["seconds"] < 5
        return {"option": " ".join(extra) or "(none for WSGI)", "slow_request": slow, "next_request": after,
                "cut_by_server": cut, "ok": cut and after.get("status") == 200}
    finally:
        srv.stop(10)


def check_limits(env: Env, spec) -> dict:
    srv = env.start(spec, "limits")
    try:
        big = b"x" * (20 * 1024 * 1024)
        out = {
            "body_20MB_bare": raw_post(srv.port, "/check/size", big, "application/octet-stream"),
            "body_20MB_api": raw_post(srv.port, "/api/v1/integration/payment/create", big, "application/json"),
            "request_line_8kB": request(srv.port, "GET", "/check/pid?x=" + "a" * 8192),
            "header_16kB": request(srv.port, "GET", "/check/pid", headers={"X-Big": "b" * 16384}),
            "headers_200": request(srv.port, "GET", "/check/pid", headers={f"X-H{i}": "v" for i in range(200)}),
        }
        for v in out.values():
            v.pop("request_id", None)
        out["ok"] = out["body_20MB_api"].get("status") == 413
        return out
    finally:
        srv.stop(10)


def check_access_log(env: Env, spec) -> dict:
    extra: tuple[str, ...] = ()
    if spec.kind == "gunicorn":  # scripts/run's format
        extra = ("--access-logformat", '%(t)s "%(m)s %(U)s" %(s)s %(M)sms request=%({x-request-id}o)s')
    else:  # the request's X-Request-Id is all granian can log (its header atoms are request headers)
        extra = ("--access-log-fmt", '[%(time)s] "%(method)s %(path)s" %(status)d %(dt_ms).1fms '
                                     'request=%(header{x-request-id})s')
    srv = env.start(spec, "access", extra=extra, access_log=True)
    try:
        mine = request(srv.port, "GET", "/healthz?token=secret")
        request(srv.port, "GET", "/healthz", headers={"X-Request-Id": "from-the-proxy-1"})
        time.sleep(1)
        lines = [ln for ln in srv.log_text().splitlines() if "/healthz" in ln]
        rid = mine.get("request_id") or "?"
        return {"format": extra[1], "lines": lines[-2:],
                "app_request_id_logged": any(rid in ln for ln in lines),
                "proxy_request_id_logged": any("from-the-proxy-1" in ln for ln in lines),
                "query_string_logged": any("secret" in ln for ln in lines),
                "ok": any(rid in ln for ln in lines)}
    finally:
        srv.stop(10)


def check_metrics(env: Env, spec) -> dict:
    srv = env.start(spec, "metrics")
    try:
        pids = worker_pids(srv)  # /check is not the portal: not counted

        def scrape_count():
            r = request(srv.port, "GET", "/metrics", timeout=10, full=True)
            return sum(float(m.group(1)) for m in re.finditer(
                r'^portal_http_requests_total\{[^}]*endpoint="ops\.healthz"[^}]*\} (\S+)$', r.get("body", ""), re.M))

        first = scrape_count()  # the start's readiness probes
        answered: set = set()

        def sixty():
            for _ in range(6):
                answered.update(r.get("status") for r in concurrently(10, request, srv.port, "GET", "/healthz",
                                                                       timeout=10))

        sixty()
        # Then new workers (SIGHUP) count 60 more: a scrape must add up the old workers' files and theirs.
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 30
        later: set = set()
        while time.time() < deadline:
            time.sleep(1)
            later = worker_pids(srv)
            if later and not (later & pids):
                break
        sixty()
        counts = [scrape_count() for _ in range(5)]
        return {"workers_answering": len(pids), "workers_after_reload": len(later),
                "workers_replaced": bool(later) and not (later & pids),
                "healthz_before": first, "healthz_counted_per_scrape": counts,
                "statuses": sorted(answered, key=str),
                "ok": bool(later) and not (later & pids) and all(c == first + 120 for c in counts)}
    finally:
        srv.stop(10)


def check_crash(env: Env, spec) -> dict:
    def one(extra: tuple[str, ...], tag: str, crashes: int) -> dict:
        srv = env.start(spec, tag, extra=extra)
        try:
            before = worker_pids(srv)
            got = []
            for i in range(crashes):
                got.append(request(srv.port, "GET", "/check/crash", timeout=10))
                if i + 1 < crashes:
                    time.sleep(1)
            time.sleep(5)  # granian respawns after --respawn-interval (3.5 s)
            after = [request(srv.port, "GET", "/healthz", timeout=5) for _ in range(10)]
            ok = sum(1 for r in after if r.get("status") == 200)
            pids_after = worker_pids(srv) if srv.proc.poll() is None else set()
            return {"extra": list(extra), "crashing_requests": got, "served_after": f"{ok}/10",
                    "pids_before": sorted(before), "pids_after": sorted(pids_after),
                    "server_alive": srv.proc.poll() is None,
                    "log_tail": [ln for ln in srv.log_text().splitlines() if ln.strip()][-3:],
                    "ok": ok == 10 and len(pids_after) == len(before)}
        finally:
            srv.stop(10)

    if spec.kind == "gunicorn":
        return {"one_crash": one((), "crash1", 1), "two_crashes_1s_apart": one((), "crash2", 2)}
    return {"one_crash": one((), "crash1", 1),
            "one_crash_respawn": one(("--respawn-failed-workers",), "crash2", 1),
            "two_crashes_1s_apart_respawn": one(("--respawn-failed-workers",), "crash3", 2)}


RUN = {"shutdown": check_shutdown, "reload": check_reload, "recycle": check_recycle, "timeout": check_timeout,
       "limits": check_limits, "access_log": check_access_log, "metrics": check_metrics, "crash": check_crash}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default=",".join(http_servers.DEFAULT_SERVERS))
    ap.add_argument("--checks", default=",".join(CHECKS))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    ap.add_argument("--output", default=str(ROOT / "bench" / "results" / "server_checks.json"))
    args = ap.parse_args(argv)
    names = [s for s in args.servers.split(",") if s]
    checks = [c for c in args.checks.split(",") if c]
    bad = (set(names) - set(http_servers.SERVERS)) | (set(checks) - set(CHECKS))
    if bad:
        ap.error(f"unknown: {', '.join(sorted(bad))}")
    tmp = Path(tempfile.mkdtemp(prefix="server-checks-"))
    out: dict = {"load_before": os.getloadavg()}
    try:
        env = Env(tmp, args.redis_url)
        for name in names:
            spec = dataclasses.replace(http_servers.SERVERS[name], workers=args.workers)
            out[name] = {}
            for c in checks:
                log(f"{name}: {c} ...")
                try:
                    out[name][c] = RUN[c](env, spec)
                except Exception as exc:  # a check that could not run says so
                    out[name][c] = {"ok": False, "failed_to_run": f"{type(exc).__name__}: {exc}"[:500]}
                log(f"  {json.dumps(out[name][c], default=str)[:600]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["load_after"] = os.getloadavg()
    out["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(out, indent=2, default=str) + "\n")
    log("")
    log(f"{'check':<11} " + " ".join(f"{n:>17}" for n in names))
    for c in checks:
        def verdict(v):
            if "ok" in v:
                return "yes" if v["ok"] else "NO"
            return "/".join("yes" if x.get("ok") else "NO" for x in v.values() if isinstance(x, dict))
        log(f"{c:<11} " + " ".join(f"{verdict(out[n][c]):>17}" for n in names))
    log(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
