"""What a wallet entry says about itself: a code with its parameters, stored beside an English text.

The screens translate the code into the reader's language (``app/labels.py`` ``wallet_memo``); the
English text is what the audit log, exports and the API carry. Free text that a person typed (a
top-up's memo, an adjustment's reason) has no code and is shown as it was written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class MemoCode(StrEnum):
    EXCESS_OF_WIRE = "EXCESS_OF_WIRE"  # more arrived by wire than the payment asked: {reference}
    REPAYMENT_ABOVE_OUTSTANDING = "REPAYMENT_ABOVE_OUTSTANDING"  # {record}
    REFUND = "REFUND"  # a WALLET refund part: {refund}
    REFUND_CREDIT_ALREADY_REPAID = "REFUND_CREDIT_ALREADY_REPAID"  # a CREDIT refund already repaid: {refund}
    PAYMENT = "PAYMENT"  # paid from the wallet: {subject}
    TOPUP = "TOPUP"  # a deposit finance received: {serial}, {note} (finance's words, may be empty)
    ADJUSTMENT = "ADJUSTMENT"  # finance corrected the wallet: {reason} (finance's words)


@dataclass(frozen=True)
class WalletMemo:
    text: str  # English, for the audit log and exports
    code: MemoCode | None = None
    params: dict = field(default_factory=dict)

    @classmethod
    def free_text(cls, text: str) -> WalletMemo:
        return cls(text)

    @classmethod
    def excess_of_wire(cls, reference: str | None) -> WalletMemo:
        return cls(f"excess of wire {reference}", MemoCode.EXCESS_OF_WIRE, {"reference": reference or ""})

    @classmethod
    def repayment_above_outstanding(cls, record: str) -> WalletMemo:
        return cls(f"repayment above outstanding on {record}", MemoCode.REPAYMENT_ABOVE_OUTSTANDING,
                   {"record": record})

    @classmethod
    def refund(cls, refund_order_id: str) -> WalletMemo:
        return cls(f"refund {refund_order_id}", MemoCode.REFUND, {"refund": refund_order_id})

    @classmethod
    def refund_credit_already_repaid(cls, refund_order_id: str) -> WalletMemo:
        return cls(f"refund {refund_order_id}: credit already repaid", MemoCode.REFUND_CREDIT_ALREADY_REPAID,
                   {"refund": refund_order_id})

    @classmethod
    def payment(cls, subject: str) -> WalletMemo:
        return cls(subject, MemoCode.PAYMENT, {"subject": subject})

    @classmethod
    def top_up(cls, serial: str, note: str) -> WalletMemo:
        text = f"deposit received, bank serial {serial}" + (f": {note}" if note else "")
        return cls(text, MemoCode.TOPUP, {"serial": serial, "note": note})

    @classmethod
    def adjustment(cls, reason: str) -> WalletMemo:
        return cls(f"adjustment: {reason}", MemoCode.ADJUSTMENT, {"reason": reason})
