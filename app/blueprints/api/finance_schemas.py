"""Schemas of the finance API's reconciliation and statistics (docs/API.md §7)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictInt

from ...domain.enums import ReconClass, ReconExceptionState
from .fields import DateIn, MoneyOut, TimeOut
from .schemas import MAX_PAGE, Request, Response

GroupName = Literal["paymentType", "channel", "reseller", "day"]
DATE_PATH = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "examples": ["2026-11-25"]}


class Amounts(Response):
    paymentAmount: MoneyOut
    refundAmount: MoneyOut
    netAmount: MoneyOut
    paymentCount: int
    refundCount: int


class DaySummaryOut(Response):
    totalPaymentAmount: MoneyOut
    totalRefundAmount: MoneyOut
    netAmount: MoneyOut
    totalPaymentCount: int
    totalRefundCount: int
    exceptionCount: int
    openExceptionCount: int
    transactionCount: int


class BusinessTypeSummaryOut(Amounts):
    paymentType: str


class ChannelSummaryOut(Amounts):
    channelCode: str
    channelKind: str
    reconciliationStatus: str = Field(description="COMPLETED, RUNNING or NOT_RECONCILED")
    matchedCount: int
    exceptionCount: int = Field(description="open exceptions of the channel's run")
    reconciledAt: TimeOut


class ResellerSummaryOut(Amounts):
    resellerId: str
    resellerName: str


class TransactionDetailOut(Response):
    transactionId: str
    paymentId: str
    orderId: str
    resellerId: str
    paymentType: str
    transactionType: str
    amount: MoneyOut
    channelCode: str | None
    channelKind: str | None
    channelTransactionId: str | None
    completedAt: TimeOut


class ExceptionOut(Response):
    exceptionId: str
    reconciliationDate: str
    channelCode: str
    channelKind: str
    exceptionClass: ReconClass
    state: ReconExceptionState
    channelTransactionId: str | None
    channelPaymentNo: str | None
    channelAmount: MoneyOut | None
    ourAmount: MoneyOut | None
    channelStatus: str | None
    ourStatus: str | None
    createdAt: TimeOut
    resolvedBy: str | None
    resolvedAt: TimeOut
    resolutionNote: str | None


class ReconciliationDayOut(Response):
    reconciliationDate: str
    summary: DaySummaryOut
    businessTypeSummaries: list[BusinessTypeSummaryOut]
    channelSummaries: list[ChannelSummaryOut]
    resellerSummaries: list[ResellerSummaryOut]
    transactionDetails: list[TransactionDetailOut]
    exceptionRecords: list[ExceptionOut]
    page: int
    pageSize: int


class ExceptionsQuery(Request):
    state: ReconExceptionState | None = None
    exceptionClass: ReconClass | None = None
    channel: str | None = Field(default=None, description="a channel code")
    page: StrictInt | None = Field(default=None, ge=1, le=MAX_PAGE)
    pageSize: StrictInt | None = Field(default=None, ge=1)


class PaymentStatisticsIn(Request):
    from_: DateIn = Field(alias="from")
    to: DateIn
    groupBy: list[GroupName] = Field(default_factory=list, max_length=4)
    page: StrictInt | None = Field(default=None, ge=1, le=MAX_PAGE)
    pageSize: StrictInt | None = Field(default=None, ge=1)


class StatisticsItemOut(Amounts):
    paymentType: str | None = None
    channel: str | None = None
    reseller: str | None = None
    day: str | None = None


class StatisticsOut(Response):
    items: list[StatisticsItemOut]
    page: int
    pageSize: int
    total: int
