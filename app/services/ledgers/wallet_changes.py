"""Finance's top-ups and adjustments of a reseller's wallet (docs/DOMAIN.md §5), with maker-checker.

A change whose size is at most the reseller's approval threshold is applied at once; above it, it waits
(PENDING) for a second finance user, never the one who asked, who approves (applied once, through
``wallet.top_up``: the one ledger path) or rejects it with a reason. A change that would take the
wallet below 0 is refused when asked, whatever the threshold, and again under the lock on approval.
A top-up's bank serial is used once per reseller (among changes not rejected): a second use is refused.

Lock order: the change row, then the reseller row (``wallet.post``), as every wallet debit locks it;
then whatever an ``on_decided`` handler locks (a bank receipt assigned through this change).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...domain.enums import WalletChangeKind, WalletChangeStatus, WalletEntryType
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...domain.money import MAX_AMOUNT, at_most_two_decimals
from ...extensions import db
from ...models import WalletChange
from ...models.types import now_utc
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from . import wallet
from .wallet_memos import WalletMemo

TOPUP, ADJUST = WalletChangeKind.TOPUP, WalletChangeKind.ADJUST
PENDING, APPROVED, REJECTED = WalletChangeStatus.PENDING, WalletChangeStatus.APPROVED, WalletChangeStatus.REJECTED


DecidedHandler = Callable[[WalletChange, Actor], None]
_decided_handlers: list[DecidedHandler] = []


def on_decided(handler: DecidedHandler) -> None:
    """Call ``handler(change, actor)`` when a pending change is approved or rejected, in the deciding
    transaction, after the change (an area that asked for the change on its own behalf, such as an
    assigned bank receipt, follows it; connected in services/connections.py)."""
    if handler not in _decided_handlers:
        _decided_handlers.append(handler)


class DuplicateSerial(StateConflict):
    """The bank serial was already used for a top-up of this reseller."""


class SameUser(StateConflict):
    """The finance user who asked for the change tried to approve or reject it."""


class WouldGoNegative(wallet.InsufficientBalance):
    """The change would take the wallet below 0."""


def _check_amount(kind: str, amount: Decimal) -> None:
    if not amount.is_finite() or not at_most_two_decimals(amount):
        raise ValidationFailed("use at most two decimals", field="amount")
    if amount == 0:
        raise ValidationFailed("the amount must not be 0", field="amount")
    if abs(amount) > MAX_AMOUNT:
        raise ValidationFailed("the amount is too large", field="amount")
    if kind == TOPUP and amount < 0:
        raise ValidationFailed("a top-up must be greater than 0", field="amount")


def serial_used(reseller_id: int, serial: str) -> bool:
    return (db.session.scalar(sa.select(sa.func.count(WalletChange.id)).where(
        WalletChange.reseller_id == reseller_id, WalletChange.bank_serial == serial,
        WalletChange.status != REJECTED)) or 0) > 0


def apply(actor: Actor, change: WalletChange) -> None:
    """Book the change through the one ledger path (caller holds the transaction)."""
    if change.kind == TOPUP:
        serial = change.bank_serial or "—"  # the API's bankSerialNo is optional
        entry = wallet.top_up(actor, change.reseller_id, change.amount, change.memo or f"deposit {serial}",
                              WalletEntryType.TOPUP, reference=change.bank_serial,
                              coded=WalletMemo.top_up(serial, change.memo))
    else:
        entry = wallet.top_up(actor, change.reseller_id, change.amount, change.memo, WalletEntryType.ADJUST,
                              reference=f"adjust-{change.id}", coded=WalletMemo.adjustment(change.memo))
    change.entry_id = entry.id


def _check_request(kind: str, amount: Decimal, memo: str, bank_serial: str | None) -> tuple[str, str | None]:
    if kind not in (TOPUP, ADJUST):
        raise ValidationFailed("unknown kind of change", field="kind")
    _check_amount(kind, amount)
    memo = (memo or "").strip()[:500]
    serial = (bank_serial or "").strip() or None
    if kind == TOPUP and serial is None:
        raise ValidationFailed("give the bank serial of the deposit", field="bankSerial")
    if serial is not None and len(serial) > 64:
        raise ValidationFailed("the bank serial is at most 64 characters", field="bankSerial")
    if kind == ADJUST and not memo:
        raise ValidationFailed("give the reason for the adjustment", field="reason")
    return memo, serial


def request_in_transaction(actor: Actor, user_id: int | None, reseller_id: int, kind: str, amount: Decimal,
                           memo: str, bank_serial: str | None = None) -> WalletChange:
    """``request_change`` in the caller's transaction (an unidentified bank receipt assigned to a
    reseller, reconciliation/receipt_actions.py). The caller turns an ``IntegrityError`` (a concurrent
    top-up with the same serial) into ``DuplicateSerial``."""
    memo, serial = _check_request(kind, amount, memo, bank_serial)
    reseller = wallet.lock_reseller(reseller_id)
    if kind == TOPUP and serial is not None and serial_used(reseller_id, serial):
        raise DuplicateSerial(f"bank serial {serial} was already used for a top-up of this reseller")
    if reseller.wallet_balance + amount < 0:
        raise WouldGoNegative(f"the wallet holds {reseller.wallet_balance:.2f}; "
                              f"{amount:.2f} would take it below 0")
    change = WalletChange(reseller_id=reseller_id, kind=kind, amount=amount,
                          bank_serial=serial if kind == TOPUP else None, memo=memo, status=PENDING,
                          requested_by_user_id=user_id, requested_by=actor.label, created_at=now_utc())
    db.session.add(change)
    db.session.flush()
    pending = abs(amount) > reseller.approval_threshold
    audit.record(actor, "wallet.change_requested", "wallet_change", str(change.id), None,
                 {"reseller": reseller.code, "kind": kind, "amount": f"{amount:.2f}",
                  "bankSerial": serial, "memo": memo, "pending": pending})
    if not pending:
        apply(actor, change)
        change.status, change.decided_at = APPROVED, now_utc()
    return change


def request_change(actor: Actor, user_id: int, reseller_id: int, kind: str, amount: Decimal,
                   memo: str, bank_serial: str | None = None) -> WalletChange:
    """Ask for a top-up (a deposit with its bank serial; the memo optional) or an adjustment (signed; the
    reason required). Applied at once up to the approval threshold, else PENDING. Raises
    ValidationFailed, DuplicateSerial or WouldGoNegative; nothing is stored then."""
    _check_request(kind, amount, memo, bank_serial)
    try:
        with transaction():
            return request_in_transaction(actor, user_id, reseller_id, kind, amount, memo, bank_serial)
    except IntegrityError:  # the partial unique index: a concurrent top-up with the same serial won
        raise DuplicateSerial(f"bank serial {(bank_serial or '').strip()} was already used for a top-up "
                              "of this reseller") from None


def _lock_pending(change_id: int, user_id: int) -> WalletChange:
    change = db.session.execute(sa.select(WalletChange).where(WalletChange.id == change_id)
                                .with_for_update()).scalar_one_or_none()
    if change is None:
        raise NotFound("no such wallet change")
    db.session.refresh(change)
    if change.status != PENDING:
        raise StateConflict(f"this change was already {change.status.lower()}")
    if change.requested_by_user_id == user_id:
        raise SameUser("a second finance user must decide on a change you asked for")
    return change


def approve(actor: Actor, user_id: int, change_id: int) -> WalletChange:
    """A second finance user applies a pending change, once. Raises StateConflict (already decided),
    SameUser, or InsufficientBalance (the wallet no longer holds enough for a decrease)."""
    with transaction():
        change = _lock_pending(change_id, user_id)
        apply(actor, change)
        change.status, change.decided_by_user_id, change.decided_by = APPROVED, user_id, actor.label
        change.decided_at = now_utc()
        audit.record(actor, "wallet.change_approved", "wallet_change", str(change.id), {"status": PENDING},
                     {"status": APPROVED, "amount": f"{change.amount:.2f}"})
        for handler in _decided_handlers:
            handler(change, actor)
        return change


def reject(actor: Actor, user_id: int, change_id: int, reason: str) -> WalletChange:
    """A second finance user refuses a pending change with a reason; the wallet does not move."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("give a reason", field="reason")
    with transaction():
        change = _lock_pending(change_id, user_id)
        change.status, change.decided_by_user_id, change.decided_by = REJECTED, user_id, actor.label
        change.decided_at, change.reject_reason = now_utc(), reason[:500]
        audit.record(actor, "wallet.change_rejected", "wallet_change", str(change.id), {"status": PENDING},
                     {"status": REJECTED, "reason": reason[:500]})
        for handler in _decided_handlers:
            handler(change, actor)
        return change
