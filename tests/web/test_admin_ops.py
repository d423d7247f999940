"""/admin (health), /admin/jobs (failed jobs: requeue, delete) and /admin/audit (filters, an entry,
the chain verification run by the worker), against real Redis and RQ: failed jobs are made by a real
worker running a job that raises. Who may open them is the authorization matrix's business."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from rq.job import Job

from app.extensions import db
from app.models import AuditEntry
from app.services.operations import chain_check, health
from app.services.platform.actor import Actor
from app.services.platform.queues import QUEUE_NAMES, queue, queue_prefix, redis_connection
from tests.support.admin import audit_entry, dead_delivery_and_disabled_endpoint, failed_job, tamper_audit_log
from tests.support.html import dom
from tests.support.routes import ADMIN
from tests.support.web import csrf_token
from worker import build_worker


@pytest.fixture(autouse=True)
def empty_queues(app):
    """Queues live in Redis for the whole session: every test here starts with none waiting or failed."""
    with app.app_context():
        for name in QUEUE_NAMES:
            q = queue(name)
            q.empty()
            for job_id in q.failed_job_registry.get_job_ids():
                q.failed_job_registry.remove(job_id, delete_job=True)
        redis_connection().delete(f"{queue_prefix()}audit:chain:last")
    yield


@pytest.fixture
def admin(signed_in):
    return signed_in(ADMIN)


def _actions(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def test_health_shows_every_part_with_links(app, admin):
    with app.app_context():
        job = failed_job("low")
        worker = build_worker(["default", "high"], name="health-probe")
        worker.register_birth()
        worker.heartbeat()
    try:
        page = dom(admin.get("/admin"))
    finally:
        with app.app_context():
            worker.register_death()
    assert page.one("health-database")["data-ok"] == "true"
    assert page.one("health-redis")["data-ok"] == "true"
    rows = {r["data-queue"]: r for r in page.all("queue-row")}
    assert list(rows) == list(QUEUE_NAMES)
    assert rows["low"]["data-failed"] == "1" and rows["default"]["data-failed"] == "0"
    failed = page.one("health-failed-jobs")
    assert failed["data-count"] == "1"
    assert failed.one(tag="a")["href"] == "/admin/jobs"
    w = page.one("worker-row", data_worker="health-probe")
    assert "default" in w.text and "high" in w.text
    assert page.one("health-dead-deliveries")["data-count"] == "0"
    assert page.one("health-disabled-endpoints")["data-count"] == "0"
    assert page.one("chain-status")["data-ok"] == ""  # never verified
    assert job.id  # the failed job is the one counted


def test_dead_deliveries_and_disabled_endpoints_are_counted(app, admin):
    with app.app_context():
        dead_delivery_and_disabled_endpoint()
    page = dom(admin.get("/admin"))
    assert page.one("health-dead-deliveries")["data-count"] == "1"
    assert page.one("health-disabled-endpoints")["data-count"] == "1"


def test_redis_down_is_reported_and_the_rest_still_measured(app, monkeypatch):
    with app.app_context():
        dead_delivery_and_disabled_endpoint()
        monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
        h = health.snapshot()
    assert h.database_ok and not h.redis_ok
    assert h.queues is None and h.workers == [] and h.chain is None
    assert h.dead_deliveries == 1


def test_no_worker_is_said_plainly(admin):
    page = dom(admin.get("/admin"))
    assert page.all("worker-row") == []
    assert page.one("no-workers")


def test_failed_job_listed_with_its_error_then_requeued_and_audited(app, admin):
    with app.app_context():
        job = failed_job("low")
    page = dom(admin.get("/admin/jobs"))
    row = page.one("failed-job-row", data_job_id=job.id)
    assert row["data-queue"] == "low"
    assert "TypeError" in row.one("failed-job-error").text  # the traceback's last line
    token = csrf_token(admin, "/admin/jobs")
    response = admin.post(f"/admin/jobs/{job.id}/requeue", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/admin/jobs"
    with app.app_context():
        q = queue("low")
        assert q.failed_job_registry.count == 0
        assert q.job_ids == [job.id]
        [entry] = _actions("job.requeue")
        assert entry.target_id == job.id and entry.actor_type == "user"
        assert entry.before["status"] == "failed" and entry.after["status"] == "queued"
    assert dom(admin.get("/admin/jobs")).all("failed-job-row") == []


def test_failed_job_deleted_and_audited(app, admin):
    with app.app_context():
        job = failed_job("default")
    token = csrf_token(admin, "/admin/jobs")
    assert admin.post(f"/admin/jobs/{job.id}/delete", data={"csrf_token": token}).status_code == 303
    with app.app_context():
        assert queue("default").failed_job_registry.count == 0
        assert not Job.exists(job.id, connection=redis_connection())
        [entry] = _actions("job.delete")
        assert entry.before["func"] == "app.jobs.maintenance.purge_idempotency_keys"


def test_requeue_of_a_job_that_did_not_fail_changes_nothing(app, admin):
    with app.app_context():
        waiting = queue("low").enqueue("app.jobs.maintenance.seal_audit_log")
    token = csrf_token(admin, "/admin/jobs")
    assert admin.post(f"/admin/jobs/{waiting.id}/requeue", data={"csrf_token": token}).status_code == 404
    assert admin.post(f"/admin/jobs/{waiting.id}/delete", data={"csrf_token": token}).status_code == 404
    with app.app_context():
        assert queue("low").job_ids == [waiting.id]
        assert _actions("job.requeue") == [] and _actions("job.delete") == []


def test_audit_filters(app, admin):
    with app.app_context():
        a = audit_entry("channel.update", "channel", "WIRE_ICBC", Actor("user", "41"))
        b = audit_entry("channel.rotate_secret", "channel", "ALIPAY", Actor("user", "42"))
        c = audit_entry("job.requeue", "job", "abc", Actor("system", "system"))

    def ids(query: str) -> set[int]:
        page = dom(admin.get("/admin/audit" + query))
        return {int(r["data-entry-id"]) for r in page.all("audit-row")}

    assert {a, b, c} <= ids("")
    assert ids("?action=channel.") == {a, b}
    assert ids("?actor=42") == {b}
    assert ids("?actor=system:system") == {c}
    assert ids("?targetType=channel&targetId=WIRE_ICBC") == {a}
    assert ids("?targetId=nothing") == set()


@pytest.mark.parametrize("query, field", [
    ("?from=2026-02-30", "from"),
    ("?from=1900-01-01", "from"),
    ("?from=2026-03-02&to=2026-03-01", "to"),
    ("?actor=" + "x" * 65, "actor"),
])
def test_audit_filter_bad_input_shows_the_error_beside_the_field(app, admin, query, field):
    with app.app_context():
        entry = audit_entry()
        before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    page = dom(admin.get("/admin/audit" + query))
    error = page.one("filter-error")
    assert error["data-field"] == field and error.text
    assert error.parent.one(tag="input")["name"] == field
    # the bad value filters nothing out, and nothing was written
    assert str(entry) in {r["data-entry-id"] for r in page.all("audit-row")}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == before


def test_audit_entry_shows_before_and_after(app, admin):
    with app.app_context():
        entry = audit_entry("channel.update", "channel", "WIRE_ICBC",
                            before={"enabled": True}, after={"enabled": False})
    page = dom(admin.get(f"/admin/audit/{entry}"))
    assert '"enabled": true' in page.one("audit-before").text
    assert '"enabled": false' in page.one("audit-after").text
    assert admin.get("/admin/audit/99999999").status_code == 404


def test_verify_now_runs_on_the_worker_and_its_result_is_shown(app, admin):
    with app.app_context():
        for i in range(3):
            audit_entry(target_id=f"T{i}")
    assert dom(admin.get("/admin/audit")).one("chain-status")["data-ok"] == ""
    token = csrf_token(admin, "/admin/audit")
    assert admin.post("/admin/audit/verify", data={"csrf_token": token}).status_code == 303
    with app.app_context():
        assert queue("low").count == 1
        assert chain_check.last_check() is None  # nothing is verified in the request itself
        build_worker(["low"]).work(burst=True)
        result = chain_check.last_check()
        assert result is not None and result.ok
        total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
        assert result.checked == total and result.unsealed == 0  # the job sealed every entry first
        assert len(_actions("audit.verify_requested")) == 1
    for path in ("/admin/audit", "/admin"):
        status = dom(admin.get(path)).one("chain-status")
        assert status["data-ok"] == "true"
        assert str(result.checked) in status.text


def test_verification_reports_a_broken_chain(app, admin):
    with app.app_context():
        entry = audit_entry(target_id="T9")
        chain_check.run_and_store()
        tamper_audit_log("UPDATE audit_log SET target_id = 'T999' WHERE id = :id", {"id": entry})
        result = chain_check.run_and_store()
        assert not result.ok and "altered" in (result.problem or "")
    status = dom(admin.get("/admin")).one("chain-status")
    assert status["data-ok"] == "false"
