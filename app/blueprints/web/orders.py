"""``/orders``: the reseller's payment-order list (filters in the URL, named as the API's, docs/API.md §3),
its export (CSV/XLSX; through the worker when large), and ``/orders/<paymentId>``.

The list answers a whole page, or for HTMX its results partial plus the filter form out of band
(so that field errors and values follow the request). A history restore always gets the page."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from redis.exceptions import RedisError

# types-WTForms describes WTForms 3.2: SelectChoice and invalid_choice_message (3.3) are unknown to it.
from wtforms import BooleanField, SelectChoice, SelectField, SelectMultipleField, StringField  # type: ignore[attr-defined]
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ...domain.enums import PaymentStatus, PaymentType
from ...domain.timeutil import in_date_range
from ...labels import LABELS, label
from ...services.documents import queries as document_queries
from ...services.documents import refund_receipts
from ...services.orders import export as order_export
from ...services.orders import screen_list as order_list
from ...services.orders.detail import filter_channels, order_detail
from ...services.orders.queries import OrderFilter
from ...services.orders.view import is_overdue
from .access import RESELLER, allow, reseller_id
from .downloads import attachment
from .form_fields import date_range_message
from .rendering import is_history_restore, page_arg, render_screen, wants_fragment

bp = Blueprint("orders", __name__)

MAX_AMOUNT = Decimal("99999999999.99")
MAX_ORDER_IDS = 100
PAGE_SIZES = (20, 50, 100)
SORT_CHOICES = [SelectChoice(key, text) for key, text in (
    ("-created", _l("Created, newest first")), ("created", _l("Created, oldest first")),
    ("deadline", _l("Deadline, earliest first")), ("-deadline", _l("Deadline, latest first")),
    ("-amount", _l("Amount, largest first")), ("amount", _l("Amount, smallest first")),
    ("status", _l("Status")), ("orderId", _l("Order ID")),
)]
SORTS = {c.value for c in SORT_CHOICES} | {"-status", "-orderId"}
_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Query parameters that are state of the list (kept in links); anything else (lang, junk) is not.
LIST_PARAMS = ("paymentStatus", "paymentType", "orderId", "minAmount", "maxAmount", "createdFrom", "createdTo",
               "deadlineFrom", "deadlineTo", "channel", "overdue", "sort", "pageSize", "page")


def parse_amount(text: str) -> Decimal:
    """``1250000``, ``1,250,000.00`` or ``¥1250000.5``; at most two decimals, not negative."""
    cleaned = text.strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    if not _AMOUNT.match(cleaned):
        raise ValidationError(_("Enter an amount in yuan, such as 1250000 or 1250000.00."))
    value = Decimal(cleaned)
    if value < 0:
        raise ValidationError(_("Enter an amount of 0 or more."))
    if value > MAX_AMOUNT:  # first: quantizing 30 digits to cents exceeds the decimal context (a 500)
        raise ValidationError(_("This amount is too large."))
    if value != value.quantize(Decimal("0.01")):
        raise ValidationError(_("Use at most two decimal places."))
    return value.quantize(Decimal("0.01"))


def parse_date(text: str) -> date:
    text = text.strip()
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        parsed = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(_("Enter a date as YYYY-MM-DD, for example 2026-11-30.")) from None
    if not in_date_range(parsed):
        raise ValidationError(date_range_message())
    return parsed


class AmountField(StringField):
    def pre_validate(self, form):
        text = self.data or ""
        self.parsed = parse_amount(text) if text.strip() else None


class DayField(StringField):
    def pre_validate(self, form):
        text = self.data or ""
        self.parsed = parse_date(text) if text.strip() else None


class CodesField(SelectMultipleField):
    """Checkboxes; also takes the API's comma (or space) separated form, ``paymentStatus=UNPAID,PAID``."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def process_formdata(self, valuelist):
        self.data = [v for raw in valuelist for v in raw.replace(" ", ",").split(",") if v]


class OrderFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    paymentStatus = CodesField(_l("Status"), choices=[SelectChoice(s.value, LABELS[s.value]) for s in PaymentStatus],
                               invalid_choice_message=_l("Unknown status: %(value)s"))  # type: ignore[call-arg]
    paymentType = CodesField(_l("Type"), choices=[SelectChoice(t.value, LABELS[t.value]) for t in PaymentType],
                             invalid_choice_message=_l("Unknown type: %(value)s"))  # type: ignore[call-arg]
    orderId = StringField(_l("Order IDs"))
    minAmount = AmountField(_l("Amount from"))
    maxAmount = AmountField(_l("Amount to"))
    createdFrom = DayField(_l("Created from"))
    createdTo = DayField(_l("Created to"))
    deadlineFrom = DayField(_l("Deadline from"))
    deadlineTo = DayField(_l("Deadline to"))
    channel = SelectField(_l("Channel"), default="",  # type: ignore[call-arg]
                          invalid_choice_message=_l("Choose a channel from the list."))
    overdue = BooleanField(_l("Overdue only"))
    sort = SelectField(_l("Sort by"), choices=SORT_CHOICES, validate_choice=False)
    pageSize = SelectField(_l("Per page"), choices=[SelectChoice(str(n)) for n in PAGE_SIZES], validate_choice=False)

    def validate_orderId(self, field):
        ids = order_ids(field.data)
        if len(ids) > MAX_ORDER_IDS:
            raise ValidationError(_("Enter at most %(n)s order IDs.", n=MAX_ORDER_IDS))
        if any(len(i) > 64 for i in ids):
            raise ValidationError(_("An order ID has at most 64 characters."))

    def validate_maxAmount(self, field):
        low, high = getattr(self.minAmount, "parsed", None), getattr(field, "parsed", None)
        if low is not None and high is not None and high < low:
            raise ValidationError(_("The upper amount is below the lower one."))

    def validate_createdTo(self, field):
        _check_range(self.createdFrom, field)

    def validate_deadlineTo(self, field):
        _check_range(self.deadlineFrom, field)


def _check_range(start, end) -> None:
    low, high = getattr(start, "parsed", None), getattr(end, "parsed", None)
    if low is not None and high is not None and high < low:
        raise ValidationError(_("The end date is before the start date."))


def order_ids(text: str | None) -> list[str]:
    return [v for v in (text or "").replace("，", ",").replace(" ", ",").replace("\n", ",").split(",") if v.strip()]


def filter_form(rid: int) -> tuple[OrderFilterForm, bool]:
    language = str(get_locale() or "zh")
    form = OrderFilterForm(formdata=request.args)
    form.channel.choices = [SelectChoice("", _("Any channel"))] + [
        SelectChoice(c.code, c.label(language)) for c in filter_channels(rid)]
    valid = form.validate()
    if form.sort.data not in SORTS:
        form.sort.data = "-created"
    if form.pageSize.data not in {str(n) for n in PAGE_SIZES}:
        form.pageSize.data = str(PAGE_SIZES[0])
    return form, valid


def order_filter(form: OrderFilterForm, rid: int) -> OrderFilter:
    return OrderFilter(
        reseller_id=rid, order_ids=order_ids(form.orderId.data) or None,
        payment_statuses=form.paymentStatus.data or None, payment_types=form.paymentType.data or None,
        created_from=form.createdFrom.parsed, created_to=form.createdTo.parsed,
        deadline_from=form.deadlineFrom.parsed, deadline_to=form.deadlineTo.parsed,
        min_amount=form.minAmount.parsed, max_amount=form.maxAmount.parsed,
        channel=form.channel.data or None, overdue=True if form.overdue.data else None,
    )


DEFAULTS = {("sort", "-created"), ("pageSize", str(PAGE_SIZES[0])), ("page", "1")}


def list_args(**changes) -> list[tuple[str, str]]:
    """The list's state from this request's URL (non-empty, non-default parameters only), with changes."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k in LIST_PARAMS and k not in changes and v.strip()]
    args += [(k, str(v)) for k, v in changes.items() if v not in (None, "")]
    return [a for a in args if a not in DEFAULTS]


def list_url(**changes) -> str:
    query = urlencode(list_args(**changes))
    return url_for("orders.index") + (f"?{query}" if query else "")


def _label_memo():
    """``label`` remembered for the request (a page repeats a handful of codes many times)."""
    cache: dict[str, str] = {}

    def lab(code: str) -> str:
        if code not in cache:
            cache[code] = label(code)
        return cache[code]

    return lab


@bp.get("/orders")
@allow(RESELLER)
def index():
    rid = reseller_id()
    form, valid = filter_form(rid)
    page = totals = None
    if valid:
        f = order_filter(form, rid)
        totals = order_list.totals(f)
        page = order_list.page_of(f, totals["count"], page_arg(),
                                  int(form.pageSize.data), form.sort.data)
    context = {"form": form, "page": page, "totals": totals, "sort": form.sort.data, "list_url": list_url,
               "list_args": list_args, "is_overdue": is_overdue, "lab": _label_memo()}
    # A history restore (back button) must get its page even with a bad filter: htmx drops a 4xx one.
    status = 200 if valid or is_history_restore() else 422
    if wants_fragment():
        response = make_response(render_template("reseller/_orders_fragment.html", oob=True, **context), status)
        response.headers["HX-Push-Url"] = list_url(page=page.page if page else None)
        return response
    return render_template("reseller/orders.html", **context), status


@bp.post("/orders/export")
@allow(RESELLER)
def export():
    """Export the list as the URL filters it; small sets at once, large ones through the worker."""
    rid = reseller_id()
    fmt = request.form.get("format", "")
    if fmt not in order_export.FORMATS:
        abort(400)
    form, valid = filter_form(rid)
    if not valid:
        flash(_("Fix the filters before exporting."), "error")
        return redirect(list_url(page=None), 303)
    f = order_filter(form, rid)
    total = order_list.totals(f)["count"]
    if total <= order_export.direct_max_rows():
        return _direct_download(f, form.sort.data, fmt)
    try:
        job_id = order_export.enqueue_export(user_id=current_user.id, reseller_id=rid, f=f, sort=form.sort.data,
                                             fmt=fmt, locale=str(get_locale() or "zh"), total=total)
    except RedisError:
        flash(_("Large exports are not available right now. Try again in a few minutes, or narrow the filters."),
              "error")
        return redirect(list_url(page=None), 303)
    return redirect(url_for("orders.export_progress", job_id=job_id), 303)


def _direct_download(f: OrderFilter, sort: str, fmt: str) -> Response:
    name = order_export.download_name(fmt)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        body = stream_with_context(order_export.csv_chunks(order_export.iter_values(f, sort)))
        return Response(body, content_type=order_export.FORMATS["csv"], headers=headers)
    return Response(order_export.xlsx_bytes(f, sort), content_type=order_export.FORMATS["xlsx"], headers=headers)


@bp.get("/orders/exports/<job_id>")
@allow(RESELLER)
def export_progress(job_id: str):
    reseller_id()
    state = order_export.export_state(job_id, current_user.id)
    if state is None:
        abort(404)
    return render_screen("reseller/orders_export.html", "reseller/_order_export_progress.html", export=state)


@bp.get("/orders/exports/<job_id>/download")
@allow(RESELLER)
def export_download(job_id: str):
    reseller_id()
    state = order_export.export_state(job_id, current_user.id)
    if state is None or state.state != "done":
        abort(404)
    try:
        chunks = order_export.download(job_id, state.fmt)
    except KeyError:
        abort(404)
    return attachment(chunks, order_export.FORMATS[state.fmt], state.download_name)


@bp.get("/orders/<payment_id>")
@allow(RESELLER)
def detail(payment_id: str):
    found = order_detail(reseller_id(), payment_id)
    if found is None:
        abort(404)
    owner = found.order.reseller_id
    receipts = {r.refund_id: document_queries.latest(refund_receipts.REFUND_RECEIPT, r.refund_id, owner)
                for r in found.refunds}
    return render_template("reseller/orders_detail.html", d=found, o=found.order, is_overdue=is_overdue,
                           refund_receipts=receipts)
