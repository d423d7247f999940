"""Request and response schemas of the disbursement API (docs/API.md §9)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, WithJsonSchema

from .fields import Ident, MoneyIn, text
from .schemas import Request, Response


class CreateDisbursement(Request):
    requestId: Annotated[str, text(64, 1)]
    merchantId: Ident
    # Checked by the payout service (services/payouts/request.py), which names the rule in its message.
    bankAccountNo: Annotated[str, text(64, 1), WithJsonSchema({"type": "string", "pattern": "^[0-9]{6,32}$"})] = Field(
        description="6–32 digits; stored encrypted, shown masked")
    bankAccountName: Annotated[str, text(200, 1)]
    bankCode: Annotated[str, text(16, 1)]
    amount: MoneyIn
    currency: Literal["CNY"] = "CNY"
    purpose: Annotated[str, text(200)] | None = None
    clientIp: Annotated[str, text(64)] | None = None
    notifyUrl: Annotated[str, text(500)] | None = None


class DisbursementCreatedOut(Response):
    orderNo: str
    status: str
    duplicate: bool = False


class DisbursementStatusOut(Response):
    orderNo: str
    status: str
    bankSerialNo: str | None = None
    failReason: str | None = None
