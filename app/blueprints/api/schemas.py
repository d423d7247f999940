"""Request and response schemas of the JSON API. Requests are validated with these models and
the OpenAPI document is generated from them (``openapi.py``)."""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator
from pydantic_core import PydanticCustomError

from ...domain.enums import (
    CreditLineStatus,
    CreditRecordStatus,
    OrderAction,
    PaymentStatus,
    PaymentType,
    RefundStatus,
    ResellerStatus,
    TransactionStatus,
    TransactionType,
)
from .fields import DateIn, DateTimeIn, Ident, MoneyIn, MoneyInNonNeg, MoneyOut, Tags, TimeOut, text

# No list has this many pages (at 200 a page, 20 million rows), and the offset of the last one
# stays far inside every database's integer range: a larger page number is a 422, not a 500.
MAX_PAGE = 100_000

def _null_means_absent(schema: dict) -> None:
    """docs/API.md §1: ``null`` stands for an optional field left out, so the document lets every
    optional field be null (pydantic says so only of those whose default is None)."""
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        types = [t for a in prop.get("anyOf", [prop]) for t in (a.get("type") if isinstance(a.get("type"), list)
                                                                else [a.get("type")])]
        if name not in required and "null" not in types:
            schema["properties"][name] = {"anyOf": [prop, {"type": "null"}]}


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=False, json_schema_extra=_null_means_absent)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- payment orders ---------------------------------------------------------------------------

class CreatePaymentOrder(Request):
    requestId: Annotated[str, text(128, 1)] | None = None
    orderId: Ident
    resellerId: Ident
    paymentType: PaymentType
    paymentAmount: MoneyIn
    paymentDeadline: DateTimeIn | None = None
    businessDesc: Annotated[str, text(500)] | None = None
    priority: StrictInt | None = Field(default=None, ge=0, le=99)
    relatedBusinessId: Ident | None = None
    relatedBusinessType: Annotated[str, text(32)] | None = None
    businessExpireDate: DateIn | None = None
    tags: Tags | None = None
    creditRecordId: Ident | None = None

    @model_validator(mode="after")
    def _repayment_fields(self):
        if self.paymentType == PaymentType.CREDIT_REPAYMENT:
            if not self.creditRecordId:
                raise _field_error("creditRecordId", "is required for CREDIT_REPAYMENT")
            if self.relatedBusinessId and self.relatedBusinessId != self.creditRecordId:
                raise _field_error("relatedBusinessId", "is the creditRecordId for CREDIT_REPAYMENT")
        elif self.creditRecordId:
            raise _field_error("creditRecordId", "is only allowed for CREDIT_REPAYMENT")
        return self


class UpdatePaymentOrder(Request):
    paymentAmount: MoneyIn | None = None
    paymentDeadline: DateTimeIn | None = None
    businessDesc: Annotated[str, text(500)] | None = None
    priority: StrictInt | None = Field(default=None, ge=0, le=99)
    tags: Tags | None = None
    action: OrderAction | None = None
    reason: Annotated[str, text(500)] | None = None

    @model_validator(mode="after")
    def _something_to_do(self):
        fields = self.model_fields_set - {"reason"}
        if not fields:
            raise _field_error("action", "nothing to change: give a field to update or an action")
        if self.action and fields != {"action"}:
            raise _field_error("action", "an action cannot be combined with field updates")
        return self


class ListPaymentOrdersQuery(Request):
    orderId: str | None = Field(default=None, description="one or more order ids, comma separated")
    resellerId: str | None = None
    channelTransactionId: str | None = None
    relatedBusinessId: str | None = None
    paymentStatus: str | None = Field(default=None, description="comma list of PaymentStatus")
    paymentType: str | None = Field(default=None, description="comma list of PaymentType")
    createdFrom: DateIn | None = None
    createdTo: DateIn | None = None
    minAmount: MoneyInNonNeg | None = None
    maxAmount: MoneyInNonNeg | None = None
    channel: str | None = Field(default=None, description="channel code used by a transaction of the order")
    paidFrom: DateIn | None = Field(default=None, description="the order's last successful payment is on or after it")
    paidTo: DateIn | None = Field(default=None, description="the order's last successful payment is on or before it")
    updatedFrom: DateIn | None = None
    updatedTo: DateIn | None = None
    refundStatus: str | None = Field(default=None, description="comma list of RefundStatus (the order's own)")
    page: StrictInt | None = Field(default=None, ge=1, le=MAX_PAGE)
    pageSize: StrictInt | None = Field(default=None, ge=1)


class PageQuery(Request):
    page: StrictInt | None = Field(default=None, ge=1, le=MAX_PAGE)
    pageSize: StrictInt | None = Field(default=None, ge=1)


class PaymentOrderOut(Response):
    paymentId: str
    orderId: str
    resellerId: str
    paymentType: PaymentType
    paymentAmount: MoneyOut
    paidAmount: MoneyOut
    refundedAmount: MoneyOut
    actualAmount: MoneyOut
    remainingAmount: MoneyOut
    reservedAmount: MoneyOut
    payableAmount: MoneyOut
    currency: Literal["CNY"]
    paymentStatus: PaymentStatus
    refundStatus: RefundStatus
    paymentDeadline: TimeOut
    businessDesc: str
    priority: int
    relatedBusinessId: str | None
    relatedBusinessType: str | None
    businessExpireDate: str | None
    tags: dict
    overdue: bool
    createdAt: TimeOut
    updatedAt: TimeOut
    duplicate: bool | None = None


class TransactionOut(Response):
    transactionId: str
    paymentId: str
    orderId: str
    transactionType: TransactionType
    transactionStatus: TransactionStatus
    transactionAmount: MoneyOut
    refundableAmount: MoneyOut
    paymentChannel: str | None
    channelTransactionId: str | None
    mergedPaymentId: str | None
    originalTransactionId: str | None
    businessOrderId: str | None
    createTime: TimeOut
    completeTime: TimeOut
    remark: str | None


class PaymentOrderStatusOut(PaymentOrderOut):
    paymentTransactions: list[TransactionOut]
    refundTransactions: list[TransactionOut]


# --- credit ------------------------------------------------------------------------------------

class CreateRepayment(Request):
    requestId: Annotated[str, text(128, 1)] | None = None
    creditRecordId: Ident
    orderId: Ident
    resellerId: Ident
    repaymentAmount: MoneyIn
    repaymentReason: Annotated[str, text(500)] | None = None
    repaymentDeadline: DateTimeIn | None = None
    businessRemark: Annotated[str, text(500)] | None = None


class CreditLimitOut(Response):
    resellerId: str
    totalCreditLimit: MoneyOut
    availableCreditLimit: MoneyOut
    usedCreditLimit: MoneyOut
    creditStatus: CreditLineStatus
    creditTermDays: int


class CreditRecordOut(Response):
    creditRecordId: str
    orderId: str
    resellerId: str
    amount: MoneyOut
    outstandingAmount: MoneyOut
    dueDate: str
    status: CreditRecordStatus


class CreditRecordsQuery(Request):
    resellerId: str | None = None
    orderId: str | None = None
    page: StrictInt | None = Field(default=None, ge=1, le=MAX_PAGE)
    pageSize: StrictInt | None = Field(default=None, ge=1)


class RepaymentsQuery(Request):
    creditRecordId: str | None = None
    orderId: str | None = None
    page: StrictInt | None = Field(default=None, ge=1, le=MAX_PAGE)
    pageSize: StrictInt | None = Field(default=None, ge=1)


# --- resellers ---------------------------------------------------------------------------------

class BankAccountIn(Request):
    accountNo: str = Field(pattern=r"^[0-9]{6,32}$", description="6–32 digits")
    accountName: Annotated[str, text(200, 1)]
    bankCode: str = Field(pattern=r"^[A-Z]{2,10}$")


class UpsertReseller(Request):
    name: Annotated[str, text(200, 1)] | None = None
    status: ResellerStatus | None = None
    creditLimit: MoneyInNonNeg | None = None
    creditTermDays: StrictInt | None = Field(default=None, ge=0, le=3650)
    creditStatus: CreditLineStatus | None = None
    approvalThreshold: MoneyInNonNeg | None = None
    refundBankAccount: BankAccountIn | None = None


class BankAccountOut(Response):
    accountNo: str = Field(description="masked: first 4 and last 4 digits")
    accountName: str | None
    bankCode: str | None


class ResellerOut(Response):
    resellerId: str
    name: str
    status: ResellerStatus
    creditLimit: MoneyOut
    creditTermDays: int
    creditStatus: CreditLineStatus
    approvalThreshold: MoneyOut
    refundBankAccount: BankAccountOut | None
    walletBalance: MoneyOut
    createdAt: TimeOut
    updatedAt: TimeOut


# --- envelopes ---------------------------------------------------------------------------------

T = TypeVar("T")


class PageOut(Response, Generic[T]):
    items: list[T]
    page: int
    pageSize: int
    total: int


class FieldError(Response):
    field: str
    message: str


class ErrorOut(Response):
    code: str
    message: str
    errors: list[FieldError] | None = None


class Health(Response):
    status: str
    checks: dict[str, str] | None = None


def _field_error(field: str, message: str):
    return PydanticCustomError("field_rule", "{field}: {message}", {"field": field, "message": message})


