"""A reconciliation day as a spreadsheet (CSV or XLSX, ``platform/spreadsheet.py``) for
/finance/reconciliation: the day's money summary and its channels, each run's classes (counts and
amounts) and every exception line with its resolution. The figures are the finance API's
(``queries.day_view``: the same read model), so the export, the screen and
``GET /api/v1/integration/finance/reconciliation/{date}`` agree. Read only."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from ...domain.enums import ReconClass, TransactionType
from ..platform.spreadsheet import csv_chunks, write_xlsx
from . import queries

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
HEADER = ("section", "channelCode", "item", "state", "count", "amount", "ourAmount", "reference",
          "resolvedBy", "note")
WIDTHS = (12, 18, 22, 16, 8, 16, 16, 28, 24, 40)
CLASSES = [c.value for c in ReconClass]
PAYMENT, REFUND = TransactionType.PAYMENT.value, TransactionType.REFUND.value

Row = tuple[object, ...]


def _money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def rows(day: date) -> Iterator[Row]:
    """SUMMARY (the API's ``summary``), CHANNEL (its ``channelSummaries``), RUN (a run's class: count
    and amount) and EXCEPTION (every exception of the day's runs) rows, in that order."""
    view = queries.day_view(day, 1, 1)
    s = view["summary"]
    yield ("SUMMARY", "", PAYMENT, "", s["totalPaymentCount"], _money(s["totalPaymentAmount"]), None, "", "", "")
    yield ("SUMMARY", "", REFUND, "", s["totalRefundCount"], _money(s["totalRefundAmount"]), None, "", "", "")
    yield ("SUMMARY", "", "NET", "", s["transactionCount"], _money(s["netAmount"]), None, "", "", "")
    yield ("SUMMARY", "", "EXCEPTIONS", "", s["exceptionCount"], None, None, "", "", "")
    yield ("SUMMARY", "", "OPEN_EXCEPTIONS", "", s["openExceptionCount"], None, None, "", "", "")
    for c in view["channelSummaries"]:
        yield ("CHANNEL", c["channelCode"], PAYMENT, c["reconciliationStatus"], c["paymentCount"],
               _money(c["paymentAmount"]), None, "", "", "")
        yield ("CHANNEL", c["channelCode"], REFUND, c["reconciliationStatus"], c["refundCount"],
               _money(c["refundAmount"]), None, "", "", "")
    for run in queries.recent_runs(day):
        for cls in CLASSES:
            f = run.figures.get(cls) or {}
            yield ("RUN", run.channel_code, cls, run.state, int(f.get("count", 0)),
                   Decimal(str(f.get("amount") or "0.00")).quantize(Decimal("0.01")), None, "", "", "")
    for e in view["exceptionRecords"]:
        yield ("EXCEPTION", e["channelCode"], e["exceptionClass"], e["state"], None, _money(e["channelAmount"]),
               _money(e["ourAmount"]), e["channelPaymentNo"] or e["channelTransactionId"] or "",
               e["resolvedBy"] or "", e["resolutionNote"] or "")


def download_name(day: date, fmt: str) -> str:
    return f"reconciliation-{day.isoformat()}.{fmt}"


def csv_body(day: date) -> bytes:
    return b"".join(csv_chunks(HEADER, rows(day)))


def xlsx_body(day: date) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, f"reconciliation {day.isoformat()}", HEADER, rows(day), WIDTHS)
    return buffer.getvalue()
