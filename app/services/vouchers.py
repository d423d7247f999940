"""Wire vouchers (电汇凭证): upload by the reseller, confirmation or rejection by finance.

Files are checked by their content (PDF, JPEG or PNG magic bytes, never the name), limited in size,
and stored outside ``static`` under a random name; the user's file name is kept only as data."""

from __future__ import annotations

import hashlib
import os
import uuid
from decimal import Decimal

import sqlalchemy as sa
from flask import current_app

from ..domain.enums import Role
from ..domain.errors import Forbidden, NotFound, StateConflict, ValidationFailed
from ..domain.money import MoneyFormatError, parse_money
from ..extensions import db
from ..models import ChannelPayment, MergedPayment, Voucher
from ..models.types import now_utc
from . import audit, outbox, settlement
from .actor import Actor
from .tx import transaction

SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def sniff(data: bytes) -> str | None:
    for magic, content_type in SIGNATURES:
        if data.startswith(magic):
            return content_type
    return None


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
    with transaction():
        cp = db.session.scalar(
            sa.select(ChannelPayment).join(MergedPayment, MergedPayment.id == ChannelPayment.merged_payment_id)
            .where(ChannelPayment.channel_payment_id == channel_payment_id, MergedPayment.reseller_id == reseller_id)
            .with_for_update(of=ChannelPayment))
        if cp is None or cp.channel_kind != "WIRE":
            raise NotFound("no such wire transfer")
        if cp.status != "PROCESSING":
            raise StateConflict(f"this wire transfer is {cp.status}")
        if db.session.scalar(sa.select(Voucher.id).where(Voucher.channel_payment_id == cp.id,
                                                         Voucher.status == "PENDING")):
            raise StateConflict("a voucher for this transfer is already waiting for finance")
        stored = uuid.uuid4().hex
        v = Voucher(channel_payment_id=cp.id, stored_name=stored, original_name=_safe_display_name(filename),
                    content_type=content_type, size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(),
                    status="PENDING", uploaded_by_user_id=user_id, created_at=now_utc())
        db.session.add(v)
        db.session.flush()
        # Written after the row is accepted; a failed commit leaves at most an unreferenced file.
        directory = current_app.config["VOUCHER_DIR"]
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, stored), "xb") as f:
            f.write(data)
        audit.record(actor, "voucher.upload", "channel_payment", cp.channel_payment_id, None,
                     {"voucher": v.id, "size": len(data), "type": content_type})
        outbox.emit("voucher.uploaded", "channel_payment", cp.channel_payment_id,
                    {"channelPaymentId": cp.channel_payment_id, "reference": cp.wire_reference})
    return v


def file_path(v: Voucher) -> str:
    return os.path.join(current_app.config["VOUCHER_DIR"], v.stored_name)


def _require_finance(role: str) -> None:
    if role != Role.FINANCE:
        raise Forbidden("only finance can review wire vouchers")


def _lock_pending(voucher_id: int) -> tuple[Voucher, ChannelPayment]:
    v = db.session.get(Voucher, voucher_id)
    if v is None:
        raise NotFound("no such voucher")
    cp = settlement.lock_channel_payment(v.channel_payment_id)
    db.session.refresh(v, with_for_update=True)
    if v.status != "PENDING":
        raise StateConflict(f"this voucher was already {v.status.lower()}")
    return v, cp


def confirm(actor: Actor, role: str, user_id: int, voucher_id: int, received_text, shortfall: str | None = None):
    """Finance enters what actually arrived. Equal: all allocations succeed. More: they succeed and the
    excess goes to the wallet. Less: ``shortfall`` must say 'accept' (applied earliest deadline first;
    the rest fails and is released) or 'reject'."""
    _require_finance(role)
    try:
        received = parse_money(received_text)
    except MoneyFormatError as exc:
        raise ValidationFailed(f"received amount {exc}", field="receivedAmount") from None
    if received <= 0:
        raise ValidationFailed("the received amount must be greater than 0; reject the voucher instead",
                               field="receivedAmount")
    with transaction():
        v, cp = _lock_pending(voucher_id)
        if received < cp.amount and shortfall not in ("accept", "reject"):
            raise ValidationFailed(f"less than the expected {cp.amount:.2f} arrived: accept or reject it",
                                   field="shortfall")
        v.reviewed_by_user_id, v.reviewed_at, v.received_amount = user_id, now_utc(), received
        if received < cp.amount and shortfall == "reject":
            v.status, v.reject_reason = "REJECTED", f"only {received:.2f} of {cp.amount:.2f} arrived"
            settlement.apply(cp, settlement.Outcome(status="FAILED", reason=v.reject_reason,
                                                    received_amount=Decimal("0.00")), actor)
        else:
            v.status = "CONFIRMED"
            settlement.apply(cp, settlement.Outcome(status="SUCCESS", received_amount=received,
                                                    channel_transaction_id=cp.wire_reference), actor)
        audit.record(actor, "voucher.confirm", "channel_payment", cp.channel_payment_id, None,
                     {"received": f"{received:.2f}", "expected": f"{cp.amount:.2f}", "shortfall": shortfall})


def reject(actor: Actor, role: str, user_id: int, voucher_id: int, reason: str) -> None:
    """The voucher is not accepted (with a reason the reseller sees); the transfer stays open for a new one."""
    _require_finance(role)
    if not reason or not reason.strip():
        raise ValidationFailed("give a reason the reseller will see", field="reason")
    with transaction():
        v, cp = _lock_pending(voucher_id)
        v.status, v.reject_reason = "REJECTED", reason.strip()[:500]
        v.reviewed_by_user_id, v.reviewed_at = user_id, now_utc()
        audit.record(actor, "voucher.reject", "channel_payment", cp.channel_payment_id, None, {"reason": reason})
        outbox.emit("voucher.rejected", "channel_payment", cp.channel_payment_id,
                    {"channelPaymentId": cp.channel_payment_id, "reason": v.reject_reason})
