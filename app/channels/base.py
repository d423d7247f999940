"""The channel adapter interface and the dataclasses that cross it.

Contract of every adapter:
- It never commits, never sees ORM rows or the Flask request, and imports nothing from the
  services: adapters are leaves (docs/ARCHITECTURE.md).
- ``create_payment`` may move money only where the kind itself is the ledger (WALLET, CREDIT); those
  adapters post through the ``InternalLedgers`` port the service hands them, in the caller's open
  transaction, so the debit and the payment commit or roll back together. HTTP channels (ONLINE)
  only *ask* the bank and must be called outside a database transaction.
- Every call that talks to a bank either returns a definite answer or raises ``ChannelUnavailable``
  (temporary: retry later, nothing is known) — an unknown outcome is never reported as success.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import NamedTuple, Protocol

from ..domain.enums import ChannelPaymentStatus


class ChannelError(Exception):
    """The channel refused the request definitively (bad request, duplicate, limits)."""


class ChannelUnavailable(Exception):
    """Temporary failure (timeout, 5xx, connection refused): nothing is known; try again later."""


class StatementNotReady(ChannelUnavailable):
    """The channel has not published that day's statement yet: ask again later."""


class CallbackRejected(Exception):
    """A callback failed verification (signature, timestamp, amount or order mismatch)."""


@dataclass(frozen=True)
class Capabilities:
    redirects_to_bank: bool = False
    settles_immediately: bool = False  # WALLET, CREDIT
    needs_voucher: bool = False  # WIRE
    supports_refund: bool = True
    supports_partial_refund: bool = True
    async_results: bool = False


@dataclass(frozen=True)
class ChannelConfig:
    id: int
    code: str
    kind: str
    name: str
    config: dict
    secrets: dict  # decrypted; never logged
    confirm_timeout_seconds: int
    expire_seconds: int


@dataclass(frozen=True)
class PaymentPart:
    """One allocation of a payment, for channels that book per order (CREDIT)."""

    transaction_pk: int
    order_pk: int
    order_id: str
    amount: Decimal


class InternalLedgers(Protocol):
    """What an internal-ledger adapter (WALLET, CREDIT) may do to move money; the service hands an
    implementation to ``create_payment``, bound to the caller's open transaction."""

    def debit_wallet(self, reseller_id: int, amount: Decimal, reference: str, actor: str, memo: str) -> int:
        """Take ``amount`` (positive) from the wallet; returns the ledger entry's id. Raises a
        StateConflict-like error when the balance is short."""

    def book_credit(self, reseller_id: int, parts: tuple[PaymentPart, ...], reference: str, actor: str) -> None:
        """Book one credit record per part against the credit line; raises when credit is short."""


@dataclass(frozen=True)
class PaymentRequest:
    channel_payment_no: str  # our id, the bank's "merchant order no"
    amount: Decimal
    reseller_id: int
    reseller_code: str
    subject: str
    notify_url: str
    return_url: str
    expire_seconds: int
    parts: tuple[PaymentPart, ...] = ()  # per-order parts, for channels that book per order (CREDIT)
    actor: str = "system"


@dataclass(frozen=True)
class PaymentStart:
    """What the channel said to a new payment."""

    status: ChannelPaymentStatus  # PROCESSING, or SUCCESS for an internal ledger
    channel_transaction_id: str | None = None
    pay_url: str | None = None
    wire_reference: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class PaymentResult:
    """A payment's state at the channel (query or callback)."""

    status: str  # a GatewayPaymentStatus, as the channel said it
    channel_payment_no: str
    amount: Decimal | None = None
    channel_transaction_id: str | None = None
    completed_at: datetime | None = None
    failure_reason: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class RefundRequest:
    refund_no: str  # our REFUND transaction id
    channel_payment_no: str
    channel_transaction_id: str | None
    amount: Decimal  # positive
    reason: str
    notify_url: str
    reseller_id: int = 0
    original_transaction_pk: int = 0
    actor: str = "system"


@dataclass(frozen=True)
class RefundResult:
    status: str  # a GatewayRefundStatus, as the channel said it
    refund_no: str
    channel_refund_id: str | None = None
    amount: Decimal | None = None
    failure_reason: str | None = None
    event_id: str | None = None


class StatementLine(NamedTuple):  # a tuple: a statement can have a million lines
    channel_transaction_id: str
    channel_payment_no: str
    type: str  # payment | refund | payout
    amount: Decimal
    status: str
    completed_at: datetime | None


@dataclass(frozen=True)
class CallbackEvent:
    kind: str  # payment | refund
    payment: PaymentResult | None = None
    refund: RefundResult | None = None
    raw: dict = field(default_factory=dict)


class ChannelAdapter(ABC):
    kind: str = ""
    capabilities: Capabilities = Capabilities()

    @abstractmethod
    def create_payment(self, cfg: ChannelConfig, req: PaymentRequest,
                       ledgers: InternalLedgers | None = None) -> PaymentStart:
        """Start a payment of ``req.amount``. See the module docstring for what may move money;
        ``ledgers`` is given to the adapters whose capabilities say ``settles_immediately``."""

    def query_payment(self, cfg: ChannelConfig, channel_payment_no: str) -> PaymentResult:
        """The payment's state at the channel. Internal ledgers are settled at once, so they have nothing to ask."""
        raise ChannelError(f"{self.kind} payments are not queried at a channel")

    def refund(self, cfg: ChannelConfig, req: RefundRequest) -> RefundResult:
        raise ChannelError(f"{self.kind} does not refund through the channel")

    def query_refund(self, cfg: ChannelConfig, refund_no: str) -> RefundResult:
        raise ChannelError(f"{self.kind} refunds are not queried at a channel")

    def fetch_statement(self, cfg: ChannelConfig, day: date) -> Iterable[StatementLine]:
        """The day's statement, possibly parsed lazily as it is iterated (read it once)."""
        raise ChannelError(f"{self.kind} has no channel statement")

    def parse_callback(self, cfg: ChannelConfig, headers: dict, body: bytes) -> CallbackEvent:
        raise CallbackRejected(f"{self.kind} channels do not call back")
