"""The forms of batch payouts (``finance_batches``), also shown on /finance/disbursements."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, TextAreaField

from ...services.payouts import batch_queries
from .form_fields import strip_text


class UploadForm(FlaskForm):
    merchantId = SelectField(_l("Pay from merchant"), validate_choice=False)  # noqa: N815 (API name)
    file = FileField(_l("Payee file (CSV or XLSX)"))


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason for rejecting"), filters=[strip_text])


def upload_form(formdata: bool = True) -> UploadForm:
    """The upload form with the active payout merchants to choose from (the first is the default)."""
    form = UploadForm() if formdata else UploadForm(formdata=None)
    form.merchantId.choices = [(m, f"{m} · {n}") for m, n in batch_queries.active_merchants()]
    return form
