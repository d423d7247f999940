"""The portal's background processes: the RQ worker, and the scheduler that feeds it.

    python worker.py [--queues high,default,low] [--burst] [--fork] [--name NAME]
    python worker.py cron

The worker builds the app once, pushes one app context for its whole life and runs every job
inside it (docs/ARCHITECTURE.md §7). Queues come from ``app.services.platform.queues.QUEUE_NAMES`` with the
RQ_QUEUE_PREFIX of the config; every job is JSON (never pickle) and only functions defined under
``app.jobs`` run (``AppJob``). By default jobs run in the worker's own process (a
``rq.worker.SimpleWorker``): forking per job measured ≈52 jobs/s against ≈200 without.
``--fork`` brings back RQ's forking worker, which contains a job that leaks memory or crashes hard.
Start several processes for parallelism. Each (non-burst) worker also runs RQ's scheduler process,
which moves jobs due by ``enqueue_in`` or a retry back into their queues.

``cron`` runs the schedule in ``app/jobs/cron.py`` (``rq cron``'s config format) with a
scheduler that enqueues JSON jobs; see that module for why stock ``rq cron`` is not used.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading

from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.worker import SimpleWorker, Worker, WorkerStatus

LOG_FORMAT = "%(asctime)s %(levelname)s %(process)d [job %(job_id)s] %(name)s: %(message)s"


class JobIdFilter(logging.Filter):
    """Stamps every record with the id of the job being performed, '-' outside jobs (RQ's own lines
    about a job name its id in their text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from rq import get_current_job

        job = get_current_job()
        record.job_id = job.id if job is not None else "-"
        return True


def rq_log_level(level: str) -> str:
    """The level of RQ's own loggers: RQ_LOG_LEVEL when set, else the process's LOG_LEVEL.

    RQ logs four lines per job at INFO; with jobs every few seconds that drowns the app's own lines
    in a terminal. RQ_LOG_LEVEL (WARNING in scripts/run) quiets RQ alone."""
    return (os.environ.get("RQ_LOG_LEVEL") or level).upper()


def setup_logging(level: str) -> None:
    """One handler on the root logger; RQ sees it and adds none of its own, so its records (and the
    app's, and SQLAlchemy's) all get the job id. Every ``rq.*`` logger inherits ``rq``'s level,
    except those RQ sets itself when it starts (``rq.worker``, ``rq.job``, ``rq.scheduler``): they
    get the same level through the ``logging_level`` given to ``work()`` and the schedulers."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(JobIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)  # plugin chatter on import
    logging.getLogger("rq").setLevel(rq_log_level(level))


class _OrphanSafeSchedulerMixin:
    """Runs RQ's scheduler process (it moves jobs due by ``enqueue_in``/retry back into their
    queues) as one that stops once the worker that forked it is gone: after a ``kill -9`` of the
    worker, RQ's own would run on forever, holding the scheduler locks of the worker's queues."""

    def _start_scheduler(self, burst=False, logging_level="INFO", date_format=DEFAULT_LOGGING_DATE_FORMAT,
                         log_format=DEFAULT_LOGGING_FORMAT):
        # As rq.worker.BaseWorker._start_scheduler (RQ 3.0), with the scheduler class swapped.
        self.scheduler = _OrphanSafeScheduler(
            self.queues, connection=self.connection,
            logging_level=logging_level if logging_level is not None else self.log.level,
            date_format=date_format, log_format=log_format, serializer=self.serializer,
        )
        self.scheduler.acquire_locks()
        if self.scheduler.acquired_locks:
            if burst:
                try:
                    self.scheduler.register_birth()
                    self.scheduler.enqueue_scheduled_jobs()
                finally:
                    self.scheduler.release_locks()
                    self.scheduler.register_death()
            else:
                self.scheduler.start()


class _OrphanSafeScheduler(RQScheduler):
    def start(self):
        self._worker_pid = os.getpid()  # read in the forked child: its parent while that lives
        return super().start()

    def heartbeat(self):
        worker_pid = getattr(self, "_worker_pid", None)
        if worker_pid is not None and os.getppid() != worker_pid:
            self.log.warning("Scheduler: worker %s is gone; stopping", worker_pid)
            self.request_stop()  # the work loop stops (and releases the locks) on its next turn
        super().heartbeat()


# A killed worker's job is found and put back within a minute (docs/ARCHITECTURE.md "Processes"):
# while a job runs, a thread renews its entry in the started-job registry every HEARTBEAT_INTERVAL
# seconds for HEARTBEAT_TTL seconds; RQ's maintenance (every MAINTENANCE_INTERVAL seconds, on an
# idle worker at least every dequeue timeout: WORKER_TTL - 15) treats an entry that lapsed as
# abandoned and retries the job by its retry policy. Jobs are written to be applied once whatever
# runs them twice (settlement, refunds and payouts check the state they change under a lock).
HEARTBEAT_INTERVAL = 3
HEARTBEAT_TTL = 12
MAINTENANCE_INTERVAL = 10
WORKER_TTL = 25


class AppSimpleWorker(_OrphanSafeSchedulerMixin, SimpleWorker):
    """The default: jobs run in the worker's own process, with a heartbeat thread while they do."""

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        return HEARTBEAT_TTL

    def execute_job(self, job, queue):
        execution = self.prepare_execution(job)
        done = threading.Event()
        beat = threading.Thread(target=self._beat_while_running, args=(job, execution, done),
                                name=f"heartbeat-{job.id}", daemon=True)
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beat.join(HEARTBEAT_INTERVAL + 1)
        self.set_state(WorkerStatus.IDLE)

    def _beat_while_running(self, job, execution, done: threading.Event) -> None:
        while not done.wait(HEARTBEAT_INTERVAL):
            try:
                self.maintain_heartbeats(job, execution)
            except Exception:  # a lost beat only risks an early retry, which is applied once
                self.log.warning("heartbeat of job %s failed", job.id, exc_info=True)


class AppForkWorker(_OrphanSafeSchedulerMixin, Worker):
    """``--fork``: RQ's forking worker, one child process per job (its monitor beats every
    HEARTBEAT_INTERVAL seconds)."""

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        return HEARTBEAT_TTL


def build_worker(queue_names: list[str] | None = None, fork: bool = False, name: str | None = None):
    """A worker on the app's queues (all of them, highest priority first, unless named). Needs an
    app context: the queues' prefix and Redis come from the current app's config."""
    from app.services.platform.queues import QUEUE_NAMES, AppJob, queue, redis_connection

    names = queue_names or list(QUEUE_NAMES)
    unknown = sorted(set(names) - set(QUEUE_NAMES))
    if unknown:
        raise SystemExit(f"unknown queues: {', '.join(unknown)}; known: {', '.join(QUEUE_NAMES)}")
    worker_class = AppForkWorker if fork else AppSimpleWorker
    return worker_class([queue(n) for n in names], connection=redis_connection(), name=name,
                        serializer=JSONSerializer, job_class=AppJob, worker_ttl=WORKER_TTL,
                        maintenance_interval=MAINTENANCE_INTERVAL, job_monitoring_interval=HEARTBEAT_INTERVAL)


def run_worker(args) -> int:
    from app import create_app
    from app.extensions import db

    app = create_app()
    with app.app_context():
        if args.fork:
            # Forked job processes must open their own database connections, never share ours.
            db.engine.dispose()
        worker = build_worker(args.queues.split(",") if args.queues else None, fork=args.fork, name=args.name)
        # RQ sets this level on rq.worker, rq.job and (in its scheduler process) rq.scheduler.
        worker.work(burst=args.burst, logging_level=rq_log_level(args.log_level), with_scheduler=not args.burst,
                    max_jobs=args.max_jobs)
    return 0


def run_cron(args) -> int:
    from app import create_app
    from app.services.platform.queues import AppCronScheduler, queue_prefix, redis_connection

    app = create_app()  # for REDIS_URL and the queue prefix, exactly as the worker sees them
    os.environ.setdefault("RQ_QUEUE_PREFIX", app.config.get("RQ_QUEUE_PREFIX", ""))
    with app.app_context():
        scheduler = AppCronScheduler(connection=redis_connection(), logging_level=rq_log_level(args.log_level),
                                     key_prefix=queue_prefix())
        scheduler.load_config_from_file("app.jobs.cron")
        scheduler.start()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", nargs="?", default="work", choices=["work", "cron"])
    parser.add_argument("--queues", default="", help="comma list, highest priority first (default: all)")
    parser.add_argument("--burst", action="store_true", help="drain the queues, then exit")
    parser.add_argument("--fork", action="store_true", help="fork a process per job (RQ's default Worker)")
    parser.add_argument("--name", default=None, help="worker name (default: random)")
    parser.add_argument("--max-jobs", type=int, default=None, help="exit after this many jobs")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    return run_cron(args) if args.command == "cron" else run_worker(args)


if __name__ == "__main__":
    sys.exit(main())
