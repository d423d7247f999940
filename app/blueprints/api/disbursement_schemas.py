"""Request and response schemas of the disbursement API (docs/API.md §9)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .fields import Ident, MoneyIn, Text
from .schemas import Request, Response


class CreateDisbursement(Request):
    requestId: Text(64, 1)
    merchantId: Ident
    bankAccountNo: Text(64, 1) = Field(description="6–32 digits; stored encrypted, shown masked")
    bankAccountName: Text(200, 1)
    bankCode: Text(16, 1)
    amount: MoneyIn
    currency: Literal["CNY"] = "CNY"
    purpose: Text(200) | None = None
    clientIp: Text(64) | None = None
    notifyUrl: Text(500) | None = None


class DisbursementCreatedOut(Response):
    orderNo: str
    status: str
    duplicate: bool = False


class DisbursementStatusOut(Response):
    orderNo: str
    status: str
    bankSerialNo: str | None = None
    failReason: str | None = None
