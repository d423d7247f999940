"""Disbursement routes (docs/API.md §9; scope ``disburse``)."""

from __future__ import annotations

from ...domain.enums import Scope
from ...services.payouts import creation as payouts
from ...services.payouts import request as payout_request
from ...services.payouts import view as payout_view
from ...services.platform.unit_of_work import transaction
from .auth import current_actor, require_scopes
from .blueprint import bp
from .disbursement_schemas import CreateDisbursement, DisbursementCreatedOut, DisbursementStatusOut
from .http import json_body, ok, validate
from .openapi import operation


@bp.post("/disburse")
@operation("post", "/disburse", "Create a disbursement (payout to a bank account; idempotent by requestId)",
           scopes=(Scope.DISBURSE,), body=CreateDisbursement, response=DisbursementCreatedOut, status=201,
           extra_statuses=(200,), tag="disbursements")
@require_scopes(Scope.DISBURSE)
def create_disbursement():
    body = validate(CreateDisbursement, json_body())
    req = payout_request.DisbursementRequest(
        request_id=body.requestId, merchant_id=body.merchantId, bank_account_no=body.bankAccountNo,
        bank_account_name=body.bankAccountName, bank_code=body.bankCode, amount=body.amount,
        currency=body.currency, purpose=body.purpose or "", client_ip=body.clientIp, notify_url=body.notifyUrl)
    created = payouts.create(current_actor(), req)
    data = {"orderNo": created.order.order_no, "status": created.order.status, "duplicate": created.duplicate}
    return ok(data, created.status_code, "duplicate" if created.duplicate else "created")


@bp.get("/disburse/<order_no>/status")
@operation("get", "/disburse/{orderNo}/status", "A disbursement's status", scopes=(Scope.DISBURSE,),
           response=DisbursementStatusOut, tag="disbursements")
@require_scopes(Scope.DISBURSE)
def disbursement_status(order_no: str):
    with transaction():
        d = payout_view.get(order_no)
        data = {"orderNo": d.order_no, "status": d.status, "bankSerialNo": d.bank_serial_no,
                "failReason": d.fail_reason}
    return ok(data)
