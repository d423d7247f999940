"""Finance settles a payout parked as MANUAL from the bank statement (docs/DOMAIN.md §9)."""

from __future__ import annotations

from ...domain.enums import DisbursementStatus, Role
from ...domain.errors import Forbidden, NotFound, StateConflict, ValidationFailed
from ...models import Disbursement
from ...models.types import now_utc
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from .final_state import FINAL, finish, lock
from .view import get


def settle_manual(actor: Actor, role: str, order_no: str, outcome: str, bank_serial_no: str | None = None,
                  reason: str | None = None) -> Disbursement:
    """Finance settles a MANUAL order from the bank statement: SUCCESS with the bank serial number or
    FAILED with a reason. Audited; notifies like any final state."""
    if role != Role.FINANCE:
        raise Forbidden("only finance may settle disbursements")
    if outcome not in FINAL:
        raise ValidationFailed("outcome must be SUCCESS or FAILED", field="outcome")
    if outcome == DisbursementStatus.SUCCESS and not (bank_serial_no or "").strip():
        raise ValidationFailed("a bank serial number is required", field="bankSerialNo")
    if outcome == DisbursementStatus.FAILED and not (reason or "").strip():
        raise ValidationFailed("a reason is required", field="reason")
    with transaction():
        d = lock(order_no)
        if d is None:
            raise NotFound(f"no disbursement {order_no}")
        if d.status != DisbursementStatus.MANUAL:
            raise StateConflict(f"disbursement {order_no} is {d.status}, not MANUAL")
        finish(d, actor, outcome, (bank_serial_no or "").strip() or None, (reason or "").strip() or None,
                now_utc(), action="disbursement.settle_manual")
    with transaction():
        return get(order_no)

