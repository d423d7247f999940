"""The reseller wallet (企业寄存资金): an append-only ledger whose running balance never goes below 0.

Every function runs in the caller's transaction and locks the reseller row, so concurrent debits
serialise on it; the CHECK constraints (balance_after >= 0, wallet_balance >= 0) back the rule.
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import WalletEntryType
from ...domain.errors import StateConflict, ValidationFailed
from ...domain.event_types import EventType
from ...extensions import db
from ...models import Reseller, WalletEntry
from ...models.types import now_utc
from ..audit import log as audit
from ..platform import outbox
from ..platform.actor import Actor
from .wallet_memos import WalletMemo


class InsufficientBalance(StateConflict):
    pass


def lock_reseller(reseller_id: int) -> Reseller:
    """The reseller's row, locked to change its balances. ``FOR NO KEY UPDATE`` (``key_share``), not
    ``FOR UPDATE``: rows inserted by the same transaction that reference the reseller hold a KEY SHARE
    lock on it, and two refunds of one reseller would each wait for the other's (a deadlock,
    tests/engine/test_reseller_lock.py). The balances are not a key, so the weaker lock suffices."""
    r = db.session.execute(sa.select(Reseller).where(Reseller.id == reseller_id)
                           .with_for_update(key_share=True)).scalar_one_or_none()
    if r is None:
        raise ValidationFailed("reseller does not exist", field="reseller")
    return r


def post(reseller_id: int, amount: Decimal, entry_type: str, *, reference: str | None, actor: str,
         memo: WalletMemo | str = "") -> WalletEntry:
    """Add a signed entry. Raises InsufficientBalance if a debit would take the balance below 0.
    ``memo``: a coded memo (translated on the screens) or a person's own words."""
    if isinstance(memo, str):
        memo = WalletMemo.free_text(memo)
    if amount == 0:
        raise ValidationFailed("a wallet entry needs a non-zero amount", field="amount")
    r = lock_reseller(reseller_id)
    new_balance = r.wallet_balance + amount
    if new_balance < 0:
        raise InsufficientBalance(f"wallet balance {r.wallet_balance:.2f} is less than {-amount:.2f}")
    r.wallet_balance = new_balance
    entry = WalletEntry(reseller_id=reseller_id, entry_type=entry_type, amount=amount, balance_after=new_balance,
                        reference=reference, memo=memo.text[:500], memo_code=memo.code, memo_params=memo.params or None,
                        actor=actor, created_at=now_utc())
    db.session.add(entry)
    db.session.flush()
    return entry


def top_up(actor: Actor, reseller_id: int, amount: Decimal, memo: str,
           entry_type: str = WalletEntryType.TOPUP, *, reference: str | None = None,
           coded: WalletMemo | None = None) -> WalletEntry:
    """Finance tops up (or, with a negative ``amount`` and ADJUST, corrects) a wallet. Caller commits.
    ``memo``: finance's words (required); ``coded``: the memo the reseller reads in their language;
    ``reference``: the bank serial of a deposit."""
    if entry_type == WalletEntryType.TOPUP and amount <= 0:
        raise ValidationFailed("a top-up must be positive", field="amount")
    if not memo.strip():
        raise ValidationFailed("give a reason", field="memo")
    entry = post(reseller_id, amount, entry_type, reference=reference, actor=actor.label, memo=coded or memo)
    after = {"amount": f"{amount:.2f}", "balanceAfter": f"{entry.balance_after:.2f}", "memo": memo}
    if reference is not None:
        after["reference"] = reference
    audit.record(actor, f"wallet.{entry_type.lower()}", "reseller_wallet", str(reseller_id), None, after)
    outbox.emit(EventType.WALLET_CHANGED, "reseller_wallet", str(reseller_id),
                {"amount": f"{amount:.2f}", "balance": f"{entry.balance_after:.2f}", "type": entry_type})
    return entry


def balance(reseller_id: int) -> Decimal:
    return db.session.scalars(sa.select(Reseller.wallet_balance).where(Reseller.id == reseller_id)).one()
