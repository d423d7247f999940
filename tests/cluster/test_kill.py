"""Several processes, proven (issue 16 item 5): the portal deployed as scripts/cluster starts it —
haproxy, two web groups, two RQ workers, one scheduler, the sandbox gateway, one PostgreSQL, one
Redis — carries a mixed load while one web group and one worker are killed with SIGKILL: requests in
flight may fail and are sent again with the same key, nothing answered is lost, no money effect
happens twice, the survivors carry the load, and the killed parts rejoin. A second scheduler started
by mistake stands by. And the check used here fails on a database where a settlement was doubled.

The tests of this module share one deployment and one load run (module fixtures), in file order."""

from __future__ import annotations

import time
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue, Worker

from app import create_app
from app.extensions import db
from app.services.platform.queues import QUEUE_NAMES
from bench import load_mix
from sandbox.testing import DEFAULT_MERCHANTS
from tests.support import invariants
from tests.support.cluster_load import Record, doubled_effects, start_load

pytestmark = [pytest.mark.cluster, pytest.mark.postgres_only]

RESELLERS = 3         # two client threads each: their WALLET payments and refunds race on the reseller row
CLIENTS = 2 * RESELLERS
LOAD_BEFORE_KILL = 4  # seconds of load on the whole deployment
SURVIVORS_ALONE = 5   # seconds web-2 and worker-2 carry the load alone
LOAD_AFTER = 4        # seconds of load once the killed parts are back
DRAIN_TIMEOUT = 150   # ~35 s on a quiet machine (the receipts' PDFs); more beside CI's other lanes
PAUSE = 1.0           # seconds each client rests between rounds (each round's receipts are PDFs to print)


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="module")
def portal(cluster):
    """The deployment's app in this process (its database, Redis prefix and keys): to seed and to read."""
    app = create_app(cluster.app_config())
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def seeded(cluster, portal):
    api_secret, callback_secret = DEFAULT_MERCHANTS[load_mix.MERCHANT_NO]
    return load_mix.seed(portal, RESELLERS, cluster.sandbox_url, callback_secret, api_secret)


def _flush_gateway_callbacks(cluster) -> None:
    """The sandbox sends its pending callbacks now instead of at their next retry time."""
    req = urllib.request.Request(f"{cluster.sandbox_url}/_sandbox/callbacks/flush", data=b"{}", method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200


def _backlog(cluster, pg: psycopg.Connection, record: Record) -> dict[str, int]:
    """What is still to be done: jobs queued or running, payments the gateway completed that the
    portal has not settled, refunds in flight."""
    conn = Redis.from_url(cluster.redis_url)
    queues = [Queue(cluster.prefix + name, connection=conn) for name in QUEUE_NAMES]
    unsettled = pg.execute("SELECT count(*) FROM channel_payments WHERE channel_transaction_id = ANY(%s) "
                           "AND status <> 'SUCCESS'", (record.completed_at_gateway,)).fetchone()[0]
    refunding = pg.execute("SELECT count(*) FROM refunds WHERE status = 'PROCESSING'").fetchone()[0]
    return {**{f"queued {q.name}": q.count for q in queues},
            **{f"running {q.name}": q.started_job_registry.count for q in queues},
            "unsettled": unsettled, "refunding": refunding}


def _when(condition, timeout: float = 5.0) -> bool:
    """Wait (polling) until ``condition()``; whether it came true within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _born(worker: Worker) -> datetime:
    born = worker.birth_date or datetime.min
    return born if born.tzinfo else born.replace(tzinfo=UTC)


def _worker(cluster, part: str) -> Worker:
    """The RQ worker of ``part`` (scripts/cluster names it cluster-<part>-...), the newest one: a
    killed worker's entry stays in Redis until its TTL lapses."""
    conn = Redis.from_url(cluster.redis_url)
    mine = [w for w in Worker.all(connection=conn) if w.name.startswith(f"cluster-{part}-")]
    assert mine, f"no RQ worker of {part}"
    return max(mine, key=_born)


@pytest.fixture(scope="module")
def kill_run(cluster, seeded):
    """The load, with web-1 and worker-1 killed and restarted in the middle; then the queues drained."""
    record = Record()
    t0 = time.time()
    clients = seeded["users"] * (CLIENTS // RESELLERS)
    stop, threads = start_load(cluster.url, seeded["api_key"], clients, load_mix.PASSWORD, cluster.sandbox_url,
                               libpq_url(cluster.database_url), record, pause=PAUSE)
    marks = {"load": time.time()}
    try:
        time.sleep(LOAD_BEFORE_KILL)
        # Each kill when its part is at work: web-1 with requests in flight, worker-1 in a job.
        marks["web-1 in flight"] = _when(lambda: cluster.in_flight("web-1") > 0)
        marks["kill"] = time.time()
        cluster.kill_now("web-1")
        marks["worker-1 busy"] = _when(lambda: _worker(cluster, "worker-1").get_state() == "busy")
        cluster.kill_now("worker-1")
        marks["creates_at_kill"] = len(record.creates)
        time.sleep(SURVIVORS_ALONE)
        marks["restart"] = time.time()
        marks["creates_at_restart"] = len(record.creates)
        cluster.restart("web-1")
        cluster.restart("worker-1")
        marks["restarted"] = time.time()
        time.sleep(LOAD_AFTER)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    marks["load_end"] = time.time()
    with psycopg.connect(libpq_url(cluster.database_url), autocommit=True) as pg:
        deadline = time.time() + DRAIN_TIMEOUT
        while True:
            _flush_gateway_callbacks(cluster)
            backlog = _backlog(cluster, pg, record)
            if not any(backlog.values()) or time.time() > deadline:
                break
            time.sleep(1)
    marks["drained"] = time.time()
    left = {k: v for k, v in backlog.items() if v} or "nothing"
    print(f"\ncluster kill run: {len(record.creates)} creates, {len(record.wallet_payments)} wallet and "
          f"{len(record.online_payments)} online checkouts, {len(record.refunds)} refunds, retries "
          f"{dict(record.retries)} after {dict(record.errors)}; load {marks['load_end'] - marks['load']:.1f} s, "
          f"drained in "
          f"{marks['drained'] - marks['load_end']:.1f} s, {marks['drained'] - t0:.1f} s in all; left undone {left}; "
          f"web-1 killed at "
          f"{time.strftime('%H:%M:%S', time.gmtime(marks['kill']))}.{int(marks['kill'] % 1 * 1000):03d} UTC")
    return record, marks, backlog


def test_nothing_answered_is_lost_and_nothing_happens_twice(cluster, portal, kill_run):
    record, marks, backlog = kill_run
    assert record.failures == [], "clients gave up:\n" + "\n".join(record.failures)
    assert not any(backlog.values()), f"not drained in {DRAIN_TIMEOUT} s: {backlog}"
    assert len(record.creates) >= 3 * CLIENTS and record.refunds and record.completed_at_gateway
    assert marks["web-1 in flight"] and marks["worker-1 busy"], "a part was killed idle"
    with psycopg.connect(libpq_url(cluster.database_url), autocommit=True) as pg:
        assert doubled_effects(pg, record) == []
        statuses = dict(pg.execute("SELECT submit_token, status FROM merged_payments WHERE submit_token = ANY(%s)",
                                   (list(record.wallet_payments),)).fetchall())
    assert set(statuses.values()) == {"SUCCEEDED"} and len(statuses) == len(record.wallet_payments)
    found, counts = load_mix.check_money(portal)
    assert found == [], "\n".join(found[:30])
    assert counts["payment_orders"] >= len(record.creates)


def test_survivors_carry_the_load(kill_run):
    record, marks, _ = kill_run
    # haproxy takes web-1 out after two failed checks a second apart; from then on web-2 answers alone.
    alone = [who for at, who in record.served_by if marks["kill"] + 3 < at < marks["restart"]]
    assert alone and set(alone) == {"web-2"}, f"answers while web-1 was down came from {set(alone)}"
    assert marks["creates_at_restart"] - marks["creates_at_kill"] >= CLIENTS, "the load stalled while web-1 was down"


def test_killed_parts_rejoin(cluster, kill_run):
    record, marks, _ = kill_run
    after = [who for at, who in record.served_by if at > marks["restarted"]]
    assert "web-1" in after and "web-2" in after, f"answers after the restart came from {set(after)}"
    assert cluster.status()["web-1"] == "running" and cluster.status()["worker-1"] == "running"
    # The restarted worker registered with Redis under its new name and took jobs from the queues.
    worker = _worker(cluster, "worker-1")
    assert _born(worker).timestamp() >= marks["restart"] - 1
    assert worker.successful_job_count > 0


def test_second_scheduler_stands_by(cluster, kill_run):
    """scripts/cluster scheduler2 starts a second `worker.py cron` on the same Redis: the lease
    (app/services/platform/queues.py AppCronScheduler) keeps the first one leading, and the 5-second
    entry is enqueued once every 5 s, not twice."""
    conn = Redis.from_url(cluster.redis_url)
    leader = conn.get(f"{cluster.prefix}cron:leader")
    assert leader, "no scheduler holds the lease"
    history = f"rq:cron_job:{cluster.prefix}default:app.jobs.webhooks.dispatch_outbox:jobs"
    cluster.scheduler2()
    time.sleep(3)  # its imports; then it looks for the lease every 3 s
    start = time.time()
    time.sleep(12)
    end = time.time()
    assert cluster.status()["scheduler-2"] == "running", cluster.log("scheduler-2")[-3000:]
    assert conn.get(f"{cluster.prefix}cron:leader") == leader
    runs = conn.zcount(history, start, end)
    assert 1 <= runs <= 3, f"dispatch_outbox (every 5 s) enqueued {runs} times in {end - start:.0f} s"


def test_the_check_fails_on_a_doubled_settlement(cluster, portal, kill_run):
    """The checks above have teeth: a WALLET settlement written twice — a second SUCCESS payment
    part and a second wallet debit, as a retry applied twice would write them — is reported by the
    invariants and by ``doubled_effects``. Runs last: it breaks the module's database."""
    record, _, _ = kill_run
    with portal.app_context():
        meta = sa.MetaData()
        txns = sa.Table("transactions", meta, autoload_with=db.engine)
        entries = sa.Table("wallet_entries", meta, autoload_with=db.engine)
        part = db.session.execute(sa.select(txns).where(txns.c.transaction_type == "PAYMENT",
                                                        txns.c.status == "SUCCESS",
                                                        txns.c.channel_kind == "WALLET").limit(1)).mappings().one()
        cp_no = db.session.execute(sa.text("SELECT channel_payment_id FROM channel_payments WHERE id = :id"),
                                   {"id": part["channel_payment_id"]}).scalar_one()
        debit = db.session.execute(sa.select(entries).where(entries.c.reference == cp_no,
                                                            entries.c.entry_type == "PAYMENT")).mappings().one()
        last_balance = db.session.execute(sa.select(entries.c.balance_after).where(
            entries.c.reseller_id == debit["reseller_id"]).order_by(entries.c.id.desc()).limit(1)).scalar_one()
        db.session.execute(sa.insert(txns).values({**{k: v for k, v in part.items() if k != "id"},
                                                   "transaction_id": part["transaction_id"] + "X"}))
        db.session.execute(sa.insert(entries).values({**{k: v for k, v in debit.items() if k != "id"},
                                                      "balance_after": last_balance + debit["amount"]}))
        db.session.commit()
        found = invariants.violations()
    order_no = db_order_payment_id(cluster, part["payment_order_id"])
    assert any(f"order {order_no}: paidAmount" in line for line in found), found
    assert any(f"channel payment {cp_no}: SUCCESS with wallet debits" in line for line in found), found
    with psycopg.connect(libpq_url(cluster.database_url), autocommit=True) as pg:
        doubled = doubled_effects(pg, record)
    assert f"order {order_no} settled 2 times" in doubled
    assert f"wallet entry PAYMENT of {cp_no} written 2 times" in doubled
    assert Decimal(debit["amount"]) < 0


def db_order_payment_id(cluster, order_pk: int) -> str:
    with psycopg.connect(libpq_url(cluster.database_url)) as pg:
        return pg.execute("SELECT payment_id FROM payment_orders WHERE id = %s", (order_pk,)).fetchone()[0]


def test_a_stopped_cluster_leaves_nothing_running(cluster):
    cluster.stop()
    assert set(cluster.status().values()) <= {"stopped"}, cluster.status()
    for part in ("web-1", "haproxy", "worker-1"):
        assert cluster.pid(part) is None
