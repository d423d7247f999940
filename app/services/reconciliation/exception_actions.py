"""Finance's actions on a reconciliation exception, each offered only where it fits the class and the
payment's state now (``actions_for``), each with a required note, an audit entry, and the exception
kept (RESOLVED with who, when, why and the action; resolution.py). Money moves only through the
existing paths, never by writing a balance:

- **REQUERY** (ONLINE, our payment still PROCESSING): the ONLINE adapter's query through the
  compensation path (``settlement/compensation.refresh``: the one code path with callbacks); a final
  answer settles the payment and resolves the exception, any other leaves it open (audited);
- **ACCEPT_CHANNEL**: the channel's figure is taken. Our payment PROCESSING (STATUS_MISMATCH, or an
  AMOUNT_MISMATCH): settled through ``settlement/channel_result`` with the channel's status and, for a
  success, its amount as the received amount (more: the excess to the wallet; less: applied earliest
  deadline first, the rest fails). A channel SUCCESS we hold as FAILED / EXPIRED / CANCELLED (a final
  payment never settles again): the money the channel took is credited to the reseller's wallet as a
  top-up through ``ledgers/wallet_changes`` (its serial the channel transaction id, once per reseller);
- **LINK_PAYMENT** (MISSING_IN_SYSTEM: the line names a number that is not ours): the line is tied to
  the payment of this channel finance names; one still PROCESSING is settled with the line (same
  amount), a final one is only linked when it agrees with the line;
- **REVERSE** (MISSING_IN_CHANNEL, or AMOUNT_MISMATCH with the channel lower; our payment SUCCESS):
  what the channel did not take comes out of our records (reversal.py);
- **WRITE_OFF** (every class): resolved with the reason, nothing moves (``resolution.resolve``).

Maker-checker (exception_approval.py), the wallet changes' pattern: an action that moves more than the
payment's reseller's approval threshold waits (``pending_action``) for a second finance user, never
the one who asked (``wallet_changes.SameUser``); the wallet credit uses the wallet change's own
PENDING state and the exception waits with it.

Lock order: run → exception → channel payment → settlement's order (orders → reseller); the wallet
credit: run → exception → reseller (wallet_changes)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...domain.enums import (
    ChannelKind,
    ChannelPaymentStatus,
    GatewayPaymentStatus,
    ReconAction,
    ReconClass,
    ReconExceptionState,
    WalletChangeStatus,
)
from ...domain.errors import NotFound, ValidationFailed
from ...extensions import db
from ...models import ChannelPayment, PaymentTransaction, ReconciliationException, ReconciliationRun, Reseller
from ..audit import log as audit
from ..ledgers import wallet_changes
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from ..settlement import channel_result as settlement
from ..settlement import compensation
from . import resolution, reversal
from .notes import require_note
from .resolution import RESOLVED, WAITING, ActionDoesNotFit, close, lock_open, wait_for_approval  # noqa: F401

SUCCESS, FAILED = GatewayPaymentStatus.SUCCESS.value, GatewayPaymentStatus.FAILED.value
_OURS_FAILED = (ChannelPaymentStatus.FAILED, ChannelPaymentStatus.EXPIRED, ChannelPaymentStatus.CANCELLED)
_DISAGREE = (ReconClass.STATUS_MISMATCH, ReconClass.AMOUNT_MISMATCH)


def actions_for(exc: ReconciliationException, channel_kind: str, payment_status: str | None,
                received: Decimal | None = None) -> list[str]:
    """The actions that fit an open exception, given its channel's kind and its payment's status now
    (and, for a reversal, what we hold as received: ``reversal.recorded``)."""
    if exc.state != ReconExceptionState.OPEN or exc.pending_action is not None:
        return []
    out: list[str] = []
    if payment_status == ChannelPaymentStatus.PROCESSING and exc.exception_class in _DISAGREE:
        if channel_kind == ChannelKind.ONLINE:
            out.append(ReconAction.REQUERY.value)
        if exc.channel_status in (SUCCESS, FAILED):
            out.append(ReconAction.ACCEPT_CHANNEL.value)
    elif (exc.exception_class == ReconClass.STATUS_MISMATCH and exc.channel_status == SUCCESS
          and payment_status in _OURS_FAILED):
        out.append(ReconAction.ACCEPT_CHANNEL.value)
    if exc.exception_class == ReconClass.MISSING_IN_SYSTEM:
        out.append(ReconAction.LINK_PAYMENT.value)
    if reversal.applies(exc, payment_status, received):
        out.append(ReconAction.REVERSE.value)
    out.append(ReconAction.WRITE_OFF.value)
    return out


def _fits(run: ReconciliationRun, exc: ReconciliationException, action: ReconAction,
          cp: ChannelPayment | None) -> None:
    if action.value not in actions_for(exc, run.channel_kind, cp.status if cp is not None else None,
                                       reversal.recorded(cp) if cp is not None else None):
        raise ActionDoesNotFit("this action does not fit this difference", field="action")


def reseller_of(cp: ChannelPayment) -> Reseller:
    rid = db.session.scalar(sa.select(PaymentTransaction.reseller_id).where(
        PaymentTransaction.channel_payment_id == cp.id).limit(1))
    if rid is None:
        raise NotFound("the payment has no transaction")
    return db.session.get_one(Reseller, rid)


def channel_outcome(exc: ReconciliationException, channel_transaction_id: str | None = None) -> settlement.Outcome:
    """The channel's figure as a settlement outcome: SUCCESS with the amount it took, or FAILED."""
    if exc.channel_status == SUCCESS:
        return settlement.Outcome(status=ChannelPaymentStatus.SUCCESS, received_amount=exc.channel_amount,
                                  channel_transaction_id=channel_transaction_id or exc.channel_transaction_id,
                                  reason="accepted from the channel's statement")
    return settlement.Outcome(status=ChannelPaymentStatus.FAILED, reason="the channel's statement says failed")


def _money(exc: ReconciliationException) -> Decimal:
    """What taking the channel's figure moves (a failure moves nothing: reservations are released)."""
    if exc.channel_status != SUCCESS:
        return Decimal("0.00")
    amount = exc.channel_amount
    if amount is None or not amount.is_finite() or amount <= 0:
        raise ValidationFailed("the channel's line has no amount above 0 to accept", field="action")
    return amount


def _lock_payment(exc: ReconciliationException) -> ChannelPayment | None:
    return settlement.lock_channel_payment(exc.channel_payment_id) if exc.channel_payment_id is not None else None


def accept_channel(actor: Actor, user_id: int | None, exception_id: int, note: str) -> str:
    """Take the channel's figure. Returns ``resolved`` or ``waiting`` (for a second finance user)."""
    note = require_note(note)
    try:
        with transaction():
            run, exc = lock_open(exception_id)
            cp = _lock_payment(exc)
            _fits(run, exc, ReconAction.ACCEPT_CHANNEL, cp)
            assert cp is not None  # an action that fits has a payment
            amount = _money(exc)
            reseller = reseller_of(cp)
            if cp.status == ChannelPaymentStatus.PROCESSING:
                if amount > reseller.approval_threshold:
                    return wait_for_approval(exc, ReconAction.ACCEPT_CHANNEL, actor, user_id, note,
                                             amount=f"{amount:.2f}")
                settlement.apply(cp, channel_outcome(exc), actor)
                close(run, exc, actor, ReconAction.ACCEPT_CHANNEL, note,
                      {"payment": cp.channel_payment_id, "settledAs": exc.channel_status, "amount": f"{amount:.2f}"})
                return RESOLVED
            change = wallet_changes.request_in_transaction(
                actor, user_id, reseller.id, wallet_changes.TOPUP, amount, note, exc.channel_transaction_id)
            exc.wallet_change_id = change.id
            if change.status == WalletChangeStatus.PENDING:
                return wait_for_approval(exc, ReconAction.ACCEPT_CHANNEL, actor, user_id, note,
                                         walletChangeId=change.id, amount=f"{amount:.2f}")
            close(run, exc, actor, ReconAction.ACCEPT_CHANNEL, note,
                  {"payment": cp.channel_payment_id, "walletChangeId": change.id, "amount": f"{amount:.2f}"})
            return RESOLVED
    except IntegrityError:  # a concurrent top-up of this reseller with the same serial won
        raise wallet_changes.DuplicateSerial("this channel transaction was already credited to the reseller") \
            from None


def _payment_of_channel(run: ReconciliationRun, text: str | None) -> int:
    number = (text or "").strip().upper()
    if not number:
        raise ValidationFailed("enter the number of the payment the line belongs to", field="payment")
    pk = db.session.scalar(sa.select(ChannelPayment.id).where(ChannelPayment.channel_id == run.channel_id,
                                                              ChannelPayment.channel_payment_id == number[:64]))
    if pk is None:
        raise ValidationFailed("no payment of this channel has this number", field="payment")
    return int(pk)


def _check_link(exc: ReconciliationException, cp: ChannelPayment) -> bool:
    """Whether linking ``cp`` moves money (it is PROCESSING); refuses a payment that disagrees with the line."""
    if exc.channel_status == SUCCESS:
        if exc.channel_amount != cp.amount:
            raise ValidationFailed(f"the channel took {exc.channel_amount or 0:.2f}; payment "
                                   f"{cp.channel_payment_id} is {cp.amount:.2f}", field="payment")
        if cp.status == ChannelPaymentStatus.PROCESSING:
            return True
        if cp.status == ChannelPaymentStatus.SUCCESS and cp.channel_transaction_id in (
                None, exc.channel_transaction_id):
            return False
    elif cp.status in _OURS_FAILED or cp.status == ChannelPaymentStatus.PROCESSING:
        return cp.status == ChannelPaymentStatus.PROCESSING
    raise ValidationFailed(f"payment {cp.channel_payment_id} is {cp.status.lower()}: it does not agree with "
                           "the line", field="payment")


def link_payment(actor: Actor, user_id: int | None, exception_id: int, payment: str | None, note: str) -> str:
    """Tie a MISSING_IN_SYSTEM line to the payment of its channel numbered ``payment``."""
    note = require_note(note)
    with transaction():
        run, exc = lock_open(exception_id)
        _fits(run, exc, ReconAction.LINK_PAYMENT, None)
        cp = settlement.lock_channel_payment(_payment_of_channel(run, payment))
        moves = _check_link(exc, cp)
        if moves:
            amount = _money(exc)
            if amount > reseller_of(cp).approval_threshold:
                exc.pending_payment_id = cp.id
                return wait_for_approval(exc, ReconAction.LINK_PAYMENT, actor, user_id, note,
                                         payment=cp.channel_payment_id, amount=f"{amount:.2f}")
            settlement.apply(cp, channel_outcome(exc), actor)
        exc.channel_payment_id = cp.id
        close(run, exc, actor, ReconAction.LINK_PAYMENT, note, {"payment": cp.channel_payment_id, "settled": moves})
        return RESOLVED


def requery(actor: Actor, exception_id: int, note: str) -> str:
    """Ask the channel again (the compensation query). Returns ``resolved`` when its answer settled the
    payment, else what the query found (``pending``, ``retry``, ``mismatch``, ``unknown``): still open."""
    note = require_note(note)
    with transaction():
        run, exc = lock_open(exception_id)
        cp = _lock_payment(exc)
        _fits(run, exc, ReconAction.REQUERY, cp)
        assert cp is not None
        cp_pk = cp.id
    answer = compensation.refresh(cp_pk, actor)  # outside the locks: the bank is asked over the network
    with transaction():
        run, exc = lock_open(exception_id)
        cp = settlement.lock_channel_payment(cp_pk)
        if cp.status != ChannelPaymentStatus.PROCESSING:
            close(run, exc, actor, ReconAction.REQUERY, note,
                  {"payment": cp.channel_payment_id, "answer": answer, "status": cp.status})
            return RESOLVED
        audit.record(actor, "reconciliation.exception_requeried", "recon_exception", str(exc.id), None,
                     {"payment": cp.channel_payment_id, "answer": answer, "note": note})
        return answer


def act(actor: Actor, user_id: int | None, exception_id: int, action: str, note: str,
        payment: str | None = None) -> str:
    """The screen's one entry: the action finance chose, by name."""
    if action == ReconAction.WRITE_OFF:
        resolution.resolve(actor, exception_id, note)
        return RESOLVED
    if action == ReconAction.ACCEPT_CHANNEL:
        return accept_channel(actor, user_id, exception_id, note)
    if action == ReconAction.LINK_PAYMENT:
        return link_payment(actor, user_id, exception_id, payment, note)
    if action == ReconAction.REQUERY:
        return requery(actor, exception_id, note)
    if action == ReconAction.REVERSE:
        return reversal.reverse(actor, user_id, exception_id, note)
    raise ActionDoesNotFit("choose an action", field="action")


@dataclass(frozen=True)
class RowState:
    """What the screen shows of an exception beyond the finance API's read model."""

    offered: list[str]  # the actions that fit it now (empty: resolved, or waiting)
    resolution_action: str | None
    pending_action: str | None
    requested_by: str | None
    requested_note: str | None


def screen_states(rows: list[dict]) -> dict[int, RowState]:
    """{exception id: its RowState} for the screen's rows (the read model's dicts), one query."""
    ids = [int(r["exceptionId"]) for r in rows]
    if not ids:
        return {}
    found = db.session.execute(
        sa.select(ReconciliationException, ReconciliationRun.channel_kind, ChannelPayment.status,
                  sa.func.coalesce(ChannelPayment.received_amount, ChannelPayment.amount))
        .join(ReconciliationRun, ReconciliationRun.id == ReconciliationException.run_id)
        .outerjoin(ChannelPayment, ChannelPayment.id == ReconciliationException.channel_payment_id)
        .where(ReconciliationException.id.in_(ids))).all()
    return {exc.id: RowState(actions_for(exc, kind, status, received), exc.resolution_action,
                             exc.pending_action, exc.requested_by, exc.requested_note)
            for exc, kind, status, received in found}

