"""The finance system's wallet top-up through the API (docs/API.md §7): a deposit received at the bank,
booked at once (the upstream system is the bank's record; no second user), idempotent by ``requestId``
per API client, through the same ledger path as the screen (``wallet.top_up``), recorded as an
approved ``wallet_changes`` row so that a bank serial tops up a reseller once whichever way it came."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...domain.errors import NotFound, StateConflict
from ...domain.money import money_str
from ...domain.timeutil import to_shanghai_iso
from ...extensions import db
from ...models import Reseller, WalletChange, WalletEntry
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import idempotency
from ..platform.actor import Actor
from ..platform.unit_of_work import discard, transaction
from . import wallet, wallet_changes

OPERATION = "wallet.top_up"


@dataclass(frozen=True)
class TopUpOutcome:
    view: dict
    status_code: int  # 201 new, 200 a replay
    duplicate: bool


def _view(entry: WalletEntry, reseller_code: str, serial: str | None) -> dict:
    return {"entryId": str(entry.id), "resellerId": reseller_code, "amount": money_str(entry.amount),
            "balance": money_str(entry.balance_after), "bankSerialNo": serial,
            "createdAt": to_shanghai_iso(entry.created_at)}


def _replay(resource_id: str) -> TopUpOutcome:
    entry = db.session.get_one(WalletEntry, int(resource_id))
    change = db.session.scalars(sa.select(WalletChange).where(WalletChange.entry_id == entry.id)).one()
    code = db.session.scalars(sa.select(Reseller.code).where(Reseller.id == entry.reseller_id)).one()
    return TopUpOutcome(_view(entry, code, change.bank_serial), 200, True)


def top_up(actor: Actor, reseller_code: str, request_id: str, amount: Decimal, bank_serial: str | None,
           memo: str, fingerprint: str) -> TopUpOutcome:
    """Book the deposit, or answer the stored entry for a replayed ``request_id``. Raises NotFound
    (unknown reseller), IdempotencyKeyReused, RequestInProgress or DuplicateSerial."""
    assert actor.client_id is not None, "an API top-up without an API client"
    client_id = actor.client_id
    serial = (bank_serial or "").strip() or None
    memo = (memo or "").strip()[:500]
    try:
        with transaction():
            stored = idempotency.claim(client_id, OPERATION, request_id, fingerprint)
            if stored:
                return _replay(stored.resource_id)
            rid = db.session.scalar(sa.select(Reseller.id).where(Reseller.code == reseller_code))
            if rid is None:
                raise NotFound(f"reseller {reseller_code} does not exist")
            wallet.lock_reseller(rid)
            if serial is not None and wallet_changes.serial_used(rid, serial):
                raise wallet_changes.DuplicateSerial(
                    f"bank serial {serial} was already used for a top-up of this reseller")
            change = WalletChange(reseller_id=rid, kind=wallet_changes.TOPUP, amount=amount, bank_serial=serial,
                                  memo=memo, status=wallet_changes.PENDING, requested_by_user_id=None,
                                  requested_by=actor.label, created_at=now_utc())
            db.session.add(change)
            db.session.flush()
            audit.record(actor, "wallet.change_requested", "wallet_change", str(change.id), None,
                         {"reseller": reseller_code, "kind": wallet_changes.TOPUP, "amount": money_str(amount),
                          "bankSerial": serial, "memo": memo, "requestId": request_id, "pending": False})
            wallet_changes.apply(actor, change)
            change.status, change.decided_at = wallet_changes.APPROVED, now_utc()
            entry = db.session.get_one(WalletEntry, change.entry_id)
            idempotency.store(client_id, OPERATION, request_id, fingerprint, 201, str(entry.id))
            return TopUpOutcome(_view(entry, reseller_code, serial), 201, False)
    except IntegrityError:
        discard()
    # A concurrent request won: the same requestId (a replay) or the same serial.
    with transaction():
        stored = idempotency.lookup(client_id, OPERATION, request_id, fingerprint)
        if stored:
            return _replay(stored.resource_id)
    raise StateConflict(f"bank serial {serial} was already used for a top-up of this reseller")
