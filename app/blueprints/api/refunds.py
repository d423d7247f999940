"""Refund routes (docs/API.md §4)."""

from __future__ import annotations

from ...domain.enums import RefundOrderStatus, Scope
from ...services.orders.queries import MAX_PAGE_SIZE
from ...services.refunds.creation import create_refund
from ...services.refunds.instruction import RefundInstruction
from ...services.refunds.view import get_refund, list_refunds, refund_dict
from .auth import current_actor, require_scopes
from .blueprint import bp
from .http import ApiError, comma_list, json_body, ok, page_data, query_args, validate
from .openapi import operation
from .refund_schemas import CreateRefund, ListRefundsQuery, RefundOut
from .schemas import PageOut


@bp.post("/integration/payment/refund")
@operation("post", "/integration/payment/refund", "Execute an approved refund instruction (keyed by refundOrderId)",
           scopes=(Scope.REFUNDS,), body=CreateRefund, response=RefundOut, status=202, extra_statuses=(201,),
           tag="refunds")
@require_scopes(Scope.REFUNDS)
def create():
    body = validate(CreateRefund, json_body())
    ins = RefundInstruction(
        refund_order_id=body.refundOrderId, payment_id=body.paymentId, amount=body.refundAmount,
        refund_type=body.refundType, strategy=body.strategy, transaction_id=body.transactionId,
        reason=body.refundReason or "", approval_info=body.approvalInfo or {},
    )
    refund, status, duplicate = create_refund(current_actor(), ins)
    data = refund_dict(refund)
    data["duplicate"] = duplicate
    return ok(data, status, "duplicate" if duplicate else "accepted")


@bp.get("/integration/payment/refund/<refund_order_id>")
@operation("get", "/integration/payment/refund/{refundOrderId}", "A refund with its parts", scopes=(Scope.REFUNDS,),
           response=RefundOut, tag="refunds")
@require_scopes(Scope.REFUNDS)
def show(refund_order_id: str):
    return ok(refund_dict(get_refund(refund_order_id)))


@bp.get("/integration/payment/refund")
@operation("get", "/integration/payment/refund", "List refunds, newest first (filters AND-ed)",
           scopes=(Scope.REFUNDS,), query=ListRefundsQuery, response=PageOut[RefundOut], tag="refunds")
@require_scopes(Scope.REFUNDS)
def index():
    q = query_args(ListRefundsQuery)
    if q.createdFrom and q.createdTo and q.createdFrom > q.createdTo:
        raise ApiError(422, "VALIDATION_ERROR", "invalid fields: createdFrom",
                       [{"field": "createdFrom", "message": "must not be after createdTo"}])
    statuses = comma_list(q.status, RefundOrderStatus, "status")
    page, size = q.page or 1, min(q.pageSize or 50, MAX_PAGE_SIZE)
    found = list_refunds(q.paymentId or None, statuses, q.createdFrom, q.createdTo, page, size)
    return ok(page_data(found.items, found.page, found.page_size, found.total))
