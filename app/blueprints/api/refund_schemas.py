"""Request and response schemas of the refund routes (docs/API.md §4)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictInt, model_validator

from ...domain.enums import RefundOrderStatus, RefundStrategy, RefundType
from .fields import DateIn, Ident, MoneyIn, MoneyOut, TimeOut, text
from .schemas import MAX_PAGE, Request, Response, TransactionOut, _field_error


class CreateRefund(Request):
    refundOrderId: Ident
    paymentId: Ident
    refundAmount: MoneyIn
    refundReason: Annotated[str, text(500)] | None = None
    approvalInfo: dict[str, Annotated[str, text(200)] | int | bool] | None = Field(default=None, max_length=20)
    refundType: RefundType = RefundType.PARTIAL
    strategy: RefundStrategy = RefundStrategy.LATEST
    transactionId: Ident | None = None

    @model_validator(mode="after")
    def _transaction_for_specified(self):
        if self.strategy == RefundStrategy.SPECIFIED and not self.transactionId:
            raise _field_error("transactionId", "is required for the SPECIFIED strategy")
        if self.strategy != RefundStrategy.SPECIFIED and self.transactionId:
            raise _field_error("transactionId", "is only allowed with the SPECIFIED strategy")
        return self


class RefundOut(Response):
    refundId: str
    refundOrderId: str
    paymentId: str
    refundAmount: MoneyOut
    refundType: RefundType
    strategy: RefundStrategy
    status: RefundOrderStatus
    parts: list[TransactionOut]
    createdAt: TimeOut
    completedAt: TimeOut
    duplicate: bool | None = None


class ListRefundsQuery(Request):
    paymentId: str | None = Field(default=None, max_length=64, description="the payment order's paymentId")
    status: str | None = Field(default=None, description="comma list of RefundOrderStatus")
    createdFrom: DateIn | None = None
    createdTo: DateIn | None = None
    page: StrictInt | None = Field(default=None, ge=1, le=MAX_PAGE)
    pageSize: StrictInt | None = Field(default=None, ge=1)
