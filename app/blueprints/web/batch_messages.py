"""The words for the problems of a batch payout file (``payouts/batch_file``, ``batch_rows``) in the
reader's language."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ...services.payouts.batch_file import CHINESE_HEADINGS, COLUMNS

FIELD_NAMES = {
    "bankAccountName": _l("Payee name"), "bankAccountNo": _l("Account number"), "bankCode": _l("Bank code"),
    "amount": _l("Amount"), "purpose": _l("Purpose"), "row": _l("Row"),
}


def _heading(column: str) -> str:
    names = COLUMNS.get(column)
    return f"{column} / {names[1]}" if names else column


def file_message(code: str, params: dict) -> str:
    if code == "encoding":
        return _("The file is neither UTF-8 nor GBK text, nor an XLSX workbook. Save it as CSV (UTF-8) or XLSX "
                 "and upload it again. Nothing was stored.")
    if code == "empty":
        return _("The file has no payee rows. Nothing was stored.")
    if code == "format":
        return _("The file cannot be read as CSV or XLSX. Nothing was stored.")
    if code == "missing_columns":
        missing = ", ".join(_heading(c.strip()) for c in str(params.get("columns", "")).split(","))
        return _("Columns missing from the header row: %(columns)s. Nothing was stored.", columns=missing)
    if code == "unknown_columns":
        return _("Unknown columns in the header row: %(columns)s (use %(headings)s). Nothing was stored.",
                 columns=params.get("columns", ""), headings=", ".join(CHINESE_HEADINGS))
    if code == "duplicate_columns":
        return _("A column appears twice in the header row. Nothing was stored.")
    if code == "too_many_rows":
        return _("A batch has at most %(limit)s rows: split the file. Nothing was stored.", limit=params.get("limit"))
    return _("The file cannot be used. Nothing was stored.")


def row_message(code: str, field: str, params: dict) -> str:
    name = str(FIELD_NAMES.get(field, field))
    messages = {
        "required": _("%(field)s is missing.", field=name),
        "too_long": _("%(field)s has more than %(max)s characters.", field=name, max=params.get("max")),
        "account": _("The account number must be 6–32 digits."),
        "bank_code": _("Unknown bank code; use one of %(codes)s.", codes=params.get("codes", "")),
        "amount_format": _("Enter the amount in yuan, for example 1250.00."),
        "decimals": _("The amount has more than two decimals (fen)."),
        "not_positive": _("The amount must be greater than 0."),
        "above_single_limit": _("The amount is above the merchant's single-payout limit of ¥%(limit)s.",
                                limit=params.get("limit")),
        "duplicate": _("This row repeats row %(first)s (same account, bank, amount and purpose).",
                       first=params.get("first")),
        "extra_cells": _("The row has values beyond the named columns."),
    }
    return messages.get(code, _("This row cannot be paid."))
