"""A reseller uploads the wire voucher (电汇凭证) of a WIRE payment.

Files are checked by their content (PDF, JPEG or PNG magic bytes, never the name), limited in size,
and stored in the database (``platform/file_store``, key ``voucher/<random name>``) with the voucher's
row, in one transaction; the user's file name is kept only as data. A PDF
must also parse (pypdf): a file that only starts with ``%PDF-`` (an HTML page behind the magic, a
truncated upload) or one that is password-protected is refused, since finance could not read it."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import uuid

import sqlalchemy as sa
from flask import current_app
from pypdf import PdfReader

from ...domain.enums import ChannelKind, ChannelPaymentStatus, VoucherStatus
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...domain.event_types import EventType
from ...extensions import db
from ...models import ChannelPayment, MergedPayment, Voucher
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import file_store, outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction

SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def sniff(data: bytes) -> str | None:
    for magic, content_type in SIGNATURES:
        if data.startswith(magic):
            return content_type
    return None


def pdf_problem(data: bytes) -> str | None:
    """Why these bytes are not a PDF finance can open (None when they are one): it must parse and
    have at least one page, and it must not be encrypted."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            return "the PDF is password-protected"
        if len(reader.pages) < 1:
            return "the PDF cannot be read"
    except Exception:  # pypdf raises many kinds (PdfReadError, PdfStreamError, ValueError, ...)
        return "the PDF cannot be read"
    return None


# pypdf logs every repair it makes to a damaged file; a refused upload is reported to the user instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)


def _safe_display_name(name: str) -> str:
    # Strip paths and bidi/control characters; it is only ever shown, never used as a path.
    name = os.path.basename((name or "voucher").replace("\\", "/"))
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    return "".join(ch for ch in name if ch.isprintable() and ch not in bidi)[:200] or "voucher"


def upload(actor: Actor, user_id: int, reseller_id: int, channel_payment_id: str, filename: str,
           data: bytes) -> Voucher:
    limit = current_app.config["VOUCHER_MAX_BYTES"]
    if not data:
        raise ValidationFailed("the file is empty", field="voucher")
    if len(data) > limit:
        raise ValidationFailed(f"the file is larger than {limit // (1024 * 1024)} MB", field="voucher")
    content_type = sniff(data)
    if content_type is None:
        raise ValidationFailed("the voucher must be a PDF, JPG or PNG file", field="voucher")
    if content_type == "application/pdf" and (problem := pdf_problem(data)):
        raise ValidationFailed(problem, field="voucher")
    with transaction():
        cp = db.session.scalar(
            sa.select(ChannelPayment).join(MergedPayment, MergedPayment.id == ChannelPayment.merged_payment_id)
            .where(ChannelPayment.channel_payment_id == channel_payment_id, MergedPayment.reseller_id == reseller_id)
            .with_for_update(of=ChannelPayment))
        if cp is None or cp.channel_kind != ChannelKind.WIRE:
            raise NotFound("no such wire transfer")
        if cp.status != ChannelPaymentStatus.PROCESSING:
            raise StateConflict(f"this wire transfer is {cp.status}")
        if db.session.scalar(sa.select(Voucher.id).where(Voucher.channel_payment_id == cp.id,
                                                         Voucher.status == VoucherStatus.PENDING)):
            raise StateConflict("a voucher for this transfer is already waiting for finance")
        stored = uuid.uuid4().hex
        v = Voucher(channel_payment_id=cp.id, stored_name=stored, original_name=_safe_display_name(filename),
                    content_type=content_type, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                    status=VoucherStatus.PENDING, uploaded_by_user_id=user_id, created_at=now_utc())
        db.session.add(v)
        db.session.flush()
        file_store.put(file_key(v), [data], content_type)
        audit.record(actor, "voucher.upload", "channel_payment", cp.channel_payment_id, None,
                     {"voucher": v.id, "size": len(data), "type": content_type})
        outbox.emit(EventType.VOUCHER_UPLOADED, "channel_payment", cp.channel_payment_id,
                    {"channelPaymentId": cp.channel_payment_id, "reference": cp.wire_reference})
    return v


def file_key(v: Voucher) -> str:
    return f"voucher/{v.stored_name}"


def content(v: Voucher) -> bytes:
    """The uploaded file's bytes; KeyError if they are missing."""
    return file_store.read(file_key(v))

