"""Finance's decisions on an unidentified bank receipt (docs/DOMAIN.md "Wire auto-match"), each with a
required note, an audit entry, and the receipt's row locked first, so two finance users acting on one
receipt at once make one effect (the second finds it decided: ``StateConflict``):

- **accept** a suggested WIRE payment, or **link** it to a payment whose number or reference code
  finance types: the wire is confirmed through the voucher confirm's path
  (``vouchers/review.apply_received``) with the line's amount as the received amount (more: the excess
  to the wallet; less: only when finance accepts the shortfall); the receipt becomes MATCHED;
- **assign** it to a reseller: a wallet top-up with the bank reference as its serial, through the
  wallet's own changes (``ledgers/wallet_changes``: the one ledger path, ``wallet.changed``, and its
  maker-checker: above the reseller's approval threshold the top-up waits for a second finance user,
  and the receipt with it; ``on_wallet_change_decided`` follows the decision); ASSIGNED;
- **return** it (the bank sent the money back): RETURNED with the reason; no money moves here.

Lock order: receipt → channel payment → (settlement's order) and receipt → reseller; a decision on a
pending top-up locks the change, the reseller, then the receipt (the receipt is then waiting, so
nothing else holds it for long: every action refuses a receipt that waits)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...domain.enums import BankReceiptState, ChannelKind, ChannelPaymentStatus, WalletChangeStatus
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...domain.wire_reference import normalise_reference
from ...extensions import db
from ...models import BankReceipt, ChannelPayment, Reseller, WalletChange
from ...models.types import now_utc
from ..audit import log as audit
from ..ledgers import wallet_changes
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from ..settlement import channel_result as settlement
from ..vouchers.review import apply_received
from .notes import require_note

SHORTFALL_ACCEPT = "accept"


class AlreadyDecided(StateConflict):
    """The receipt is no longer open (another finance user decided it), or waits for an approval."""


class PaymentNotOpen(StateConflict):
    """The payment named is not waiting for money: final, or still waiting for its approval."""


def _lock_open(receipt_id: int) -> BankReceipt:
    r = db.session.execute(sa.select(BankReceipt).where(BankReceipt.id == receipt_id)
                           .with_for_update()).scalar_one_or_none()
    if r is None:
        raise NotFound("no such bank receipt")
    db.session.refresh(r)
    if r.state != BankReceiptState.OPEN:
        raise AlreadyDecided(f"the receipt is already {r.state.lower()}")
    if waiting_change(r) is not None:
        raise AlreadyDecided("the receipt waits for a second finance user's approval")
    return r


def waiting_change(r: BankReceipt) -> WalletChange | None:
    """The top-up of an assignment that waits for a second finance user, if any."""
    if r.wallet_change_id is None:
        return None
    change = db.session.get(WalletChange, r.wallet_change_id)
    return change if change is not None and change.status == WalletChangeStatus.PENDING else None


def find_wire_payment(text: str) -> int:
    """The WIRE channel payment a finance user names by its number (``CP…``) or its reference code
    (normalised as in a memo). Raises ValidationFailed (field ``payment``)."""
    code = normalise_reference(text or "")
    if not code:
        raise ValidationFailed("enter the payment number or reference code", field="payment")
    if len(code) > 32:
        raise ValidationFailed("no wire payment has this number or reference code", field="payment")
    pk = db.session.scalar(sa.select(ChannelPayment.id).where(
        ChannelPayment.channel_kind == ChannelKind.WIRE.value,
        sa.or_(ChannelPayment.channel_payment_id == code, ChannelPayment.wire_reference == code)))
    if pk is None:
        raise ValidationFailed("no wire payment has this number or reference code", field="payment")
    return int(pk)


def _resolve(r: BankReceipt, actor: Actor, state: BankReceiptState, note: str) -> None:
    r.state, r.resolved_by, r.resolved_at, r.resolution_note = state.value, actor.label, now_utc(), note


def accept(actor: Actor, receipt_id: int, payment: str, note: str, shortfall: str | None = None) -> BankReceipt:
    """Confirm the WIRE payment named by ``payment`` (a suggestion's number or one finance typed) with
    the receipt's amount; the receipt becomes MATCHED. Less than expected needs ``shortfall='accept'``
    (the existing rule: applied earliest deadline first, the rest fails and is released)."""
    note = require_note(note)
    cp_pk = find_wire_payment(payment)
    with transaction():
        r = _lock_open(receipt_id)
        cp = settlement.lock_channel_payment(cp_pk)
        if cp.status != ChannelPaymentStatus.PROCESSING:  # final, or still waiting for its approval
            raise PaymentNotOpen(f"payment {cp.channel_payment_id} is {cp.status.lower()}, not waiting for money")
        if r.amount < cp.amount and shortfall != SHORTFALL_ACCEPT:
            raise ValidationFailed(f"{r.amount:.2f} arrived, less than the expected {cp.amount:.2f}: "
                                   "accept the shortfall or choose another action", field="shortfall")
        before = {"state": r.state, "reason": r.reason}
        _resolve(r, actor, BankReceiptState.MATCHED, note)
        r.channel_payment_id = cp.id
        apply_received(cp, r.amount, SHORTFALL_ACCEPT if r.amount < cp.amount else None, actor,
                       "wire.receipt_accepted")
        suggested = any(s.get("channelPaymentId") == cp.channel_payment_id for s in (r.suggestions or []))
        audit.record(actor, "bank_receipt.matched", "bank_receipt", str(r.id), before,
                     {"state": r.state, "channelPaymentId": cp.channel_payment_id, "amount": f"{r.amount:.2f}",
                      "expected": f"{cp.amount:.2f}", "bankReference": r.bank_reference,
                      "suggested": suggested, "note": note})
        return r


def _reseller_id(reseller: str) -> int:
    text = (reseller or "").strip()
    if not text:
        raise ValidationFailed("choose the reseller", field="reseller")
    pk = db.session.scalar(sa.select(Reseller.id).where(Reseller.code == text))
    if pk is None:
        raise ValidationFailed("no reseller has this code", field="reseller")
    return int(pk)


def assign(actor: Actor, user_id: int | None, receipt_id: int, reseller: str, note: str) -> BankReceipt:
    """Credit the receipt to ``reseller``'s wallet (by its code) as a top-up whose serial is the bank
    reference. At most the reseller's approval threshold: ASSIGNED at once; above it the top-up
    waits for a second finance user and the receipt stays OPEN, waiting with it. Raises
    ValidationFailed, AlreadyDecided, ``wallet_changes.DuplicateSerial``."""
    note = require_note(note)
    reseller_pk = _reseller_id(reseller)
    try:
        with transaction():
            r = _lock_open(receipt_id)
            change = wallet_changes.request_in_transaction(
                actor, user_id, reseller_pk, wallet_changes.TOPUP, Decimal(r.amount), note, r.bank_reference)
            r.reseller_id, r.wallet_change_id = reseller_pk, change.id
            waiting = change.status == WalletChangeStatus.PENDING
            if not waiting:
                _resolve(r, actor, BankReceiptState.ASSIGNED, note)
            else:
                r.resolution_note = note
            audit.record(actor, "bank_receipt.assign_requested" if waiting else "bank_receipt.assigned",
                         "bank_receipt", str(r.id), {"state": BankReceiptState.OPEN.value},
                         {"state": r.state, "reseller": reseller.strip(), "walletChangeId": change.id,
                          "amount": f"{r.amount:.2f}", "bankReference": r.bank_reference,
                          "waitingForApproval": waiting, "note": note})
            return r
    except IntegrityError:  # a concurrent top-up of this reseller with the same serial won
        raise wallet_changes.DuplicateSerial("this bank reference was already credited to the reseller") from None


def on_wallet_change_decided(change: WalletChange, actor: Actor) -> None:
    """A second finance user decided a pending top-up (here or on /finance/wallets): its receipt, if
    it has one, follows in the same transaction: approved → ASSIGNED; rejected → OPEN again."""
    r = db.session.execute(sa.select(BankReceipt).where(BankReceipt.wallet_change_id == change.id)
                           .with_for_update()).scalar_one_or_none()
    if r is None or r.state != BankReceiptState.OPEN:
        return
    if change.status == WalletChangeStatus.APPROVED:
        _resolve(r, actor, BankReceiptState.ASSIGNED, r.resolution_note or change.memo or "")
        audit.record(actor, "bank_receipt.assigned", "bank_receipt", str(r.id),
                     {"state": BankReceiptState.OPEN.value},
                     {"state": r.state, "walletChangeId": change.id, "approvedBy": actor.label})
    elif change.status == WalletChangeStatus.REJECTED:
        reseller_id = r.reseller_id
        r.reseller_id, r.wallet_change_id, r.resolution_note = None, None, None
        audit.record(actor, "bank_receipt.assign_rejected", "bank_receipt", str(r.id),
                     {"walletChangeId": change.id, "resellerId": reseller_id},
                     {"state": r.state, "reason": change.reject_reason})


def pending_change_id(receipt_id: int) -> int:
    """The waiting top-up of an assigned receipt, for its approval or rejection (which go through
    ``wallet_changes.approve`` / ``reject``: the one maker-checker). Raises NotFound, AlreadyDecided."""
    r = db.session.get(BankReceipt, receipt_id)
    if r is None:
        raise NotFound("no such bank receipt")
    change = waiting_change(r)
    if change is None:
        raise AlreadyDecided("the receipt does not wait for an approval")
    return change.id


def return_receipt(actor: Actor, receipt_id: int, reason: str) -> BankReceipt:
    """The money was sent back to the payer: RETURNED with the reason; nothing else moves."""
    reason = require_note(reason, "reason")
    with transaction():
        r = _lock_open(receipt_id)
        _resolve(r, actor, BankReceiptState.RETURNED, reason)
        audit.record(actor, "bank_receipt.returned", "bank_receipt", str(r.id), {"state": BankReceiptState.OPEN.value},
                     {"state": r.state, "amount": f"{r.amount:.2f}", "bankReference": r.bank_reference,
                      "reason": reason})
        return r


def waiting(receipts: list[BankReceipt]) -> dict[int, tuple[WalletChange, str]]:
    """{receipt id: (its waiting top-up, the reseller's code)} for the receipts that wait for approval."""
    ids = [r.wallet_change_id for r in receipts if r.wallet_change_id is not None]
    if not ids:
        return {}
    rows = db.session.execute(sa.select(WalletChange, Reseller.code)
                              .join(Reseller, Reseller.id == WalletChange.reseller_id)
                              .where(WalletChange.id.in_(ids), WalletChange.status == WalletChangeStatus.PENDING)).all()
    by_change = {change.id: (change, code) for change, code in rows}
    return {r.id: by_change[r.wallet_change_id] for r in receipts if r.wallet_change_id in by_change}


def reseller_choices() -> list[tuple[str, str]]:
    """(code, name) of every reseller, for the assign field's list."""
    return [(code, name) for code, name in db.session.execute(
        sa.select(Reseller.code, Reseller.name).order_by(Reseller.code)).all()]
