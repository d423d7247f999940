"""``/admin``: the health of the running portal, each figure linking to the screen that acts on it;
``/admin/jobs``: failed jobs with requeue and delete (services/operations)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ...domain.errors import NotFound
from ...services.operations import failed_jobs, health
from .access import ADMIN, allow, web_actor

bp = Blueprint("admin", __name__)


@bp.get("/admin")
@allow(ADMIN)
def index():
    return render_template("admin/health.html", h=health.snapshot())


@bp.get("/admin/jobs")
@allow(ADMIN)
def jobs():
    return render_template("admin/jobs.html", jobs=failed_jobs.list_failed())


def _act(job_id: str, action, done: str):
    if len(job_id) > 64:
        abort(404)
    try:
        action(job_id, web_actor())
    except NotFound:
        abort(404)
    flash(done, "success")
    return redirect(url_for("admin.jobs"), 303)


@bp.post("/admin/jobs/<job_id>/requeue")
@allow(ADMIN)
def requeue(job_id: str):
    return _act(job_id, failed_jobs.requeue, _("The job is back on its queue."))


@bp.post("/admin/jobs/<job_id>/delete")
@allow(ADMIN)
def delete(job_id: str):
    return _act(job_id, failed_jobs.delete, _("The job was deleted."))
