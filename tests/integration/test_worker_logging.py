"""What ``python worker.py`` prints: RQ_LOG_LEVEL quiets RQ's own lines (four per job at INFO) and
nothing else; the app's lines keep LOG_LEVEL. A real worker process on the tests' Redis runs a
real job; its output is read as a person would see it in the terminal of ``scripts/run``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.services.platform.queues import queue, redis_connection

ROOT = Path(__file__).resolve().parents[2]
PURGE = "app.jobs.maintenance.purge_idempotency_keys"  # logs one INFO line of the app per run
# worker.LOG_FORMAT: "<time> <LEVEL> <pid> [job <id>] <logger>: <message>"
RQ_INFO = re.compile(r"^\S+ \S+ INFO \d+ \[job [^\]]+\] rq(?:\.\w+)*: ", re.MULTILINE)
APP_INFO = re.compile(r"^\S+ \S+ INFO \d+ \[job [^\]]+\] app\.jobs\.maintenance: purged \d+ expired idempotency keys$",
                      re.MULTILINE)


@pytest.fixture
def run_worker_once(app, database_url):
    """run_worker_once(env) -> the combined output of ``python worker.py --max-jobs 1`` (with its
    scheduler process, as ``scripts/run`` starts it) after it ran one purge job."""
    prefix = app.config["RQ_QUEUE_PREFIX"]

    def clear_queues() -> None:
        with app.app_context():
            redis = redis_connection()
            for key in redis.scan_iter(match=f"*{prefix}*", count=500):
                redis.delete(key)

    def run(extra_env: dict[str, str]) -> str:
        # The worker takes the first job of its queues: jobs an earlier test of this session left
        # (a deferred refresh, say) would be run instead of the purge.
        clear_queues()
        with app.app_context():
            queue("low").enqueue(PURGE)
        env = {k: v for k, v in os.environ.items() if k not in ("RQ_LOG_LEVEL", "LOG_LEVEL")}
        env.update(DATABASE_URL=database_url, REDIS_URL=app.config["REDIS_URL"], RQ_QUEUE_PREFIX=prefix,
                   PYTHONUNBUFFERED="1", **extra_env)
        done = subprocess.run([sys.executable, "worker.py", "--max-jobs", "1"], cwd=ROOT, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        return output

    yield run
    clear_queues()


def test_rq_log_level_warning_hides_rqs_per_job_lines_and_keeps_the_apps(run_worker_once):
    output = run_worker_once({"RQ_LOG_LEVEL": "WARNING"})
    assert APP_INFO.search(output), output  # the job ran, and the app's own INFO lines still show
    assert not RQ_INFO.findall(output), output
    assert "Traceback" not in output, output


def test_without_rq_log_level_rq_reports_each_job(run_worker_once):
    """The same run at INFO: RQ's per-job lines are there (what the WARNING run must not show)."""
    output = run_worker_once({})
    assert APP_INFO.search(output), output
    assert re.search(r"rq\.worker: .*Job OK", output), output
