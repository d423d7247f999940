"""The body of a signed callback (sandbox/PROTOCOL.md), checked field by field before anything reads
it: a correct signature says who sent the body, not that it is well formed. A gateway with a bug (or
a leaked secret) must get a 400 naming the field, never a server error, and nothing it sent may reach
the database in a shape the columns cannot hold (docs/SECURITY.md "Callbacks in")."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictStr, ValidationError

from ..base import CallbackRejected, PaymentResult, RefundResult

# Column widths of what a callback's fields are compared with or stored in (app/models).
ORDER_NO_LENGTH = 32      # channel_payments.channel_payment_id, transactions.transaction_id
CHANNEL_ID_LENGTH = 64    # channel_transaction_id
EVENT_ID_LENGTH = 128     # channel_events.event_key
STATUS_LENGTH = 32
REASON_LENGTH = 2000      # cut to the column's width where it is stored (settlement)
MAX_AMOUNT = Decimal("9999999999999.99")


def _storable(text: str) -> str:
    """No NUL (PostgreSQL text cannot hold it) and no lone surrogate (not UTF-8)."""
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode text") from None
    return text


def _amount(value: Any) -> Decimal:
    """A finite amount in yuan: a JSON number (read as Decimal) or a decimal string; never a bool."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError("must be a decimal number")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError("must be a decimal number") from None
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise ValueError("is out of range")
    return amount


def _time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 time")
    try:
        return datetime.fromisoformat(_storable(value))
    except ValueError:
        raise ValueError("must be an ISO 8601 time") from None


OrderNo = Annotated[StrictStr, Field(min_length=1, max_length=ORDER_NO_LENGTH), AfterValidator(_storable)]
ChannelId = Annotated[StrictStr, Field(min_length=1, max_length=CHANNEL_ID_LENGTH), AfterValidator(_storable)]
EventId = Annotated[StrictStr, Field(min_length=1, max_length=EVENT_ID_LENGTH), AfterValidator(_storable)]
Status = Annotated[StrictStr, Field(min_length=1, max_length=STATUS_LENGTH), AfterValidator(_storable)]
Reason = Annotated[StrictStr, Field(max_length=REASON_LENGTH), AfterValidator(_storable)]
Amount = Annotated[Decimal, BeforeValidator(_amount)]
Time = Annotated[datetime | None, BeforeValidator(_time)]


class _Callback(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: Status
    amount: Amount
    eventId: EventId
    failReason: Reason | None = None


class PaymentCallback(_Callback):
    type: Literal["payment"]
    merchantOrderNo: OrderNo
    gatewayTxnId: ChannelId | None = None
    paidAt: Time = None

    def result(self) -> PaymentResult:
        return PaymentResult(status=self.status, channel_payment_no=self.merchantOrderNo, amount=self.amount,
                             channel_transaction_id=self.gatewayTxnId, completed_at=self.paidAt,
                             failure_reason=self.failReason, event_id=self.eventId)


class RefundCallback(_Callback):
    type: Literal["refund"]
    merchantRefundNo: OrderNo
    refundId: ChannelId | None = None

    def result(self) -> RefundResult:
        return RefundResult(status=self.status, refund_no=self.merchantRefundNo, channel_refund_id=self.refundId,
                            amount=self.amount, failure_reason=self.failReason, event_id=self.eventId)


CallbackT = TypeVar("CallbackT", PaymentCallback, RefundCallback)


def parse(data: dict[str, Any], model: type[CallbackT]) -> CallbackT:
    """``data`` as a callback of that kind; CallbackRejected naming the first bad field otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise CallbackRejected(f"malformed callback: {where} {first['msg']}") from None
