"""/notifications: the signed-in user's own notifications (docs/SCREENS.md), newest first, paged;
mark one or all read. The header's unread count (every signed-in page) and its HTMX polling part
``/notifications/count``. Every query is by the signed-in user's id: another's notification is 404."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from ...domain.errors import NotFound
from ...labels import notification_text
from ...services.notifications import inbox
from ...services.notifications.kinds import NotificationKind
from .access import ANY_USER, allow
from .rendering import page_arg, render_screen, wants_fragment

bp = Blueprint("notifications", __name__)


class MarkForm(FlaskForm):
    """No fields: the CSRF token only."""


def _link(kind: str, params: dict) -> str | None:
    """Where a notification leads (a reseller's screen), or None."""
    if kind == NotificationKind.APPROVAL_WAITING:
        return url_for("approvals.index")
    if kind in (NotificationKind.PAYMENT_RESULT, NotificationKind.VOUCHER_REJECTED) and params.get("mergedPaymentId"):
        return url_for("payments.detail", merged_payment_id=params["mergedPaymentId"])
    if kind == NotificationKind.STATEMENT_READY:
        return url_for("statements.index", month=params.get("month"))
    if kind == NotificationKind.DEADLINE_REMINDER and params.get("paymentId"):
        return url_for("orders.detail", payment_id=params["paymentId"])
    return None


@bp.app_context_processor
def _header_count():
    """``notification_count()`` for the header: read only when a signed-in page renders it."""
    def count() -> int:
        return inbox.unread_count(current_user.id) if current_user.is_authenticated else 0
    return {"notification_count": count}


@bp.get("/notifications")
@allow(ANY_USER)
def index():
    listing = inbox.page(current_user.id, page_arg())
    items = [{"n": n, "text": notification_text(n.kind, n.params), "link": _link(n.kind, n.params or {})}
             for n in listing.items]
    return render_screen("notifications/index.html", "notifications/_list.html", listing=listing, items=items,
                         form=MarkForm())


@bp.get("/notifications/count")
@allow(ANY_USER)
def count():
    """The header's count, for HTMX polling; a plain request goes to the list."""
    if not wants_fragment():
        return redirect(url_for("notifications.index"), 303)
    return render_template("notifications/_count.html")


def _back():
    page = request.args.get("page", "")
    return redirect(url_for("notifications.index", page=page if page.isdigit() else None), 303)


@bp.post("/notifications/<int:notification_id>/read")
@allow(ANY_USER)
def mark_read(notification_id: int):
    try:
        inbox.mark_read(current_user.id, notification_id)
    except NotFound:
        abort(404)
    return _back()


@bp.post("/notifications/read-all")
@allow(ANY_USER)
def mark_all_read():
    inbox.mark_all_read(current_user.id)
    return _back()
