"""Form field helpers shared by the screens: trimmed text, and an amount in yuan read the way
finance types it (``1,250,000.00``, ``¥`` allowed), with the error in the reader's language."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import gettext as _
from wtforms import Field
from wtforms.validators import ValidationError

from ...domain.money import CENT, MAX_AMOUNT, at_most_two_decimals

_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")


def entered(field: Field) -> str:
    """The text of a required field of a form that validated: its required check has run, so it is there."""
    assert isinstance(field.data, str), f"{field.name} read before validation"
    return field.data


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
