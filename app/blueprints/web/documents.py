"""PDF documents on the screens (docs/SCREENS.md "Documents"): the download of a READY document
(its owner company or finance; anything else is 404), the retry of a FAILED one, finance's list of
every document, and the public verification page ``/verify/<code>`` (rate-limited per address; it
shows only the key facts the document printed)."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...domain.enums import Role
from ...domain.errors import NotFound, StateConflict
from ...rate_limits import hit
from ...services.documents import download, failures, queries, storage, verification
from .access import FINANCE, RESELLER, allow, reseller_id, web_actor
from .rendering import render_screen, wants_fragment

bp = Blueprint("documents", __name__)


def owner_scope() -> int | None:
    """The company whose documents the signed-in user may have: a reseller's own; None for finance (all)."""
    return None if current_user.role == Role.FINANCE else reseller_id()


def _back(default: str) -> str:
    """Where a form posted from goes back to: a path on this site only (never another host)."""
    target = request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return target
    return default


@bp.get("/documents/<number>/pdf")
@allow(RESELLER | FINANCE)
def pdf(number: str):
    """The PDF as a download; 404 for another company's, unknown or not yet READY documents."""
    try:
        found = download.ready_pdf(number, reseller_id=owner_scope())
    except storage.ContentMismatch:
        current_app.logger.error("document %s: stored bytes fail their SHA-256; not served", number)
        abort(500)
    if found is None:
        abort(404)
    response = send_file(io.BytesIO(found.content), mimetype="application/pdf", as_attachment=True,
                         download_name=found.file_name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/documents/<number>/retry")
@allow(RESELLER | FINANCE)
def retry(number: str):
    """Queue a FAILED document again (its owner company or finance)."""
    scope = owner_scope()
    try:
        failures.retry(web_actor(), number, scope)
    except NotFound:
        abort(404)
    except StateConflict:
        flash(_("This document has not failed; there is nothing to retry."), "info")
    else:
        flash(_("The document is being made again. This page updates by itself."), "success")
    if wants_fragment():
        doc = queries.by_number(number, scope)
        if doc is None:
            abort(404)
        return render_screen("documents/_document_row.html", "documents/_document_row.html", doc=doc,
                             next_url=_back("/"))
    default = url_for("documents.finance_list") if scope is None else url_for("payments.index")
    return redirect(_back(default), 303)


@bp.get("/finance/documents")
@allow(FINANCE)
def finance_list():
    """Every document, newest first; the list refreshes itself while one is still being made."""
    docs = queries.listing(None, limit=100)
    return render_screen("finance/documents.html", "documents/_document_table.html", docs=docs,
                         refresh_url=url_for("documents.finance_list"), next_url=url_for("documents.finance_list"))


@bp.get("/verify/<code>")
@allow(None)
def verify(code: str):
    """Public: whether ``code`` belongs to a document the portal issued, with its key facts."""
    if not hit(current_app.config.get("VERIFY_RATE_LIMIT", "30 per minute"), "verify", request.remote_addr or "-"):
        return render_screen("public/verify.html", "public/verify.html", 429, result=None, limited=True, code="")
    result = verification.lookup(code)
    return render_screen("public/verify.html", "public/verify.html", 200 if result else 404, result=result,
                         limited=False, code=code if result else "")
