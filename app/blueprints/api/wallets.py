"""Wallet top-up by the finance system (docs/API.md §7): a deposit received at the bank."""

from __future__ import annotations

from typing import Annotated

from ...domain.enums import Scope
from ...services.ledgers import wallet_api
from ...services.platform.idempotency import request_fingerprint
from .auth import current_actor, require_scopes
from .blueprint import bp
from .fields import MoneyIn, MoneyOut, TimeOut, text
from .http import json_body, ok, validate
from .openapi import operation
from .schemas import Request, Response


class WalletTopUp(Request):
    requestId: Annotated[str, text(128, 1)]
    amount: MoneyIn
    bankSerialNo: Annotated[str, text(64)] | None = None
    memo: Annotated[str, text(500)] | None = None


class WalletTopUpOut(Response):
    entryId: str
    resellerId: str
    amount: MoneyOut
    balance: MoneyOut
    bankSerialNo: str | None
    createdAt: TimeOut
    duplicate: bool


@bp.post("/integration/finance/wallets/<reseller_id>/top-up")
@operation("post", "/integration/finance/wallets/{resellerId}/top-up", "Top up a reseller's wallet (a deposit)",
           scopes=(Scope.FINANCE,), body=WalletTopUp, response=WalletTopUpOut, status=201, extra_statuses=(200,),
           tag="finance")
@require_scopes(Scope.FINANCE)
def top_up(reseller_id: str):
    body = validate(WalletTopUp, json_body())
    fingerprint = request_fingerprint({"op": "wallet.top_up", "resellerId": reseller_id,
                                      **body.model_dump(exclude={"requestId"}, mode="json")})
    outcome = wallet_api.top_up(current_actor(), reseller_id, body.requestId, body.amount, body.bankSerialNo,
                                body.memo or "", fingerprint)
    return ok({**outcome.view, "duplicate": outcome.duplicate}, outcome.status_code,
              "duplicate" if outcome.duplicate else "created")
