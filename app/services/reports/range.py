"""Money over a range of Shanghai days for finance (docs/DOMAIN.md §8 "Reports"), grouped by payment
type, channel, reseller or day: per group the payments (count, received), the refunds (count,
refunded) and the net, with totals. The rows are those of the finance API's ``payment-statistics``
(``reconciliation.statistics.statistics_rows``): one computation, so the ``/finance/reports`` range
screen, its CSV/XLSX (``table``) and its PDF (``document.py``) always show the API's numbers. The
totals add up the rows (no second query).

A range report is small: at most one row per day of ``MAX_DAYS`` days, per payment type, channel or
reseller; exports are written straight into the response."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ...domain.money import ZERO
from ...labels import label
from ..charts.figures import amounts_chart, trend_chart
from ..platform import spreadsheet
from ..reconciliation.figures import ZERO_FIGURES, Figures
from ..reconciliation.statistics import GROUP_NAMES, MAX_DAYS, statistics_rows

__all__ = ["GROUP_NAMES", "MAX_DAYS", "RangeReport", "RangeRow", "csv_bytes", "range_chart", "range_report", "table",
           "xlsx_bytes"]

GROUP_TITLES = {"paymentType": _l("Payment type"), "channel": _l("Channel"), "reseller": _l("Reseller"),
                "day": _l("Day")}


@dataclass(frozen=True)
class RangeRow:
    key: str  # a payment type, channel code, reseller code or day (YYYY-MM-DD), as the API names it
    figures: Figures

    @property
    def received(self) -> Decimal:
        return self.figures.paid

    @property
    def received_count(self) -> int:
        return self.figures.paid_count

    @property
    def refunded(self) -> Decimal:
        return self.figures.refunded

    @property
    def refunded_count(self) -> int:
        return self.figures.refunded_count

    @property
    def net(self) -> Decimal:
        return self.figures.net


@dataclass(frozen=True)
class RangeReport:
    first: date
    last: date
    group_by: str
    rows: list[RangeRow]
    total: Figures

    @property
    def received(self) -> Decimal:
        return self.total.paid

    @property
    def refunded(self) -> Decimal:
        return self.total.refunded

    @property
    def net(self) -> Decimal:
        return self.total.net

    @property
    def received_count(self) -> int:
        return self.total.paid_count

    @property
    def refunded_count(self) -> int:
        return self.total.refunded_count

    def label_of(self, key: str) -> str:
        """A row's name for people: a payment type in the reader's language, any other key as it is."""
        return label(key) if self.group_by == "paymentType" else key


def range_report(first: date, last: date, group_by: str) -> RangeReport:
    """The report of ``first``..``last`` grouped by one of ``GROUP_NAMES`` (ValidationFailed on a bad
    range or grouping, as the API)."""
    rows = [RangeRow(r.keys[group_by] or "", r.figures) for r in statistics_rows(first, last, [group_by])]
    total = ZERO_FIGURES if not rows else Figures(
        (), sum((r.received for r in rows), ZERO), sum(r.received_count for r in rows),
        sum((r.refunded for r in rows), ZERO), sum(r.refunded_count for r in rows))
    return RangeReport(first, last, group_by, rows, total)


def range_chart(report: RangeReport, title: str, *, testid: str | None = None,
                name: Callable[[str], str] | None = None) -> Markup:
    """Received per group as a chart: by day, a bar for every day of the range (a quiet day draws
    none; every fifth day labelled); otherwise a bar per row with its amount, labelled by ``name``
    (default: the row's name in the reader's language)."""
    if report.group_by == "day":
        found = {r.key: r.received for r in report.rows}
        days = [report.first + timedelta(days=i) for i in range((report.last - report.first).days + 1)]
        return trend_chart([(d.isoformat()[5:], found.get(d.isoformat(), ZERO)) for d in days],
                           title=title, testid=testid)
    name = name or report.label_of
    return amounts_chart([(name(r.key), r.received) for r in report.rows], title=title, testid=testid)


def table(report: RangeReport) -> tuple[list[str], list[list[object]]]:
    """The screen's table as (header, rows) for a spreadsheet, in the current language: a row per
    group (its key, its name, then the figures) and the total last."""
    header = [str(GROUP_TITLES[report.group_by]), str(_l("Name")), str(_l("Payments")), str(_l("Received")),
              str(_l("Refunds")), str(_l("Refunded")), str(_l("Net"))]
    body: list[list[object]] = [[r.key, report.label_of(r.key), r.received_count, r.received, r.refunded_count,
                                 r.refunded, r.net] for r in report.rows]
    body.append([str(_l("Total")), "", report.received_count, report.received, report.refunded_count,
                 report.refunded, report.net])
    return header, body


def file_stem(report: RangeReport) -> str:
    return f"report-{report.first.isoformat()}-{report.last.isoformat()}-{report.group_by}"


def csv_bytes(report: RangeReport) -> bytes:
    header, rows = table(report)
    return b"".join(spreadsheet.csv_chunks(header, rows))


def xlsx_bytes(report: RangeReport) -> bytes:
    header, rows = table(report)
    out = io.BytesIO()
    spreadsheet.write_xlsx(out, str(_l("Report")), header, rows, widths=(24, 24, 10, 16, 10, 16, 16))
    return out.getvalue()
