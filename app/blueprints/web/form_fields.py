"""Form field helpers shared by the screens: trimmed text, and an amount in yuan read the way
finance types it (``1,250,000.00``, ``¥`` allowed), with the error in the reader's language."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from flask import request
from flask_babel import gettext as _
from wtforms import Field
from wtforms.validators import ValidationError

from ...domain.money import CENT, MAX_AMOUNT, at_most_two_decimals
from ...domain.timeutil import FIRST_DATE, LAST_DATE, in_date_range

_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")


def entered(field: Field) -> str:
    """The text of a required field of a form that validated: its required check has run, so it is there."""
    assert isinstance(field.data, str), f"{field.name} read before validation"
    return field.data


def date_range_message() -> str:
    return _("Enter a date between %(first)s and %(last)s.", first=FIRST_DATE.isoformat(), last=LAST_DATE.isoformat())


def typed_day(name: str, text: str, errors: dict[str, str]) -> date | None:
    """The day typed as YYYY-MM-DD in the field ``name``, within the dates the portal takes; else None,
    the field's error in ``errors``."""
    try:
        value = date.fromisoformat(text) if len(text) == 10 and text.isascii() else None
    except ValueError:
        value = None
    if value is None:
        errors[name] = _("Enter a date like 2026-11-30.")
    elif not in_date_range(value):
        errors[name], value = date_range_message(), None
    return value


def date_in_range(form, field) -> None:
    """A WTForms validator: a date field's date within the dates the portal takes (domain/timeutil.py)."""
    if field.data is not None and not in_date_range(field.data):
        raise ValidationError(date_range_message())


def posted_text(name: str) -> str:
    """A posted form field's text, stripped; control characters (a NUL PostgreSQL refuses) are dropped."""
    return "".join(c for c in (request.form.get(name) or "") if c.isprintable()).strip()


def strip_text(value):
    return value.strip() if isinstance(value, str) else value


def amount_field_check(text: str | None) -> Decimal:
    """A positive amount in yuan with at most two decimals, or a ValidationError."""
    cleaned = (text or "").replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").replace(" ", "")
    if not cleaned:
        raise ValidationError(_("Enter the amount."))
    if not _AMOUNT.match(cleaned) or len(cleaned) > 20:
        raise ValidationError(_("Enter an amount in yuan, for example 1250000.00."))
    amount = Decimal(cleaned)
    if not at_most_two_decimals(amount):
        raise ValidationError(_("Use at most two decimals (fen)."))
    if amount <= 0:
        raise ValidationError(_("The amount must be greater than 0."))
    if amount > MAX_AMOUNT:
        raise ValidationError(_("This amount is too large."))
    return amount.quantize(CENT)


def signed_amount_field_check(text: str | None) -> Decimal:
    """A signed amount in yuan (``-100.00`` decreases), not 0, at most two decimals, or a ValidationError."""
    cleaned = (text or "").replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").replace(" ", "")
    cleaned = cleaned[1:] if cleaned.startswith("+") else cleaned
    if not cleaned:
        raise ValidationError(_("Enter the amount."))
    if not _AMOUNT.match(cleaned) or len(cleaned) > 20:
        raise ValidationError(_("Enter an amount in yuan, for example -100.00 or 250.00."))
    amount = Decimal(cleaned)
    if not at_most_two_decimals(amount):
        raise ValidationError(_("Use at most two decimals (fen)."))
    if amount == 0:
        raise ValidationError(_("The amount must not be 0."))
    if abs(amount) > MAX_AMOUNT:
        raise ValidationError(_("This amount is too large."))
    return amount.quantize(CENT)
