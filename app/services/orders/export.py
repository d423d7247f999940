"""Export of a filtered payment-order list as CSV or XLSX (docs/SCREENS.md ``/orders``).

Small sets (up to ``EXPORT_DIRECT_MAX_ROWS``, default 2,000) are written straight into the response;
larger ones by the worker (``app.jobs.exports.export_orders``), which writes the file in a scratch
file, then into the database (``platform/file_store``, kept a day: any web process serves it), and
records its progress in ``job.meta``. The
job carries the user who asked; only that user may follow it or download the file.

Contents: one row per order in the list's order; amounts are numbers with two decimals, times are
Asia/Shanghai, words (headers, statuses, types) in the language of the person who asked. CSV starts
with a UTF-8 BOM so that Excel reads it as UTF-8. Text cells that a spreadsheet would run as a
formula (starting with ``= + - @``, tab or CR) get a leading ``'`` in both formats.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, TypeVar

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ...domain.order_status import is_overdue
from ...domain.timeutil import SHANGHAI, utcnow
from ...extensions import db
from ...labels import label
from ...models import PaymentOrder
from ..platform import file_store, spreadsheet
from ..platform.queues import queue
from ..platform.unit_of_work import end_read, transaction
from .queries import OrderFilter
from .screen_list import conditions, order_by

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DIRECT_MAX_ROWS = 2000
EXPORT_QUEUE = "low"
EXPORT_TTL_SECONDS = 24 * 3600
JOB_TIMEOUT_SECONDS = 30 * 60
PROGRESS_EVERY = spreadsheet.PROGRESS_EVERY
JOB_ID = re.compile(r"^export-[0-9a-f]{32}$")
CENT = Decimal("0.01")
F = TypeVar("F", bound="DataclassInstance")  # a list filter

# (header, column or expression, kind); kinds: text, code (a word from labels), money, time, flag
o = PaymentOrder
COLUMNS = (
    (_l("Payment ID"), o.payment_id, "text"),
    (_l("Order ID"), o.order_id, "text"),
    (_l("Payment type"), o.payment_type, "code"),
    (_l("Payment status"), o.payment_status, "code"),
    (_l("Refund status"), o.refund_status, "code"),
    (_l("Amount"), o.payment_amount, "money"),
    (_l("Paid"), o.paid_amount, "money"),
    (_l("Refunded"), o.refunded_amount, "money"),
    (_l("In flight"), o.reserved_amount, "money"),
    (_l("Payable"), o.payment_amount - o.paid_amount - o.reserved_amount, "money"),
    (_l("Payment deadline"), o.payment_deadline, "time"),
    (_l("Overdue"), o.payment_status.label("status_for_overdue"), "overdue"),
    (_l("Created at"), o.created_at, "time"),
    (_l("Updated at"), o.updated_at, "time"),
    (_l("Description"), o.business_desc, "text"),
)
del o
WIDTHS = (24, 20, 14, 14, 14, 16, 16, 16, 16, 16, 18, 8, 18, 18, 40)
SHEET = _l("Payment orders")


class ExportError(Exception):
    pass


def direct_max_rows() -> int:
    return int(current_app.config.get("EXPORT_DIRECT_MAX_ROWS", DIRECT_MAX_ROWS))


# --- the rows ------------------------------------------------------------------------------------


_safe_text = spreadsheet.safe_text


def _shanghai(value: datetime | None) -> datetime | None:
    return value.astimezone(SHANGHAI).replace(tzinfo=None) if value is not None else None


def export_query(f: OrderFilter, sort: str = "-created") -> sa.Select:
    """The filtered orders, in the list's order (``order_queries.list_orders``), only the columns
    the file needs."""
    deadline = PaymentOrder.payment_deadline
    return (sa.select(*(c[1] for c in COLUMNS), deadline.label("deadline_for_overdue"))
            .where(*conditions(f)).order_by(*order_by(sort)))


def iter_values(f: OrderFilter, sort: str, now: datetime | None = None) -> Iterator[list]:
    """One list of typed values per order: str, Decimal (2 places), naive Shanghai datetime, None."""
    now = now or utcnow()
    result = db.session.execute(export_query(f, sort).execution_options(yield_per=1000))
    for row in result:
        values: list[str | Decimal | datetime | None] = []
        for (_header, _col, kind), value in zip(COLUMNS, row, strict=False):
            if kind == "text":
                values.append(_safe_text(value))
            elif kind == "code":
                values.append(str(label(value)))
            elif kind == "money":
                values.append(Decimal(value).quantize(CENT))
            elif kind == "time":
                values.append(_shanghai(value))
            else:  # overdue: the value is the payment status
                late = is_overdue(value, row[-1], now)
                values.append(str(_l("Yes")) if late else str(_l("No")))
        yield values


def headers() -> list[str]:
    return [str(c[0]) for c in COLUMNS]


# --- writers -------------------------------------------------------------------------------------


def csv_chunks(rows: Iterable[list], progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The CSV file in pieces (``spreadsheet.csv_chunks``) under this list's headers."""
    return spreadsheet.csv_chunks(headers(), rows, progress)


def write_xlsx(target: str | os.PathLike[str] | BinaryIO, rows: Iterable[list],
               progress: Callable[[int], None] | None = None) -> int:
    """An XLSX workbook (one sheet) into ``target`` (a path or a binary file); returns the row count."""
    return spreadsheet.write_xlsx(target, str(SHEET), headers(), rows, WIDTHS, progress)


def download_name(fmt: str, when: datetime | None = None) -> str:
    stamp = (when or utcnow()).astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
    return f"payment-orders-{stamp}.{fmt}"


def xlsx_bytes(f: OrderFilter, sort: str) -> bytes:
    out = io.BytesIO()
    write_xlsx(out, iter_values(f, sort))
    return out.getvalue()


# --- through the worker --------------------------------------------------------------------------


def filter_to_json(f: DataclassInstance) -> dict:
    """A list filter (a dataclass) as the JSON of an export job's spec: days as ISO text, amounts as
    plain decimal text."""
    out = {}
    for k, v in asdict(f).items():
        if isinstance(v, date):
            v = v.isoformat()
        elif isinstance(v, Decimal):
            v = f"{v:f}"
        out[k] = v
    return out


def filter_of(cls: type[F], data: dict, days: Iterable[str], amounts: Iterable[str]) -> F:
    """The list filter ``cls`` back from ``filter_to_json``'s JSON (unknown keys are dropped)."""
    known = {f.name for f in fields(cls)}
    values = {k: v for k, v in data.items() if k in known}
    for k in days:
        if values.get(k):
            values[k] = date.fromisoformat(values[k])
    for k in amounts:
        if values.get(k) is not None:
            values[k] = Decimal(values[k])
    return cls(**values)


def filter_from_json(data: dict) -> OrderFilter:
    return filter_of(OrderFilter, data, days=("created_from", "created_to", "deadline_from", "deadline_to"),
                     amounts=("min_amount", "max_amount"))


def file_key(job_id: str, fmt: str) -> str:
    """Where the export's file is kept (``platform/file_store``)."""
    if not JOB_ID.match(job_id) or fmt not in FORMATS:
        raise ExportError("bad export id")
    return f"export/{job_id}.{fmt}"


def write_and_store(job_id: str, fmt: str, write: Callable[[Path], int]) -> dict:
    """``write`` the export into a scratch file (XLSX needs a seekable one), then keep it a day under
    the export's key, dropping the expired ones; where it is and how many rows."""
    key = file_key(job_id, fmt)
    with tempfile.TemporaryDirectory(prefix="export-") as scratch:
        path = Path(scratch) / f"{job_id}.{fmt}"
        rows = write(path)
        end_read()
        with transaction():
            file_store.delete_expired()
            file_store.put_file(key, str(path), FORMATS[fmt],
                                expires_at=utcnow() + timedelta(seconds=EXPORT_TTL_SECONDS))
    return {"file": key, "rows": rows}


def download(job_id: str, fmt: str) -> Iterator[bytes]:
    """The stored export's bytes, chunk by chunk."""
    return file_store.stream(file_key(job_id, fmt))


def enqueue_export(*, user_id: int, reseller_id: int, f: OrderFilter, sort: str, fmt: str, locale: str,
                   total: int) -> str:
    """Queue an export of ``f`` for this user; returns the job id the progress page follows."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt}")
    if f.reseller_id != reseller_id:
        raise ExportError("an export is always of one reseller's orders")
    spec = {"filter": filter_to_json(f), "sort": sort, "format": fmt, "locale": locale,
            "reseller_id": reseller_id, "requested_at": utcnow().isoformat()}
    return queue_export("app.jobs.exports.export_orders", spec,
                        {"user_id": user_id, "reseller_id": reseller_id, "format": fmt, "total": total, "done": 0,
                         "download_name": download_name(fmt)})


def queue_export(job: str, spec: dict, meta: dict) -> str:
    """Queue the export job ``job`` (a function of ``app.jobs.exports``) with its ``spec`` on the export
    queue, kept a day; ``meta`` holds who asked and the progress (``done`` of ``total``). Returns its id."""
    job_id = f"export-{uuid.uuid4().hex}"
    queue(EXPORT_QUEUE).enqueue(
        job, spec, job_id=job_id, job_timeout=JOB_TIMEOUT_SECONDS,
        result_ttl=EXPORT_TTL_SECONDS, failure_ttl=EXPORT_TTL_SECONDS, ttl=EXPORT_TTL_SECONDS, meta=meta,
    )
    return job_id


def run_export(job_id: str, spec: dict, progress: Callable[[int], None]) -> dict:
    """Write the file of one export job (the worker calls this); returns where and how many rows."""
    fmt = spec["format"]
    file_key(job_id, fmt)
    f = filter_from_json(spec["filter"])
    if f.reseller_id is None or f.reseller_id != spec.get("reseller_id"):
        raise ExportError("an export is always of one reseller's orders")
    return write_and_store(job_id, fmt, lambda path: _write(path, fmt, f, spec, progress))


def _write(tmp: Path, fmt: str, f: OrderFilter, spec: dict, progress: Callable[[int], None]) -> int:
    with force_locale(spec.get("locale") or "zh"):
        return spreadsheet.write_file(tmp, fmt, str(SHEET), headers(),
                                      iter_values(f, spec.get("sort") or "-created"), WIDTHS, progress)


@dataclass(frozen=True)
class ExportState:
    job_id: str
    state: str  # queued | running | done | failed
    done: int
    total: int
    fmt: str
    download_name: str

    @property
    def final(self) -> bool:
        return self.state in ("done", "failed")


def export_state(job_id: str, user_id: int) -> ExportState | None:
    """The export job if it exists and belongs to this user, else None (answered as 404)."""
    if not JOB_ID.match(job_id or ""):
        return None
    job = queue(EXPORT_QUEUE).fetch_job(job_id)
    if job is None or job.meta.get("user_id") != user_id:
        return None
    status = job.get_status(refresh=False)
    meta = job.meta
    fmt = meta.get("format", "csv")
    if status == "finished":
        state = "done" if file_store.exists(file_key(job_id, fmt)) else "failed"
    elif status in ("failed", "stopped", "canceled"):
        state = "failed"
    elif status == "started":
        state = "running"
    else:
        state = "queued"
    total = int(meta.get("total") or 0)
    done = total if state == "done" else min(int(meta.get("done") or 0), total)
    return ExportState(job_id, state, done, total, fmt, meta.get("download_name") or download_name(fmt))
