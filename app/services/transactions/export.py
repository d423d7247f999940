"""Export of the filtered transaction list of ``/finance/transactions`` as CSV or XLSX, always through
the worker (``app.jobs.exports.export_transactions``, ``low`` queue; docs/SCREENS.md).

The file holds exactly the rows of the screen's filter (``search.conditions``), in the screen's order
(newest first), one query streamed in chunks (``yield_per``) and written row by row
(``platform.spreadsheet``): memory stays constant whatever the size. Amounts are the screen's (a refund
as a positive amount, its kind says it is a refund), plain decimal text with two places in CSV;
times in Asia/Shanghai; headers and words in the language of the person who asked. The job, its
progress (``job.meta``: ``done`` of ``total``) and the file (instance folder ``exports/``, kept a day)
follow the order export's (``orders.export``); only the finance or admin user who asked may follow
or download it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ...domain.timeutil import SHANGHAI, utcnow
from ...extensions import db
from ...labels import label
from ...models import ChannelPayment, MergedPayment, PaymentOrder, PaymentTransaction, Reseller
from ..orders.export import (
    EXPORT_QUEUE,
    FORMATS,
    ExportError,
    ExportState,
    export_state,
    filter_of,
    filter_to_json,
    queue_export,
    write_and_store,
)
from ..platform import spreadsheet
from ..platform.queues import queue
from .search import TransactionFilter, conditions

KIND = "transactions"
CENT = Decimal("0.01")

t = PaymentTransaction
# (header, column, kind); kinds: text, code (a word from labels), money (positive size), time
COLUMNS = (
    (_l("Transaction"), t.transaction_id, "text"),
    (_l("Kind"), t.transaction_type, "code"),
    (_l("Status"), t.status, "code"),
    (_l("Channel"), t.channel_code, "text"),
    (_l("Reseller code"), Reseller.code, "text"),
    (_l("Payment order"), PaymentOrder.payment_id, "text"),
    (_l("Merged payment ID"), MergedPayment.merged_payment_id, "text"),
    (_l("Channel payment ID"), ChannelPayment.channel_payment_id, "text"),
    (_l("Channel transaction ID"), t.channel_transaction_id, "text"),
    (_l("Amount"), t.amount, "money"),
    (_l("Created"), t.created_at, "time"),
    (_l("Completed"), t.completed_at, "time"),
)
WIDTHS = (26, 10, 12, 10, 12, 24, 24, 24, 28, 16, 20, 20)
del t


def headers() -> list[str]:
    return [str(c[0]) for c in COLUMNS]


def export_query(f: TransactionFilter) -> sa.Select:
    """The screen's filtered transactions (``search.search``), in its order, only the file's columns."""
    t = PaymentTransaction
    return (sa.select(*(c[1] for c in COLUMNS))
            .join(PaymentOrder, PaymentOrder.id == t.payment_order_id)
            .join(Reseller, Reseller.id == t.reseller_id)
            .outerjoin(MergedPayment, MergedPayment.id == t.merged_payment_id)
            .outerjoin(ChannelPayment, ChannelPayment.id == t.channel_payment_id)
            .where(*conditions(f)).order_by(t.created_at.desc(), t.id.desc()))


def _shanghai(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:  # stored as UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(SHANGHAI).replace(tzinfo=None)


def iter_values(f: TransactionFilter) -> Iterator[list]:
    """One list of typed values per transaction (str, Decimal with 2 places, naive Shanghai time, None),
    streamed: the rows are fetched 1,000 at a time and never all held."""
    result = db.session.execute(export_query(f).execution_options(yield_per=1000))
    for row in result:
        values: list[str | Decimal | datetime | None] = []
        for (_header, _col, kind), value in zip(COLUMNS, row, strict=True):
            if kind == "text":
                values.append(spreadsheet.safe_text(value))
            elif kind == "code":
                values.append(label(value))
            elif kind == "money":
                values.append(abs(Decimal(value)).quantize(CENT))
            else:
                values.append(_shanghai(value))
        yield values


def download_name(fmt: str, when: datetime | None = None) -> str:
    stamp = (when or utcnow()).astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
    return f"transactions-{stamp}.{fmt}"


def filter_from_json(data: dict) -> TransactionFilter:
    return filter_of(TransactionFilter, data, days=("created_from", "created_to", "completed_from", "completed_to"),
                     amounts=("min_amount", "max_amount"))


def enqueue_export(*, user_id: int, f: TransactionFilter, fmt: str, locale: str, total: int) -> str:
    """Queue the export of ``f`` for this finance/admin user; returns the job id the progress page follows."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt}")
    spec = {"filter": filter_to_json(f), "format": fmt, "locale": locale, "requested_at": utcnow().isoformat()}
    return queue_export("app.jobs.exports.export_transactions", spec,
                        {"user_id": user_id, "kind": KIND, "format": fmt, "total": total, "done": 0,
                         "download_name": download_name(fmt)})


def run_export(job_id: str, spec: dict, progress: Callable[[int], None]) -> dict:
    """Write the file of one export job (the worker calls this); returns where and how many rows."""
    fmt = spec["format"]
    f = filter_from_json(spec["filter"])
    return write_and_store(job_id, fmt, lambda path: _write(path, fmt, f, spec, progress))


def _write(tmp: Path, fmt: str, f: TransactionFilter, spec: dict, progress: Callable[[int], None]) -> int:
    with force_locale(spec.get("locale") or "zh"):
        return spreadsheet.write_file(tmp, fmt, str(_l("Transactions")), headers(), iter_values(f), WIDTHS, progress)


def state_of(job_id: str, user_id: int) -> ExportState | None:
    """The transaction export job if it exists and belongs to this user, else None (answered as 404)."""
    state = export_state(job_id, user_id)
    job = queue(EXPORT_QUEUE).fetch_job(job_id) if state is not None else None
    return state if job is not None and job.meta.get("kind") == KIND else None
