"""Credit routes (docs/API.md §5)."""

from __future__ import annotations

from ...domain.enums import PaymentType, Scope
from ...domain.errors import ValidationFailed
from ...services.ledgers import credit_view
from ...services.orders.creation import NewPaymentOrder, create_payment_order
from ...services.orders.view import order_dict
from ...services.platform.idempotency import request_fingerprint
from .auth import current_actor, require_scopes
from .blueprint import bp
from .http import json_body, ok, page_data, query_args, validate
from .openapi import operation
from .payment_orders import idempotency_key, respond_created
from .schemas import (
    CreateRepayment,
    CreditLimitOut,
    CreditRecordOut,
    CreditRecordsQuery,
    PageOut,
    PaymentOrderOut,
    RepaymentsQuery,
)

# The service names the payment order's fields; this request calls them repayment*.
_REQUEST_FIELDS = {"paymentAmount": "repaymentAmount", "paymentDeadline": "repaymentDeadline"}


@bp.post("/integration/credit/repayment")
@operation("post", "/integration/credit/repayment", "Create a credit repayment order", scopes=(Scope.CREDIT,),
           body=CreateRepayment, response=PaymentOrderOut, status=201, extra_statuses=(200,), tag="credit")
@require_scopes(Scope.CREDIT)
def create_repayment():
    body = validate(CreateRepayment, json_body())
    desc = body.repaymentReason or ""
    if body.businessRemark:
        desc = f"{desc} — {body.businessRemark}" if desc else body.businessRemark
    new = NewPaymentOrder(
        order_id=body.orderId, reseller_code=body.resellerId, payment_type=PaymentType.CREDIT_REPAYMENT,
        payment_amount=body.repaymentAmount, payment_deadline=body.repaymentDeadline, business_desc=desc[:500],
        credit_record_id=body.creditRecordId,
    )
    fingerprint = request_fingerprint({"op": "repayment", **body.model_dump(exclude={"requestId"}, mode="json")})
    try:
        outcome = create_payment_order(current_actor(), new, idempotency_key=idempotency_key(body.requestId),
                                       fingerprint=fingerprint)
    except ValidationFailed as err:
        err.errors = [{**e, "field": _REQUEST_FIELDS.get(e["field"], e["field"])} for e in err.errors or []] or None
        raise
    return respond_created(outcome)


@bp.get("/integration/credit/<reseller_id>/limit")
@operation("get", "/integration/credit/{resellerId}/limit", "A reseller's credit limit", scopes=(Scope.CREDIT,),
           response=CreditLimitOut, tag="credit")
@require_scopes(Scope.CREDIT)
def credit_limit(reseller_id: str):
    return ok(credit_view.credit_limit_dict(reseller_id))


@bp.get("/integration/credit/records")
@operation("get", "/integration/credit/records", "Credit records", scopes=(Scope.CREDIT,), query=CreditRecordsQuery,
           response=PageOut[CreditRecordOut], tag="credit")
@require_scopes(Scope.CREDIT)
def credit_records():
    q = query_args(CreditRecordsQuery)
    page = credit_view.list_credit_records(q.resellerId, q.orderId, q.page or 1, q.pageSize or 50)
    return ok(page_data(page.items, page.page, page.page_size, page.total))


@bp.get("/integration/credit/repayment")
@operation("get", "/integration/credit/repayment", "Repayment orders of a credit record or order",
           scopes=(Scope.CREDIT,), query=RepaymentsQuery, response=PageOut[PaymentOrderOut], tag="credit")
@require_scopes(Scope.CREDIT)
def repayment_orders():
    q = query_args(RepaymentsQuery)
    page = credit_view.list_repayment_orders(q.creditRecordId, q.orderId, q.page or 1, q.pageSize or 50)
    return ok(page_data([order_dict(o, c) for o, c in page.items], page.page, page.page_size, page.total))
