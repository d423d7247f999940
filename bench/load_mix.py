"""Benchmark: the whole portal under a mixed, open-loop load, ramped until it breaks; then every money
invariant checked over the database.

    .venv/bin/python bench/load_mix.py [--rates 50,100,200,400,700,1000,1400] [--step-seconds 20]
                                       [--generators 2] [--connections 48] [--resellers 8]
                                       [--server-cmd "gunicorn -w 3 -k sync -b 127.0.0.1:{port} bench.wsgi:app"]
                                       [--url http://127.0.0.1:8000 --database-url postgresql://...]
                                       [--cluster [--cluster-port 8100]] [--keep-db]

What it does (see bench/README.md, "Mixed load"):

1. without ``--url``: creates a fresh database ``portal_bench_<random>`` on the server of
   ``--database-url``, runs ``flask db upgrade``, starts the sandbox gateway (the ONLINE checkout asks
   it for a pay page) and the server of ``--server-cmd`` (``{port}`` is filled in; run in the repo with
   the bench's environment: DATABASE_URL, REDIS_URL, PUBLIC_BASE_URL, the rate limits raised beyond
   reach); with ``--url``: uses that running portal and its database (``--database-url`` names it), and
   ``--gateway-url`` the gateway its ONLINE channel points to; with ``--cluster``: a fresh database
   as above, and the portal as scripts/cluster deploys it (tests/support/cluster.py: haproxy on
   ``--cluster-port``, two gunicorn groups of 2 workers, two RQ workers, a scheduler, its own sandbox
   gateway), stopped at the end;
2. seeds, through the services: ``--resellers`` resellers (wallet ¥1,000,000,000 topped up through the
   ledger), one reseller operator each, the WALLET channel and an ONLINE channel at the gateway
   (merchant MCH1001, its callback secret), an API client with scopes payments and refunds;
3. starts ``--generators`` generator processes (bench/mix_traffic.py), each owning its share of the
   resellers, which sign their users in through the login form; then, step by step, each sends its
   share of the step's rate on schedule (open loop) for ``--step-seconds``. The mix (``--mix``):
   creates, status reads, API list reads, the signed-in order list page, WALLET checkouts, ONLINE
   checkouts, signed gateway callbacks settling the ONLINE payments made earlier in the run (one in
   ten a repeat), refunds of WALLET-paid orders;
4. after each step: per kind and overall p50/p99 (from the scheduled send time) and errors; the ramp
   stops after the first step whose p99 passes ``--stop-p99-ms`` (200) or that has an error; a step
   is *held* when its p99 < 100 ms, no error, and the generators kept the schedule;
5. checks every money invariant (tests/support/invariants.py: docs/DOMAIN.md §3, the merged
   and channel payments, the wallets and credit lines) and the stored day figures over the database;
6. writes bench/results/load_mix.json (``load_mix_cluster.json`` with ``--cluster``; ``.invalid.json``
   when an invariant is broken), stops what it started and drops the database (unless ``--keep-db``).
   Exit 1 on a broken invariant or an unexpected failure, 0 otherwise (errors under load end the
   ramp; they are the measurement).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import mix_traffic  # noqa: E402
from bench.create_order import (  # noqa: E402
    _cpu_times,
    _pids_named,
    _proc_jiffies,
    _tree,
    create_database,
    drop_or_keep_database,
    free_port,
    sa_url,
    write_results,
)
from tests.support.cluster import Cluster  # noqa: E402

RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
DEFAULT_SERVER = ("{venv}/gunicorn -w 3 -k sync -b 127.0.0.1:{port} --log-level warning --backlog 2048 "
                  "bench.wsgi:app")
PASSWORD = "load-mix bench password 1"
WALLET, ONLINE = "WALLET", "ONLINE_UNIONPAY"
MERCHANT_NO = "MCH1001"
HELD_P99_MS = 100.0


def log(msg: str = "") -> None:
    print(msg, flush=True)


def pct(sorted_us: list[int], p: float) -> float:
    """The p-th percentile in ms (nearest rank)."""
    if not sorted_us:
        return 0.0
    return sorted_us[min(len(sorted_us) - 1, max(0, int(round(p / 100 * len(sorted_us) + 0.5)) - 1))] / 1000


# --- the portal: database, gateway, server ---------------------------------------------------------

def portal_app(env: dict):
    """The portal's app in this process, configured by ``env`` (as the server sees it)."""
    os.environ.update(env)
    from app import create_app

    return create_app()


def seed(app, resellers: int, gateway_url: str, callback_secret: str, api_secret: str) -> dict:
    """Resellers with funded wallets and one operator each, the two channels, an API client, through
    the services of ``app`` (the portal's config: its database and ENCRYPTION_KEYS, which seal the
    channel's secrets). Reused by tests/cluster/test_kill.py."""
    from app.extensions import db
    from app.models import Channel, User
    from app.services.accounts import api_clients
    from app.services.accounts import resellers as reseller_service
    from app.services.accounts.users import create_user
    from app.services.channel_config import lookup as channel_config
    from app.services.ledgers import wallet
    from app.services.platform.actor import Actor
    from app.services.platform.unit_of_work import transaction

    actor = Actor(type="system", id="bench-load-mix")
    users = []
    with app.app_context():
        with transaction():
            for code, kind, name, config in ((WALLET, "WALLET", "Wallet", {}),
                                             (ONLINE, "ONLINE", "UnionPay B2B",
                                              {"base_url": gateway_url, "merchant_no": MERCHANT_NO})):
                ch = db.session.scalar(sa.select(Channel).where(Channel.code == code))
                if ch is None:
                    ch = Channel(code=code, kind=kind, name=name, name_en=name, enabled=True,
                                 min_amount=Decimal("0.01"), max_amount=None, daily_limit_per_reseller=None,
                                 supports_refund=True, supports_partial_refund=True, confirm_timeout_seconds=900,
                                 expire_seconds=86400, available_to_all=True, config=config, sort_order=len(users))
                    db.session.add(ch)
                if kind == "ONLINE":
                    ch.config = config
                    channel_config.set_secrets(ch, {"api_secret": api_secret, "callback_secret": callback_secret})
        for i in range(resellers):
            code = f"RL{i + 1:03d}"
            r, _ = reseller_service.upsert_reseller(actor, code, reseller_service.ResellerChanges(
                name=f"Load mix reseller {code}", approval_threshold=Decimal("99999999999.99"),
                present=frozenset({"name", "approval_threshold"})))
            with transaction():
                wallet.top_up(actor, r.id, Decimal("1000000000.00"), "bench load mix funds")
            email = f"operator@{code.lower()}.bench.example"
            if db.session.scalar(sa.select(User.id).where(User.email == email)) is None:  # a rerun with --url
                create_user(actor, email, PASSWORD, "reseller_operator", code)
            db.session.rollback()
            users.append((code, email))
        with transaction():
            _, key = api_clients.create_client(actor, f"load-mix-{secrets.token_hex(3)}",
                                               api_clients.parse_scopes("payments,refunds"))
        db.session.remove()
        db.engine.dispose()
    return {"users": users, "api_key": key}


def start_server(cmd: str, env: dict, port: int, logfile: Path) -> subprocess.Popen:
    argv = shlex.split(cmd.format(port=port, venv=VENV_BIN))
    log(f"server: {' '.join(argv)}")
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=open(logfile, "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode}):\n{logfile.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError("the server did not answer /healthz within 60 s")


def stop_process_group(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- the ramp ------------------------------------------------------------------------------------

def summarize(rate: float, duration: float, parts: list[dict]) -> dict:
    lat: dict[str, list[int]] = {}
    ok: dict[str, int] = {}
    errors: dict[str, int] = {}
    for p in parts:
        for k, v in p["lat"].items():
            lat.setdefault(k, []).extend(v)
        for k, v in p["ok"].items():
            ok[k] = ok.get(k, 0) + v
        for k, v in p["errors"].items():
            errors[k] = errors.get(k, 0) + v
    every = sorted(v for vs in lat.values() for v in vs)
    for vs in lat.values():
        vs.sort()
    answered = sum(ok.values()) + sum(errors.values())
    schedule_s = max(p["schedule_s"] for p in parts)
    lag = max(p["send_lag_p99_us"] for p in parts) / 1000
    step = {
        "rate": rate, "duration_s": duration, "scheduled": sum(p["scheduled"] for p in parts),
        "answered": answered, "achieved_rps": round(answered / max(duration, schedule_s), 1),
        "errors": sum(errors.values()), "p50_ms": pct(every, 50), "p99_ms": pct(every, 99),
        "max_ms": every[-1] / 1000 if every else 0.0, "send_lag_p99_ms": lag,
        "by_kind": {k: {"requests": ok.get(k, 0) + errors.get(k, 0), "errors": errors.get(k, 0),
                        "p50_ms": pct(lat.get(k, []), 50), "p99_ms": pct(lat.get(k, []), 99)}
                    for k in mix_traffic.KINDS if ok.get(k) or errors.get(k)},
        "first_errors": [e for p in parts for e in p["first_errors"]][:5],
    }
    # Held: fast, clean, and sent on schedule (the generators' own lag under the p99 goal).
    step["held"] = (step["p99_ms"] < HELD_P99_MS and step["errors"] == 0 and lag < HELD_P99_MS
                    and step["answered"] >= 0.99 * step["scheduled"])
    return step


def print_step(s: dict) -> None:
    log(f"  {s['rate']:>6g} req/s target: {s['achieved_rps']:>7.1f} answered/s  p50 {s['p50_ms']:7.1f}  "
        f"p99 {s['p99_ms']:7.1f}  max {s['max_ms']:7.1f} ms  errors {s['errors']}  send lag p99 "
        f"{s['send_lag_p99_ms']:.1f} ms  {'HELD' if s['held'] else 'not held'}  (machine {s['machine_busy']:.0%} busy)")
    for k, v in s["by_kind"].items():
        log(f"      {k:<16} {v['requests']:>7}  p50 {v['p50_ms']:7.1f}  p99 {v['p99_ms']:7.1f} ms  "
            f"errors {v['errors']}")
    for e in s["first_errors"]:
        log(f"      error: {e}")
    log("      CPU ms per request: " + ", ".join(f"{g} {v:.2f}" for g, v in s["cpu_ms_per_request"].items()))


class CpuSplit:
    """CPU used during a step by each group of processes (their pids looked up at the start and end
    of the step), in ms per answered request; ``other`` is the rest of the machine (other sessions).
    PostgreSQL: the server's processes less the backends of other databases (a backend of another
    database that starts and ends within the step is still counted)."""

    def __init__(self, groups) -> None:
        self.groups = groups  # () -> {group: [pid, ...]}

    def __enter__(self) -> CpuSplit:
        self.pids = {g: set(p) for g, p in self.groups().items()}
        self.start = {p: _proc_jiffies(p) for ps in self.pids.values() for p in ps}
        self.busy0, self.total0 = _cpu_times()
        return self

    def __exit__(self, *exc: object) -> None:
        busy1, total1 = _cpu_times()
        for g, ps in self.groups().items():
            self.pids[g].update(ps)
        self.jiffies = {g: sum(max(0, _proc_jiffies(p) - self.start.get(p, 0)) for p in ps)
                        for g, ps in self.pids.items()}
        self.busy = busy1 - self.busy0
        self.machine_busy = self.busy / max(1, total1 - self.total0)

    def per_request(self, answered: int) -> dict:
        tick = os.sysconf("SC_CLK_TCK")
        out = {g: round(j / tick * 1000 / max(1, answered), 2) for g, j in self.jiffies.items()}
        out["other"] = round(max(0, self.busy - sum(self.jiffies.values())) / tick * 1000 / max(1, answered), 2)
        return out


def ramp(args, cfg: dict, users: list, server_pids: list[int], gateway_pid: int | None, worker_pids: list[int]
         ) -> tuple[list[dict], str | None]:
    """Start the generators, run the steps; (steps, why the ramp stopped)."""
    n = max(1, min(args.generators, len(users)))
    ctx = mp.get_context("fork")
    procs, commands, results = [], [], ctx.Queue()
    for i in range(n):
        q = ctx.Queue()
        gcfg = {**cfg, "users": users[i::n], "seed": 1000 + i, "prefix": f"{cfg['run']}g{i}", "offset": i * 7}
        p = ctx.Process(target=mix_traffic.main, args=(gcfg, q, results), daemon=True)
        p.start()
        procs.append(p)
        commands.append(q)
    steps: list[dict] = []
    stopped = None
    try:
        for _ in procs:
            r = results.get(timeout=120)
            if "setup_error" in r:
                raise RuntimeError(f"a generator could not start: {r['setup_error']}")
        if args.warmup_seconds > 0:
            # Every worker imports, compiles its templates and opens its connections: not measured.
            for q in commands:
                q.put(("step", args.rates[0] / n, args.warmup_seconds))
            warm = summarize(args.rates[0], args.warmup_seconds, [results.get(timeout=args.warmup_seconds + 120)
                                                                  for _ in procs])
            log(f"  warm-up at {args.rates[0]:g} req/s for {args.warmup_seconds:g} s: {warm['answered']} answers, "
                f"{warm['errors']} errors, p99 {warm['p99_ms']:.1f} ms (not counted)")
            if warm["errors"]:
                stopped = "errors in the warm-up"
                for e in warm["first_errors"]:
                    log(f"      error: {e}")
                return steps, stopped
        import psycopg

        pg = psycopg.connect(cfg["database_url"], autocommit=True)

        def groups() -> dict[str, list[int]]:
            others = {r[0] for r in pg.execute(  # backends of other databases (other sessions' tests)
                "SELECT pid FROM pg_stat_activity WHERE datname IS NOT NULL AND datname <> current_database()")}
            g = {"generators": [p.pid for p in procs if p.pid],
                 "postgres": [p for p in _pids_named("postgres", "postmaster") if p not in others],
                 "redis": _pids_named("redis-server")}
            if server_pids:
                g["server"] = [p for pid in server_pids for p in _tree(pid)]
            if gateway_pid:
                g["gateway"] = _tree(gateway_pid)
            if worker_pids:
                g["workers"] = [p for pid in worker_pids for p in _tree(pid)]
            return g

        for rate in args.rates:
            with CpuSplit(groups) as cpu:
                for q in commands:
                    q.put(("step", rate / n, args.step_seconds))
                parts = [results.get(timeout=args.step_seconds + 120) for _ in procs]
            step = summarize(rate, args.step_seconds, parts)
            step["machine_busy"] = round(cpu.machine_busy, 3)
            step["cpu_ms_per_request"] = cpu.per_request(step["answered"])
            step["loadavg"] = os.getloadavg()[0]
            steps.append(step)
            print_step(step)
            if step["errors"]:
                stopped = f"errors at {rate:g} req/s"
                break
            if step["p99_ms"] > args.stop_p99_ms:
                stopped = f"p99 {step['p99_ms']:.0f} ms > {args.stop_p99_ms:g} ms at {rate:g} req/s"
                break
    finally:
        for q in commands:
            q.put(("stop",))
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.terminate()
    return steps, stopped


def check_money(app) -> tuple[list[str], dict]:
    """The invariants over the whole database of ``app``, and what it holds."""
    from app.extensions import db
    from app.services.dashboards import overdue
    from app.services.ledgers import money_flows
    from tests.support import invariants

    with app.app_context():
        t0 = time.perf_counter()
        found = invariants.violations()
        found += [f"money_flow_days differs at {k}: stored {a}, recomputed {b}"
                  for k, a, b in money_flows.differences()]
        found += [f"open_order_days differs: {d}" for d in overdue.differences()]
        db.session.rollback()
        counts = {t: db.session.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in (
            "payment_orders", "merged_payments", "channel_payments", "transactions", "refunds", "wallet_entries",
            "channel_events")}
        counts["check_seconds"] = round(time.perf_counter() - t0, 1)
        db.session.remove()
        db.engine.dispose()
    return found, counts


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rates", default="50,100,200,400,700,1000,1400",
                    help="requests/s of each step, in order (default 50,100,200,400,700,1000,1400)")
    ap.add_argument("--step-seconds", type=float, default=20)
    ap.add_argument("--warmup-seconds", type=float, default=5,
                    help="an unmeasured first step at the first rate (default 5)")
    ap.add_argument("--stop-p99-ms", type=float, default=200, help="end the ramp after a step above it (200)")
    ap.add_argument("--generators", type=int, default=2, help="generator processes (default 2)")
    ap.add_argument("--connections", type=int, default=48, help="sender threads (connections) per generator (48)")
    ap.add_argument("--resellers", type=int, default=8, help="resellers, one signed-in user each (default 8)")
    ap.add_argument("--mix", default=",".join(f"{k}={v}" for k, v in mix_traffic.DEFAULT_MIX.items()),
                    help="kind=weight,... (default %(default)s)")
    ap.add_argument("--server-cmd", default=DEFAULT_SERVER,
                    help="the server, {port} filled in, {venv} = this Python's bin (default: gunicorn -w 3 sync)")
    ap.add_argument("--port", type=int, default=0,
                    help="without --url/--cluster: the server's port, the gateway's the next (default: free ones)")
    ap.add_argument("--cluster", action="store_true",
                    help="run the portal as scripts/cluster's deployment (haproxy, two web groups, two workers, "
                         "a scheduler, its sandbox gateway) on a fresh database instead of --server-cmd")
    ap.add_argument("--cluster-port", type=int, default=int(os.environ.get("CLUSTER_PORT", "8100")),
                    help="with --cluster: haproxy's port; the next three are taken too (default 8100)")
    ap.add_argument("--url", help="aim at this running portal instead (seeded here; give its --database-url)")
    ap.add_argument("--gateway-url", help="with --url: the gateway its ONLINE channel calls (else one is started)")
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"),
                    help="without --url: the server to create the database on; with --url: the portal's database")
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    ap.add_argument("--output", help="default bench/results/load_mix.json (load_mix_cluster.json with --cluster)")
    ap.add_argument("--keep-db", action="store_true", help="do not drop the benchmark database")
    args = ap.parse_args(argv)
    args.rates = [float(x) for x in args.rates.split(",") if x.strip()]
    args.output = args.output or str(RESULTS / ("load_mix_cluster.json" if args.cluster else "load_mix.json"))
    if args.cluster and args.url:
        ap.error("--cluster starts its own portal; --url aims at a running one: one or the other")
    mix = {}
    for part in args.mix.split(","):
        k, _, w = part.partition("=")
        if k.strip() not in mix_traffic.KINDS or not w.strip().isdigit():
            ap.error(f"--mix: {part!r} is not kind=weight with a kind of {', '.join(mix_traffic.KINDS)}")
        mix[k.strip()] = int(w)
    if not args.rates or any(r <= 0 for r in args.rates) or sum(mix.values()) == 0:
        ap.error("--rates and --mix need positive values")

    from cryptography.fernet import Fernet

    from sandbox.testing import DEFAULT_MERCHANTS, start_sandbox

    api_secret, callback_secret = DEFAULT_MERCHANTS[MERCHANT_NO]
    tmp = Path(tempfile.mkdtemp(prefix="portal-load-mix-"))
    (tmp / "instance").mkdir()
    (tmp / "prom").mkdir()
    db_name = None
    gateway = server = cluster = None
    status = 0
    try:
        if args.url:
            db_url, base = args.database_url, args.url.rstrip("/")
            port = None
        elif args.cluster:
            db_url, db_name = create_database(args.database_url)
            port = None
            cluster = Cluster(tmp / "cluster", port=args.cluster_port, database_url=db_url, redis_url=args.redis_url,
                              prefix=f"load-mix-{secrets.token_hex(3)}-", env={
                                  "SANDBOX_MERCHANTS": f"{MERCHANT_NO}:{api_secret}:{callback_secret}",
                                  "API_RATE_LIMIT": "10000000 per minute", "LOGIN_RATE_LIMIT": "100000 per minute"})
            log(f"starting scripts/cluster on port {args.cluster_port} ...")
            base = cluster.start()
        else:
            db_url, db_name = create_database(args.database_url)
            port = args.port or free_port()
            base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ, "FLASK_APP": "app", "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp / "instance"),
            "SECRET_KEY": os.environ.get("SECRET_KEY", secrets.token_hex(32)),
            "ENCRYPTION_KEYS": os.environ.get("ENCRYPTION_KEYS", Fernet.generate_key().decode()),
            "REDIS_URL": args.redis_url, "PUBLIC_BASE_URL": base, "PORT": str(port or 8000),
            # The production limiters stay on, with budgets the bench cannot reach (as create_order.py).
            "API_RATE_LIMIT": "10000000 per minute", "LOGIN_RATE_LIMIT": "100000 per minute",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom"), "PYTHONPATH": str(ROOT),
        }
        if cluster is not None:  # the deployment's own view: its keys, its Redis prefix, its gateway
            env.update(cluster.secrets(), RQ_QUEUE_PREFIX=cluster.prefix)
            args.gateway_url = cluster.sandbox_url
        if args.url and not os.environ.get("ENCRYPTION_KEYS"):
            ap.error("--url needs the portal's ENCRYPTION_KEYS in the environment (the channel secrets are sealed)")
        gateway_url = args.gateway_url
        if not gateway_url:
            gateway = start_sandbox(port=args.port + 1 if args.port else None)
            gateway_url = gateway.base_url
        if not args.url and cluster is None:  # scripts/cluster migrated it
            subprocess.run([str(VENV_BIN / "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        log(f"database: {db_name or db_url}   gateway: {gateway_url}")
        app = portal_app(env)
        seeded = seed(app, args.resellers, gateway_url, callback_secret, api_secret)
        if not args.url and cluster is None:
            server = start_server(args.server_cmd, env, port, tmp / "server.log")
        cfg = {"url": base, "api_key": seeded["api_key"], "password": PASSWORD, "mix": mix,
               "database_url": sa_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False),
               "connections": args.connections, "wallet_channel": WALLET, "online_channel": ONLINE,
               "merchant_no": MERCHANT_NO, "callback_secret": callback_secret, "run": secrets.token_hex(3)}
        log(f"open loop, {args.generators} generator(s) x {args.connections} connections, {args.resellers} "
            f"resellers, {args.step_seconds:g} s per step, mix {mix}; uptime: {os.getloadavg()}")
        server_pids = [server.pid] if server else []
        worker_pids: list[int] = []  # only a cluster runs workers (receipts, webhooks) and a scheduler
        if cluster is not None:
            server_pids = [pid for part in ("web-1", "web-2", "haproxy") if (pid := cluster.pid(part))]
            worker_pids = [pid for part in ("worker-1", "worker-2", "scheduler") if (pid := cluster.pid(part))]
        gateway_pid = gateway.proc.pid if gateway else (cluster.pid("sandbox") if cluster else None)
        steps, stopped = ramp(args, cfg, seeded["users"], server_pids, gateway_pid, worker_pids)
        held = [s for s in steps if s["held"]]
        best = max(held, key=lambda s: s["rate"]) if held else None
        log("")
        log(f"ramp ended: {stopped or 'all steps run'}")
        log(f"highest rate held (p99 < {HELD_P99_MS:g} ms, no error, on schedule): "
            + (f"{best['rate']:g} req/s (answered {best['achieved_rps']:.0f}/s, p99 {best['p99_ms']:.1f} ms)"
               if best else "none"))
        time.sleep(1.0)  # answers of the last step are all in; let the server finish its commits
        found, counts = check_money(app)
        log(f"money invariants over {counts['payment_orders']} orders, {counts['transactions']} transactions, "
            f"{counts['channel_payments']} channel payments, {counts['refunds']} refunds "
            f"({counts['check_seconds']} s): " + ("all hold" if not found else f"{len(found)} BROKEN"))
        for line in found[:30]:
            log(f"  BROKEN: {line}")
        if found:
            status = 1
        out = {
            "held_rps": best["rate"] if best else 0, "held_p99_ms": best["p99_ms"] if best else None,
            "stopped": stopped, "invariant_violations": len(found), "violations": found[:100],
            "goal": {"rps": 1000, "p99_ms": HELD_P99_MS, "errors": 0, "violations": 0},
            "goal_met": bool(best and best["rate"] >= 1000 and not found),
            "steps": steps, "database": counts, "mix": mix, "generators": args.generators,
            "connections": args.connections, "resellers": args.resellers, "step_seconds": args.step_seconds,
            "server": args.url or ("scripts/cluster (haproxy, 2 x gunicorn -w 2, 2 workers, scheduler)"
                                   if cluster else args.server_cmd.format(port="PORT", venv=".venv/bin")),
            "cpus": os.cpu_count(), "loadavg_end": os.getloadavg(),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        write_results(out, args.output, valid=not found)
        return status
    finally:
        if server is not None:
            stop_process_group(server)
        if cluster is not None:
            cluster.stop()
        if gateway is not None:
            gateway.stop()
        if db_name:
            drop_or_keep_database(args.database_url, db_name, args.keep_db)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
