"""Wire vouchers (电汇凭证): upload by the reseller, confirmation or rejection by finance.

Files are checked by their content (PDF, JPEG or PNG magic bytes, never the name), limited in size,
and stored outside ``static`` under a random name; the user's file name is kept only as data."""

from __future__ import annotations

from decimal import Decimal

from ...domain.enums import ChannelPaymentStatus, Role, VoucherStatus
from ...domain.errors import Forbidden, NotFound, StateConflict, ValidationFailed
from ...domain.event_types import EventType
from ...domain.money import MoneyFormatError, parse_money
from ...extensions import db
from ...models import ChannelPayment, MergedPayment, Voucher
from ...models.types import now_utc
from ..audit import log as audit
from ..notifications import announcements
from ..platform import outbox
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from ..settlement import channel_result as settlement


def _require_finance(role: str) -> None:
    if role != Role.FINANCE:
        raise Forbidden("only finance can review wire vouchers")


def _lock_pending(voucher_id: int) -> tuple[Voucher, ChannelPayment]:
    v = db.session.get(Voucher, voucher_id)
    if v is None:
        raise NotFound("no such voucher")
    cp = settlement.lock_channel_payment(v.channel_payment_id)
    db.session.refresh(v, with_for_update=True)
    if v.status != VoucherStatus.PENDING:
        raise StateConflict(f"this voucher was already {v.status.lower()}")
    return v, cp


def confirm(actor: Actor, role: str, user_id: int, voucher_id: int, received_text: str,
            shortfall: str | None = None) -> None:
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
            v.status, v.reject_reason = VoucherStatus.REJECTED, f"only {received:.2f} of {cp.amount:.2f} arrived"
        else:
            v.status = VoucherStatus.CONFIRMED
        apply_received(cp, received, shortfall, actor, "voucher.confirm")


def apply_received(cp: ChannelPayment, received: Decimal, shortfall: str | None, actor: Actor,
                   action: str) -> bool:
    """The one wire confirmation, for a voucher finance confirms and for a bank statement line matched
    to the payment (reconciliation/wire_matching.py), on a channel payment locked by the caller:
    equal or more → SUCCESS (the excess to the wallet, settlement/channel_result.py); less → the
    ``shortfall`` decision ('accept': SUCCESS for what arrived; 'reject': FAILED). False when the
    payment was already final (nothing changes)."""
    if received < cp.amount and shortfall not in ("accept", "reject"):
        raise ValidationFailed(f"less than the expected {cp.amount:.2f} arrived: accept or reject it",
                               field="shortfall")
    if received < cp.amount and shortfall == "reject":
        applied = settlement.apply(cp, settlement.Outcome(
            status=ChannelPaymentStatus.FAILED, reason=f"only {received:.2f} of {cp.amount:.2f} arrived",
            received_amount=Decimal("0.00")), actor)
    else:
        applied = settlement.apply(cp, settlement.Outcome(status=ChannelPaymentStatus.SUCCESS,
                                                          received_amount=received,
                                                          channel_transaction_id=cp.wire_reference), actor)
    audit.record(actor, action, "channel_payment", cp.channel_payment_id, None,
                 {"received": f"{received:.2f}", "expected": f"{cp.amount:.2f}", "shortfall": shortfall})
    return applied


def reject(actor: Actor, role: str, user_id: int, voucher_id: int, reason: str) -> None:
    """The voucher is not accepted (with a reason the reseller sees); the transfer stays open for a new one."""
    _require_finance(role)
    if not reason or not reason.strip():
        raise ValidationFailed("give a reason the reseller will see", field="reason")
    with transaction():
        v, cp = _lock_pending(voucher_id)
        v.status, v.reject_reason = VoucherStatus.REJECTED, reason.strip()[:500]
        v.reviewed_by_user_id, v.reviewed_at = user_id, now_utc()
        audit.record(actor, "voucher.reject", "channel_payment", cp.channel_payment_id, None, {"reason": reason})
        outbox.emit(EventType.VOUCHER_REJECTED, "channel_payment", cp.channel_payment_id,
                    {"channelPaymentId": cp.channel_payment_id, "reason": v.reject_reason})
        mp = db.session.get_one(MergedPayment, cp.merged_payment_id)
        announcements.voucher_rejected(mp.reseller_id, mp.merged_payment_id, cp.channel_payment_id, v.reject_reason)

