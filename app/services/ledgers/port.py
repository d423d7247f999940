"""The ledgers as internal-ledger channel adapters see them (``channels.base.InternalLedgers``):
the wallet and the credit line, posted in the caller's open transaction."""

from __future__ import annotations

from decimal import Decimal

from ...channels.base import PaymentPart
from ...domain.enums import WalletEntryType
from . import credit_line, wallet
from .wallet_memos import WalletMemo


class ServiceLedgers:
    def debit_wallet(self, reseller_id: int, amount: Decimal, reference: str, actor: str, memo: str) -> int:
        entry = wallet.post(reseller_id, -amount, WalletEntryType.PAYMENT, reference=reference, actor=actor,
                            memo=WalletMemo.payment(memo))
        return entry.id

    def book_credit(self, reseller_id: int, parts: tuple[PaymentPart, ...], reference: str, actor: str) -> None:
        credit_line.book(reseller_id, list(parts), reference=reference, actor=actor)


LEDGERS = ServiceLedgers()
