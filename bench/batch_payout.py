"""Benchmark: a 10,000-row batch payout through the real services, workers and sandbox gateway, while a
steady stream of ONLINE payment callbacks settles payments; callback latency idle vs during the batch.

    nice -n 10 .venv/bin/python bench/batch_payout.py [--rows 10000] [--rate 10] [--idle-seconds 30]
        [--web-workers 3] [--workers 2] [--payout-outcome success|async_success]
        [--database-url postgresql://postgres@127.0.0.1:5432/test] [--redis-url redis://127.0.0.1:6379/3]

Issue 14's target: the batch "paid out through the sandbox at a rate you measure and report, while
callback settlement p99 stays within 2x its idle figure". What it does (bench/README.md):

1. creates a fresh database ``portal_bench_<random>``, ``flask db upgrade``; resellers R1001–R1004 with an
   operator each, two finance users (the uploader and the approver), the ONLINE channel ONLINE_UNIONPAY on the sandbox
   (also the payout channel), payout merchant MBENCH (single 50,000.00, daily 1,000,000,000.00);
2. starts the real parts as processes: the sandbox gateway (``python -m sandbox``, sandbox/testing.py's
   ``start_sandbox``), gunicorn (``bench.wsgi:app``, bench/servers.py's gunicorn-sync; PUBLIC_BASE_URL
   points at it, so payment and payout callbacks come back to it) and ``--workers`` RQ workers
   (``python worker.py``: the queues high, default, low, documents in that priority; the bench's own
   RQ_QUEUE_PREFIX);
3. makes ``--payments`` payment orders and an ONLINE checkout of each through the services (each
   creates its payment at the sandbox), so that every callback of the stream settles a real payment;
4. the callback stream: at ``--rate`` per second (open loop, ``--senders`` threads) a payment callback
   built exactly as the sandbox builds one (sandbox/gateway.py: eventId, merchant order, gatewayTxnId,
   amount, SUCCESS, paidAt) is POSTed to ``/api/v1/payment/callback/online/ONLINE_UNIONPAY`` with the
   sandbox's own sender (``sandbox.callbacks.post_signed``: the real signature with the callback
   secret, a new connection per callback). Latency = send to the portal's ``200 success``, which it
   answers after the settlement committed (app/services/settlement/payment_callback.py);
5. idle phase (``--idle-seconds``), then the batch: a CSV of ``--rows`` distinct payees is uploaded
   (``payouts.batches.upload``: check_file and store), submitted by the uploader and approved by the
   second finance user, which queues its run on ``low``; the stream goes on until every row is final
   and the batch COMPLETED; then a second idle phase (the baseline is taken before and after: the
   machine is shared);
6. checks: every row paid exactly once (the sandbox saw each merchantPayoutNo once, the portal's request
   ids are the batch's, every payout SUCCESS), the amounts agree (CSV = batch = payouts = the sandbox's
   statement lines), every callback answered ``success`` and settled its payment (amounts again);
7. prints the figures, writes bench/results/batch_payout.json, stops the children, drops the database
   (unless ``--keep-db``). Exit status 1 when a check fails, 2 when the p99 ratio misses 2x.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import json
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench import servers as http_servers  # noqa: E402
from bench.create_order import (  # noqa: E402
    GroupsCpu,
    create_database,
    drop_database,
    empty_queues_and_disconnect,
    free_port,
    stop_processes,
)

RESULTS = ROOT / "bench" / "results"
RATIO_TARGET = 2.0
MERCHANT_NO, API_SECRET, CALLBACK_SECRET = "MCH1001", "bench-api-secret-1001", "bench-callback-secret-1001"
CHANNEL = "ONLINE_UNIONPAY"
RESELLERS = ("R1001", "R1002", "R1003", "R1004")
PAYOUT_MERCHANT = "MBENCH"
CALLBACK_PATH = f"/api/v1/payment/callback/online/{CHANNEL}"
PASSWORD = "bench password, long enough"


def log(msg: str = "") -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", flush=True)


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(p * len(s)))], 1)


# --- setup ---------------------------------------------------------------------------------------

def setup_rows(gateway_url: str) -> dict:
    """Reseller, users, the ONLINE channel on the sandbox, the payout merchant (in this process)."""
    from app.extensions import db
    from app.models import Channel, Reseller
    from app.services.accounts.users import create_user
    from app.services.payouts.merchants import upsert_merchant
    from app.services.platform import crypto
    from app.services.platform.actor import Actor

    system = Actor(type="system", id="bench")
    for code in RESELLERS:  # several: a checkout locks its reseller, so the pool is made in parallel
        db.session.add(Reseller(code=code, name=f"华东设备 {code}", status="ACTIVE", credit_limit=Decimal("0.00"),
                                credit_used=Decimal("0.00"), wallet_balance=Decimal("0.00"), credit_term_days=30,
                                credit_status="ACTIVE", approval_threshold=Decimal("1000000000.00"), version=1))
    db.session.add(Channel(code=CHANNEL, kind="ONLINE", name="银联企业网银", name_en="UnionPay B2B", enabled=True,
                           min_amount=Decimal("0.01"), max_amount=None, daily_limit_per_reseller=None,
                           supports_refund=True, supports_partial_refund=True, confirm_timeout_seconds=86400,
                           expire_seconds=86400, available_to_all=True, sort_order=10,
                           config={"base_url": gateway_url, "merchant_no": MERCHANT_NO},
                           secrets_enc=crypto.encrypt(json.dumps({"api_secret": API_SECRET,
                                                                  "callback_secret": CALLBACK_SECRET}))))
    db.session.commit()
    operators = {}
    for code in RESELLERS:
        user = create_user(system, f"op@{code.lower()}.bench", PASSWORD, "reseller_operator", code)
        operators[code] = (user.id, user.reseller_id)
    users = {"maker": create_user(system, "maker@finance.bench", PASSWORD, "finance").id,
             "checker": create_user(system, "checker@finance.bench", PASSWORD, "finance").id}
    db.session.commit()
    upsert_merchant(system, PAYOUT_MERCHANT, "批量付款账户", Decimal("50000.00"), Decimal("1000000000.00"))
    db.session.remove()
    return {"users": users, "operators": operators}


@dataclass(frozen=True)
class Payment:
    channel_payment_no: str
    gateway_txn_id: str
    amount: str


def make_payments(n: int, operators: dict[str, tuple[int, int]], threads: int) -> list[Payment]:
    """n orders, each with an ONLINE checkout started at the sandbox (the services, in threads)."""
    from flask import current_app

    from app.extensions import db
    from app.models import ChannelPayment
    from app.services.checkout import submission as checkout
    from app.services.checkout.validation import AllocationIn
    from app.services.orders.creation import NewPaymentOrder, create_payment_order
    from app.services.platform.actor import Actor

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    order_system = Actor(type="api_client", id="bench", client_id=None)
    run = secrets.token_hex(3)

    def one(i: int) -> Payment:
        amount = Decimal(100 + (i * 7919) % 90000) / 100 + Decimal("1000.00")  # 1,001.00–1,900.99
        code = RESELLERS[i % len(RESELLERS)]
        operator_id, reseller_id = operators[code]
        with app.app_context():
            try:
                pid = create_payment_order(order_system, NewPaymentOrder(
                    order_id=f"SO-{run}-{i:06d}", reseller_code=code, payment_type="ADVANCE_PAYMENT",
                    payment_amount=amount, payment_deadline=None), idempotency_key=None,
                    fingerprint="bench").order.payment_id
                res = checkout.submit(Actor(type="user", id=str(operator_id)), operator_id, reseller_id,
                                      [AllocationIn(pid, amount, CHANNEL)])
                cp = db.session.scalar(sa.select(ChannelPayment).where(
                    ChannelPayment.merged_payment_id == res.merged_pk))
                assert cp is not None and cp.channel_transaction_id, "the checkout did not start at the sandbox"
                return Payment(cp.channel_payment_id, cp.channel_transaction_id, f"{cp.amount:.2f}")
            finally:
                db.session.remove()

    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, range(n)))


def payee_csv(rows: int) -> tuple[bytes, Decimal]:
    """rows distinct valid payees (Chinese headings, as a finance user's export) and their total."""
    text = io.StringIO()
    w = csv.writer(text, lineterminator="\r\n")
    w.writerow(["收款人", "收款账号", "银行代码", "金额", "用途"])
    total = Decimal("0.00")
    for i in range(1, rows + 1):
        amount = Decimal(1000 + (i * 7919) % 2_000_000) / 100  # 10.00–20,009.99, two decimals
        total += amount
        w.writerow([f"供应商{i:05d}", f"62220202{i:08d}", ("ICBC", "CCB", "ABC", "BOC")[i % 4], f"{amount:.2f}",
                    f"货款 {i}"])
    return text.getvalue().encode("utf-8"), total


# --- the callback stream -------------------------------------------------------------------------

@dataclass
class Sample:
    phase: str
    due: float
    sent: float
    answered: float
    outcome: str
    payment: Payment


@dataclass
class CallbackStream:
    """Open-loop stream of signed payment callbacks at ``rate``/s, one payment each, sent by the
    sandbox's own sender. ``phase`` labels the samples sent while it is set."""

    url: str
    payments: list[Payment]
    rate: float
    senders: int
    phase: str = "warmup"
    samples: list[Sample] = field(default_factory=list)
    dry_at: float | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="callback-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _send(self, due: float, phase: str, p: Payment) -> None:
        from sandbox.callbacks import post_signed
        from sandbox.util import iso, new_event_id

        event_id = new_event_id()
        body = json.dumps({"eventId": event_id, "type": "payment", "merchantNo": MERCHANT_NO,
                           "merchantOrderNo": p.channel_payment_no, "gatewayTxnId": p.gateway_txn_id,
                           "amount": p.amount, "currency": "CNY", "status": "SUCCESS", "paidAt": iso(time.time()),
                           "failReason": None}, ensure_ascii=False, separators=(",", ":")).encode()
        sent = time.perf_counter()
        result = post_signed(self.url, body, CALLBACK_SECRET, event_id, timeout=60)
        answered = time.perf_counter()
        with self._lock:
            self.samples.append(Sample(phase, due, sent, answered, result.outcome, p))

    def _run(self) -> None:
        with ThreadPoolExecutor(self.senders, thread_name_prefix="callback") as pool:
            started = time.perf_counter()
            for i, p in enumerate(self.payments):
                due = started + i / self.rate
                while not self._stop.is_set() and time.perf_counter() < due:
                    time.sleep(min(0.05, max(0.0, due - time.perf_counter())))
                if self._stop.is_set():
                    return
                pool.submit(self._send, due, self.phase, p)
            self.dry_at = time.perf_counter()
            log("!! the callback stream ran out of payments (raise --payments)")

    def figures(self, *phases: str) -> dict:
        s = [x for x in self.samples if x.phase in phases]
        lat = [(x.answered - x.sent) * 1000 for x in s]
        late = [(x.sent - x.due) * 1000 for x in s]
        return {"callbacks": len(s), "not_acked": sum(x.outcome != "ACKED" for x in s),
                "p50_ms": pct(lat, 0.50), "p90_ms": pct(lat, 0.90), "p99_ms": pct(lat, 0.99),
                "max_ms": round(max(lat), 1) if lat else None,
                "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
                "sender_late_p99_ms": pct(late, 0.99)}


# --- the queues ----------------------------------------------------------------------------------

class QueueWatch:
    """Once a second, each queue's length and the age of its oldest waiting job, labelled with the
    stream's phase: whether work that follows a settlement (receipts on ``documents``, webhooks and
    the schedule's jobs on ``default``) waits behind the batch."""

    def __init__(self, stream: CallbackStream) -> None:
        from flask import current_app

        self.stream = stream
        self.app = current_app._get_current_object()  # type: ignore[attr-defined]
        self.samples: list[tuple[str, dict[str, tuple[int, float]]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queue-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with self.app.app_context():
            while not self._stop.wait(1.0):
                self.samples.append((self.stream.phase, self._sample()))

    @staticmethod
    def _sample() -> dict[str, tuple[int, float]]:
        from rq.job import Job
        from rq.serializers import JSONSerializer

        from app.services.platform.queues import QUEUE_NAMES, queue, redis_connection

        now = datetime.now(UTC)
        seen = {}
        for name in QUEUE_NAMES:
            q = queue(name)
            ids = q.get_job_ids(0, 1)
            age = 0.0
            if ids:
                try:
                    job = Job.fetch(ids[0], connection=redis_connection(), serializer=JSONSerializer)
                    if job.enqueued_at is not None:
                        age = (now - job.enqueued_at.replace(tzinfo=UTC)).total_seconds()
                except Exception:  # noqa: BLE001 - the job ran meanwhile
                    pass
            seen[name] = (q.count, age)
        return seen

    def figures(self, phase: str) -> dict:
        rows = [s for p, s in self.samples if p == phase]
        if not rows:
            return {}
        return {name: {"max_length": max(r[name][0] for r in rows),
                       "mean_length": round(statistics.fmean(r[name][0] for r in rows), 1),
                       "max_oldest_wait_s": round(max(r[name][1] for r in rows), 1)} for name in rows[0]}


# --- CPU split -----------------------------------------------------------------------------------

class Cpu(GroupsCpu):
    """CPU seconds of the bench's process groups and the whole machine during a phase."""

    def __init__(self, groups: dict[str, list[int]], database: str) -> None:
        super().__init__(groups, database, own_name="bench (callback sender)")

    def start(self) -> None:
        self.begin()
        self.t0 = time.perf_counter()

    def stop(self) -> dict:
        jiffies, busy_jiffies, total_jiffies = self.end()
        hz = os.sysconf("SC_CLK_TCK")
        own = {g: round(j / hz, 1) for g, j in jiffies.items()}
        seconds = time.perf_counter() - self.t0
        busy = busy_jiffies / max(1, total_jiffies)
        return {"cpu_s": own, "machine_busy": round(busy, 3),
                "foreign_cpu_s": round(max(0.0, busy * (os.cpu_count() or 1) * seconds - sum(own.values())), 1)}


# --- the phases ----------------------------------------------------------------------------------

def idle_phase(stream: CallbackStream, cpu: Cpu, name: str, seconds: float) -> dict:
    log(f"{name}: {seconds:g} s of callbacks at {stream.rate:g}/s")
    cpu.start()
    stream.phase = name
    time.sleep(seconds)
    stream.phase = "between"
    return cpu.stop()


def batch_phase(stream: CallbackStream, cpu: Cpu, users: dict, rows: int, timeout: float) -> dict:
    from app.extensions import db
    from app.models import Disbursement, DisbursementBatch
    from app.services.payouts import batches
    from app.services.platform.actor import Actor

    maker, checker = users["maker"], users["checker"]
    data, csv_total = payee_csv(rows)
    t = time.perf_counter()
    preview = batches.upload(Actor(type="user", id=str(maker)), maker, PAYOUT_MERCHANT, "payees.csv", data)
    upload_s = time.perf_counter() - t
    batches.submit(Actor(type="user", id=str(maker)), maker, preview.batch_no)
    log(f"batch {preview.batch_no}: {preview.count:,} rows, total {preview.total:,.2f} uploaded in "
        f"{upload_s:.1f} s and submitted; approving as the second finance user")
    cpu.start()
    stream.phase = "batch"
    approved = time.perf_counter()
    batches.approve(Actor(type="user", id=str(checker)), checker, preview.batch_no)
    final = sa.select(sa.func.count()).select_from(Disbursement).where(
        Disbursement.source == "BATCH", Disbursement.status.in_(("SUCCESS", "FAILED", "MANUAL")))
    timeline: list[tuple[float, int]] = []
    deadline = approved + timeout
    while True:
        time.sleep(1.0)
        status = db.session.scalar(sa.select(DisbursementBatch.status)
                                   .where(DisbursementBatch.batch_no == preview.batch_no))
        done = db.session.scalar(final) or 0
        db.session.rollback()
        now = time.perf_counter()
        timeline.append((round(now - approved, 1), int(done)))
        if len(timeline) % 15 == 0:
            log(f"  {now - approved:6.0f} s: {done:,} of {rows:,} rows final")
        if status == "COMPLETED":
            break
        if now > deadline:
            stream.phase = "between"
            raise SystemExit(f"the batch was not complete after {timeout:.0f} s ({done} rows final)")
    completed = time.perf_counter()
    stream.phase = "between"
    cpu_split = cpu.stop()
    return {"batch_no": preview.batch_no, "csv_total": csv_total, "upload_s": round(upload_s, 2),
            "wall_s": round(completed - approved, 1), "timeline": timeline, "cpu": cpu_split}


def payout_rate(batch_no: str) -> dict:
    """From the database's own times: approval to each payout's completion."""
    from app.extensions import db
    from app.models import Disbursement, DisbursementBatch

    decided, finished = db.session.execute(sa.select(DisbursementBatch.decided_at, DisbursementBatch.completed_at)
                                           .where(DisbursementBatch.batch_no == batch_no)).one()
    times = sorted(db.session.scalars(sa.select(Disbursement.completed_at).where(
        Disbursement.request_id.like(f"batch:{batch_no}:%"))))
    db.session.rollback()
    n = len(times)
    offsets = [(t - decided).total_seconds() for t in times if t is not None]
    first, last = offsets[0], offsets[-1]
    lo, hi = offsets[n // 10], offsets[(9 * n) // 10]  # the middle 80 %: the steady rate
    return {"rows": n, "approved_to_first_final_s": round(first, 2), "approved_to_last_final_s": round(last, 2),
            "approved_to_batch_completed_s": round((finished - decided).total_seconds(), 2),
            "payouts_per_second": round(n / last, 1),
            "steady_payouts_per_second": round((0.8 * n) / (hi - lo), 1) if hi > lo else None}


# --- checks --------------------------------------------------------------------------------------

def check_payouts(gw, batch_no: str, rows: int, csv_total: Decimal, day_span: list[str]) -> dict:
    from app.extensions import db
    from app.models import Disbursement, DisbursementBatch, DisbursementBatchRow

    problems: list[str] = []
    batch = db.session.scalar(sa.select(DisbursementBatch).where(DisbursementBatch.batch_no == batch_no))
    payouts = db.session.execute(sa.select(Disbursement.order_no, Disbursement.request_id, Disbursement.status,
                                           Disbursement.amount)
                                 .where(Disbursement.request_id.like(f"batch:{batch_no}:%"))).all()
    linked = db.session.execute(sa.select(DisbursementBatchRow.row_no, DisbursementBatchRow.order_no,
                                          DisbursementBatchRow.amount)
                                .where(DisbursementBatchRow.batch_id == batch.id)).all()
    all_payouts = db.session.scalar(sa.select(sa.func.count()).select_from(Disbursement))
    db.session.rollback()
    if batch.status != "COMPLETED":
        problems.append(f"batch status {batch.status}")
    if batch.row_count != rows or batch.total_amount != csv_total:
        problems.append(f"batch {batch.row_count} rows {batch.total_amount} vs the file's {rows} {csv_total}")
    if len(payouts) != rows or all_payouts != rows:
        problems.append(f"{len(payouts)} payouts for the batch ({all_payouts} in all), {rows} rows")
    expected_ids = {f"batch:{batch_no}:{i}" for i in range(1, rows + 1)}
    if {p.request_id for p in payouts} != expected_ids:
        problems.append("the payouts' request ids are not the batch's rows")
    statuses: dict[str, int] = {}
    for p in payouts:
        statuses[p.status] = statuses.get(p.status, 0) + 1
    if statuses != {"SUCCESS": rows}:
        problems.append(f"payout statuses {statuses}")
    portal_sum = sum((p.amount for p in payouts), Decimal("0.00"))
    if portal_sum != csv_total:
        problems.append(f"payouts sum {portal_sum} != file total {csv_total}")
    by_order = {p.order_no: p.amount for p in payouts}
    if len({r.order_no for r in linked}) != rows or any(by_order.get(r.order_no) != r.amount for r in linked):
        problems.append("a row is not linked to its own payout of its amount")
    # The sandbox: each merchantPayoutNo (our order number) created once; its statement's amounts.
    stats = gw.stats()
    at_bank = stats["payouts_by_merchant_payout_no"]
    if stats["payouts"] != rows or set(at_bank) != set(by_order) or set(at_bank.values()) != {1}:
        problems.append(f"the sandbox holds {stats['payouts']} payouts, "
                        f"{sum(v > 1 for v in at_bank.values())} merchantPayoutNo more than once")
    client = gw.client(MERCHANT_NO)
    lines = []
    for day in day_span:
        r = client.call("/api/statements", date=day)
        if r.status != 200:
            problems.append(f"statement {day}: {r.status} {r.text[:200]}")
            continue
        lines += [row for row in csv.DictReader(io.StringIO(r.text)) if row["type"] == "payout"]
    bank_amounts = {row["merchantOrderNo"]: Decimal(row["amount"]) for row in lines}
    bank_sum = sum(bank_amounts.values(), Decimal("0.00"))
    if len(lines) != rows or bank_amounts != by_order or bank_sum != csv_total:
        problems.append(f"the sandbox statement: {len(lines)} payout lines, sum {bank_sum}")
    return {"ok": not problems, "problems": problems, "payouts": len(payouts), "statuses": statuses,
            "unique_request_ids": len({p.request_id for p in payouts}),
            "sandbox_payouts": stats["payouts"], "sandbox_statement_lines": len(lines),
            "sum_file": str(csv_total), "sum_batch": str(batch.total_amount), "sum_payouts": str(portal_sum),
            "sum_sandbox_statement": str(bank_sum)}


def check_callbacks(stream: CallbackStream) -> dict:
    from app.extensions import db
    from app.models import ChannelPayment, PaymentOrder

    sent = {s.payment.channel_payment_no: s.payment for s in stream.samples}
    not_acked = sum(s.outcome != "ACKED" for s in stream.samples)
    settled = dict(db.session.execute(sa.select(ChannelPayment.channel_payment_id, ChannelPayment.amount)
                                      .where(ChannelPayment.status == "SUCCESS")).all())
    paid = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(PaymentOrder.paid_amount), 0))) or 0
    db.session.rollback()
    expected = sum((Decimal(p.amount) for p in sent.values()), Decimal("0.00"))
    problems = []
    if not_acked:
        problems.append(f"{not_acked} callbacks not answered 'success'")
    if set(settled) != set(sent) or any(Decimal(sent[k].amount) != v for k, v in settled.items()):
        problems.append(f"{len(settled)} payments SUCCESS for {len(sent)} callbacks")
    if Decimal(paid) != expected:
        problems.append(f"orders paid {paid}, callbacks carried {expected}")
    return {"ok": not problems, "problems": problems, "callbacks": len(stream.samples), "settled": len(settled),
            "sum_callbacks": str(expected), "sum_paid": str(paid)}


# --- main ----------------------------------------------------------------------------------------

def start_workers(n: int, env: dict, logs: Path) -> list[subprocess.Popen]:
    from rq import Worker

    from app.services.platform.queues import queue, redis_connection

    procs = [subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env,
                              stdout=open(logs / f"worker{i}.log", "w"), stderr=subprocess.STDOUT)
             for i in range(n)]
    deadline = time.perf_counter() + 60
    while len(Worker.all(connection=redis_connection(), queue=queue("low"))) < n:
        if any(p.poll() is not None for p in procs) or time.perf_counter() > deadline:
            raise SystemExit(f"the workers did not start: {(logs / 'worker0.log').read_text()[-2000:]}")
        time.sleep(0.2)
    return procs


def shanghai_days(start: datetime, end: datetime) -> list[str]:
    from app.domain.timeutil import SHANGHAI

    a, b = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    return [str(a + timedelta(days=i)) for i in range((b - a).days + 1)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=10.0, help="payment callbacks per second")
    ap.add_argument("--senders", type=int, default=8, help="threads sending callbacks (open loop)")
    ap.add_argument("--idle-seconds", type=float, default=30.0, help="each idle phase, before and after the batch")
    ap.add_argument("--payments", type=int, default=0,
                    help="payments prepared for the stream (default: rate x (2 idle + --batch-budget))")
    ap.add_argument("--batch-budget", type=float, default=600.0, help="seconds of callbacks prepared for the batch")
    ap.add_argument("--web-workers", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="RQ workers (python worker.py, every queue)")
    ap.add_argument("--payout-outcome", default="success", choices=("success", "async_success"),
                    help="the sandbox's payout_outcome: a final answer at once, or PROCESSING and a callback")
    ap.add_argument("--payout-delay-ms", type=int, default=500)
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    ap.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3"))
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args()
    payments_needed = args.payments or int(args.rate * (2 * args.idle_seconds + args.batch_budget + 10))

    from cryptography.fernet import Fernet

    from sandbox.testing import start_sandbox

    tmp = Path(tempfile.mkdtemp(prefix="bench-payout-"))
    for d in ("instance", "prom"):
        (tmp / d).mkdir()
    db_url, db_name = create_database(args.database_url)
    port = free_port()
    prefix = f"bench-payout-{secrets.token_hex(3)}-"
    env = {**os.environ, "FLASK_APP": "app", "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp / "instance"),
           "SECRET_KEY": secrets.token_hex(32), "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "REDIS_URL": args.redis_url, "RQ_QUEUE_PREFIX": prefix, "RATELIMIT_KEY_PREFIX": f"{prefix}limits",
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "DISBURSE_CHANNEL_CODE": CHANNEL,
           "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prom"), "PYTHONPATH": str(ROOT),
           "LOG_LEVEL": "WARNING", "RQ_LOG_LEVEL": "WARNING"}
    os.environ.update(env)
    gw = web = None
    workers: list[subprocess.Popen] = []
    status = 0
    started_at = datetime.now(UTC)
    info = {"python": platform.python_version(), "cpus": os.cpu_count(), "loadavg_before": list(os.getloadavg()),
            "uptime_before": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}
    log(f"database {db_name}; {info['uptime_before']}")
    try:
        gw = start_sandbox(merchants={MERCHANT_NO: (API_SECRET, CALLBACK_SECRET)},
                           faults={"payout_outcome": args.payout_outcome, "payout_delay_ms": args.payout_delay_ms,
                                   "statement_delay_ms": -86_400_000, "callback_retry_base_ms": 200})
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        from app import create_app
        from app.extensions import db

        app = create_app()
        ctx = app.app_context()
        ctx.push()
        with db.engine.connect() as conn:
            info["postgresql"] = conn.execute(sa.text("SHOW server_version")).scalar()
        made = setup_rows(gw.base_url)
        spec = dataclasses.replace(http_servers.SERVERS["gunicorn-sync"], workers=args.web_workers)
        web = http_servers.Server(spec, "bench.wsgi:app", port, env, tmp / "gunicorn.log")
        workers = start_workers(args.workers, env, tmp)
        log(f"sandbox {gw.base_url} (payout_outcome {args.payout_outcome}), gunicorn -w {args.web_workers} on "
            f":{port}, {args.workers} RQ worker(s), queue prefix {prefix}")
        t = time.perf_counter()
        payments = make_payments(payments_needed, made["operators"], threads=len(RESELLERS))
        log(f"{len(payments):,} ONLINE payments started at the sandbox in {time.perf_counter() - t:.0f} s")
        cpu = Cpu({"gunicorn": [web.pid], "workers": [w.pid for w in workers], "sandbox": [gw.proc.pid]}, db_name)
        stream = CallbackStream(f"http://127.0.0.1:{port}{CALLBACK_PATH}", payments, args.rate, args.senders)
        stream.start()
        watch = QueueWatch(stream)
        watch.start()
        time.sleep(5)  # warm-up: every gunicorn worker has settled a payment
        idle_before = idle_phase(stream, cpu, "idle_before", args.idle_seconds)
        batch = batch_phase(stream, cpu, made["users"], args.rows, args.timeout)
        idle_after = idle_phase(stream, cpu, "idle_after", args.idle_seconds)
        stream.stop()
        watch.stop()
        time.sleep(2)
        info["loadavg_after"] = list(os.getloadavg())
        info["uptime_after"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
        rate = payout_rate(batch["batch_no"])
        payout_check = check_payouts(gw, batch["batch_no"], args.rows, batch["csv_total"],
                                     shanghai_days(started_at, datetime.now(UTC)))
        callback_check = check_callbacks(stream)
        phases = {name: stream.figures(name) for name in ("idle_before", "batch", "idle_after")}
        queues = {name: watch.figures(name) for name in phases}
        # The baseline: every idle callback, before and after the batch (the machine is shared).
        phases["idle"] = stream.figures("idle_before", "idle_after")
        idle_p99 = phases["idle"]["p99_ms"]
        if idle_p99 is None or phases["batch"]["p99_ms"] is None:
            raise SystemExit("no callbacks in a phase: the stream ran dry (raise --payments)")
        ratio = round(phases["batch"]["p99_ms"] / idle_p99, 2)
        results = {
            "rows": args.rows, "payouts_per_second": rate["payouts_per_second"],
            "steady_payouts_per_second": rate["steady_payouts_per_second"],
            "seconds_until_every_row_final": rate["approved_to_last_final_s"],
            "callback_rate": args.rate, "idle_p99_ms": round(idle_p99, 1),
            "batch_p99_ms": phases["batch"]["p99_ms"], "p99_ratio": ratio, "ratio_target": RATIO_TARGET,
            "ratio_met": ratio <= RATIO_TARGET, "checks_ok": payout_check["ok"] and callback_check["ok"],
            "payout_rate": rate, "callbacks": phases,
            "batch": {k: v for k, v in batch.items() if k not in ("csv_total", "cpu")},
            "queues": queues,
            "cpu": {"idle_before": idle_before, "batch": batch["cpu"], "idle_after": idle_after},
            "payout_check": payout_check, "callback_check": callback_check,
            "setup": {"web_workers": args.web_workers, "rq_workers": args.workers,
                      "payout_outcome": args.payout_outcome, "payout_delay_ms": args.payout_delay_ms,
                      "senders": args.senders, "idle_seconds": args.idle_seconds,
                      "stream_ran_dry": stream.dry_at is not None},
            "machine": info, "when": started_at.isoformat(timespec="seconds"),
        }
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "batch_payout.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
        for name, f in phases.items():
            log(f"callbacks {name:12s}: {f}")
        log(f"payouts: {rate}")
        for name, f in queues.items():
            log(f"queues {name:12s}: {f}")
        log(f"cpu: idle_before {idle_before}; batch {batch['cpu']}; idle_after {idle_after}")
        log(f"payout check: {payout_check}")
        log(f"callback check: {callback_check}")
        log(json.dumps({k: results[k] for k in ("rows", "payouts_per_second", "steady_payouts_per_second",
                                                 "seconds_until_every_row_final", "callback_rate", "idle_p99_ms",
                                                 "batch_p99_ms", "p99_ratio", "ratio_met", "checks_ok")}))
        if not results["checks_ok"]:
            log("!! CHECKS FAILED")
            status = 1
        elif not results["ratio_met"]:
            log(f"!! callback p99 during the batch is {ratio}x the idle figure (target <= {RATIO_TARGET}x)")
            status = 2
        return status
    finally:
        stop_processes(workers)
        if web is not None:
            web.stop()
        if gw is not None:
            gw.stop()
        empty_queues_and_disconnect()
        if not args.keep_db:
            drop_database(args.database_url, db_name)
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"kept database {db_name} and the logs in {tmp}")


if __name__ == "__main__":
    sys.exit(main())
