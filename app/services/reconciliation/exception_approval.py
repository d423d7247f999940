"""Maker-checker on reconciliation exceptions (docs/DOMAIN.md §8 "Resolving a difference"), the wallet
changes' pattern (ledgers/wallet_changes.py) and, for a wallet credit, the wallet change itself:

- an action that moves more than the approval threshold waits (``pending_action``, who asked, the
  note); a second finance user — never the one who asked (``wallet_changes.SameUser``) — approves it,
  which carries it out once under the exception's lock, or rejects it with a reason (the exception is
  open again, nothing moved);
- an accepted channel SUCCESS we hold as failed waits with its PENDING wallet top-up: approve and
  reject are ``wallet_changes.approve`` / ``reject`` (here or on /finance/wallets) and the exception
  follows in the deciding transaction (``on_wallet_change_decided``, connected in
  services/connections.py).

Lock order: run → exception → channel payment → settlement's order; a wallet decision: change →
reseller → run → exception."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.enums import ChannelPaymentStatus, ReconAction, ReconExceptionState, WalletChangeStatus
from ...domain.errors import NotFound, StateConflict
from ...extensions import db
from ...models import ReconciliationException, ReconciliationRun, WalletChange
from ..audit import log as audit
from ..ledgers import wallet_changes
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from ..settlement import channel_result as settlement
from . import reversal
from .exception_actions import channel_outcome
from .notes import require_note
from .resolution import AlreadyResolved, clear_pending, close, lock


class NothingWaits(StateConflict):
    """The exception does not wait for an approval (never asked, or already decided)."""


def _waiting_change(exc: ReconciliationException) -> int | None:
    if exc.wallet_change_id is None or exc.pending_action is None:
        return None
    status = db.session.scalar(sa.select(WalletChange.status).where(WalletChange.id == exc.wallet_change_id))
    return exc.wallet_change_id if status == WalletChangeStatus.PENDING else None


def _peek(exception_id: int) -> ReconciliationException:
    exc = db.session.get(ReconciliationException, exception_id)
    if exc is None:
        raise NotFound("no such reconciliation exception")
    return exc


def _lock_waiting(exception_id: int, user_id: int) -> tuple[ReconciliationRun, ReconciliationException]:
    run, exc = lock(exception_id)
    if exc.state != ReconExceptionState.OPEN:
        raise AlreadyResolved("the exception is already resolved")
    if exc.pending_action is None:
        raise NothingWaits("the exception does not wait for an approval")
    if exc.requested_by_user_id == user_id:
        raise wallet_changes.SameUser("a second finance user must decide on an action you asked for")
    return run, exc


def approve(actor: Actor, user_id: int, exception_id: int) -> None:
    """Carry out the waiting action, once. Raises NothingWaits, AlreadyResolved, SameUser, or
    StateConflict when the payment is no longer PROCESSING (a reversal: no longer SUCCESS, or
    ``reversal.ReversalRefused``; reject it then)."""
    change_id = _waiting_change(_peek(exception_id))
    db.session.rollback()
    if change_id is not None:
        wallet_changes.approve(actor, user_id, change_id)
        return
    with transaction():
        run, exc = _lock_waiting(exception_id, user_id)
        if exc.wallet_change_id is not None:  # its top-up was decided meanwhile: the exception followed
            raise NothingWaits("the exception does not wait for an approval")
        action = ReconAction(exc.pending_action or "")
        pk = exc.pending_payment_id if action == ReconAction.LINK_PAYMENT else exc.channel_payment_id
        if pk is None:
            raise NothingWaits("the exception does not wait for an approval")
        cp = settlement.lock_channel_payment(pk)
        maker, note = exc.requested_by or "", exc.requested_note or ""
        if action == ReconAction.REVERSE:  # re-checked under the locks: refused (409) when it no longer applies
            reversal.carry_out(run, exc, cp, actor, note, resolved_by=f"{maker} / {actor.label}", requestedBy=maker,
                               approvedBy=actor.label)
            return
        if cp.status != ChannelPaymentStatus.PROCESSING:
            raise StateConflict(f"payment {cp.channel_payment_id} is {cp.status.lower()} now: reject the request")
        settlement.apply(cp, channel_outcome(exc), actor)
        if action == ReconAction.LINK_PAYMENT:
            exc.channel_payment_id = cp.id
        close(run, exc, actor, action, note, {"payment": cp.channel_payment_id, "requestedBy": maker,
                                              "approvedBy": actor.label}, resolved_by=f"{maker} / {actor.label}")


def reject(actor: Actor, user_id: int, exception_id: int, reason: str) -> None:
    """Refuse the waiting action with a reason: the exception is open again, nothing moved."""
    reason = require_note(reason, "reason")
    change_id = _waiting_change(_peek(exception_id))
    db.session.rollback()
    if change_id is not None:
        wallet_changes.reject(actor, user_id, change_id, reason)
        return
    with transaction():
        _, exc = _lock_waiting(exception_id, user_id)
        action, maker = exc.pending_action, exc.requested_by
        clear_pending(exc)
        audit.record(actor, "reconciliation.exception_action_rejected", "recon_exception", str(exc.id),
                     {"action": action, "requestedBy": maker}, {"state": exc.state, "reason": reason})


def on_wallet_change_decided(change: WalletChange, actor: Actor) -> None:
    """A second finance user decided the top-up an exception waits with: approved → RESOLVED
    (ACCEPT_CHANNEL); rejected → open again with nothing waiting."""
    exc_id = db.session.scalar(sa.select(ReconciliationException.id).where(
        ReconciliationException.wallet_change_id == change.id))
    if exc_id is None:
        return
    run, exc = lock(exc_id)
    if exc.state != ReconExceptionState.OPEN or exc.pending_action is None:
        return
    if change.status == WalletChangeStatus.APPROVED:
        maker = exc.requested_by or ""
        close(run, exc, actor, ReconAction.ACCEPT_CHANNEL, exc.requested_note or change.memo or "",
              {"walletChangeId": change.id, "requestedBy": maker, "approvedBy": actor.label},
              resolved_by=f"{maker} / {actor.label}")
    elif change.status == WalletChangeStatus.REJECTED:
        requested_by = exc.requested_by
        clear_pending(exc)
        exc.wallet_change_id = None
        audit.record(actor, "reconciliation.exception_action_rejected", "recon_exception", str(exc.id),
                     {"action": ReconAction.ACCEPT_CHANNEL.value, "walletChangeId": change.id,
                      "requestedBy": requested_by}, {"state": exc.state, "reason": change.reject_reason})
