"""Payment-order routes (docs/API.md §3)."""

from __future__ import annotations

from flask import request

from ...domain.enums import PaymentStatus, PaymentType, RefundStatus, Scope, TransactionType
from ...metrics import ORDERS_CREATED
from ...services.orders import queries as order_queries
from ...services.orders.creation import NewPaymentOrder, create_payment_order
from ...services.orders.lookup import get_order_with_reseller
from ...services.orders.update import OrderChanges, update_payment_order
from ...services.orders.view import order_dict
from ...services.platform.idempotency import request_fingerprint
from .auth import current_actor, require_scopes
from .blueprint import PaymentIdConverter, bp
from .http import ApiError, comma_list, json_body, ok, page_data, query_args, validate
from .openapi import operation
from .schemas import (
    CreatePaymentOrder,
    ListPaymentOrdersQuery,
    PageOut,
    PageQuery,
    PaymentOrderOut,
    PaymentOrderStatusOut,
    TransactionOut,
    UpdatePaymentOrder,
)

READ_SCOPES = (Scope.PAYMENTS, Scope.CREDIT, Scope.REFUNDS, Scope.FINANCE)


def idempotency_key(body_request_id: str | None) -> str | None:
    header = request.headers.get("Idempotency-Key")
    if header is not None:
        header = header.strip()
        if not header or len(header) > 128 or not header.isprintable():
            raise ApiError(422, "VALIDATION_ERROR", "invalid Idempotency-Key header",
                           [{"field": "Idempotency-Key", "message": "must be 1–128 printable characters"}])
        return header
    return body_request_id


def respond_created(outcome) -> tuple:
    data = dict(outcome.view) if outcome.view is not None else order_dict(outcome.order, outcome.reseller_code)
    data["duplicate"] = outcome.duplicate
    if outcome.status_code == 201 and not outcome.duplicate:
        ORDERS_CREATED.labels(outcome.order.payment_type).inc()
    return ok(data, outcome.status_code, "duplicate" if outcome.duplicate else "created")


@bp.post("/integration/payment/create")
@operation("post", "/integration/payment/create", "Create a payment order", scopes=(Scope.PAYMENTS,),
           body=CreatePaymentOrder, response=PaymentOrderOut, status=201, extra_statuses=(200,))
@require_scopes(Scope.PAYMENTS, Scope.CREDIT)
def create_order():
    body = validate(CreatePaymentOrder, json_body())
    actor = current_actor()
    needed = Scope.CREDIT if body.paymentType == PaymentType.CREDIT_REPAYMENT else Scope.PAYMENTS
    if needed not in actor.scopes and Scope.PAYMENTS not in actor.scopes:
        raise ApiError(403, "FORBIDDEN", f"creating a {body.paymentType} order needs the '{needed}' scope")
    new = NewPaymentOrder(
        order_id=body.orderId, reseller_code=body.resellerId, payment_type=body.paymentType,
        payment_amount=body.paymentAmount, payment_deadline=body.paymentDeadline,
        business_desc=body.businessDesc or "", priority=body.priority or 0,
        related_business_id=body.relatedBusinessId, related_business_type=body.relatedBusinessType,
        business_expire_date=body.businessExpireDate, tags=body.tags or {}, credit_record_id=body.creditRecordId,
    )
    fingerprint = request_fingerprint(body.model_dump(exclude={"requestId"}, mode="json"))
    outcome = create_payment_order(actor, new, idempotency_key=idempotency_key(body.requestId),
                                   fingerprint=fingerprint)
    return respond_created(outcome)


@bp.get("/integration/payment/<payment_id>/status")
@operation("get", "/integration/payment/{paymentId}/status", "Payment order with its transactions",
           scopes=READ_SCOPES, response=PaymentOrderStatusOut)
@require_scopes(*READ_SCOPES)
def order_status(payment_id: str):
    order, code = get_order_with_reseller(payment_id)
    data = order_dict(order, code)
    txns = order_queries.transactions_of(order)
    data["paymentTransactions"] = [t for t in txns if t["transactionType"] == TransactionType.PAYMENT]
    data["refundTransactions"] = [t for t in txns if t["transactionType"] == TransactionType.REFUND]
    return ok(data)


def order_filter_from(q: ListPaymentOrdersQuery) -> order_queries.OrderFilter:
    if q.minAmount is not None and q.maxAmount is not None and q.minAmount > q.maxAmount:
        raise ApiError(422, "VALIDATION_ERROR", "invalid fields: minAmount",
                       [{"field": "minAmount", "message": "must not exceed maxAmount"}])
    if q.createdFrom and q.createdTo and q.createdFrom > q.createdTo:
        raise ApiError(422, "VALIDATION_ERROR", "invalid fields: createdFrom",
                       [{"field": "createdFrom", "message": "must not be after createdTo"}])
    for first, last in (("paidFrom", "paidTo"), ("updatedFrom", "updatedTo")):
        lo, hi = getattr(q, first), getattr(q, last)
        if lo and hi and lo > hi:
            raise ApiError(422, "VALIDATION_ERROR", f"invalid fields: {first}",
                           [{"field": first, "message": f"must not be after {last}"}])
    order_ids = [v for v in (q.orderId or "").replace(" ", ",").split(",") if v] or None
    return order_queries.OrderFilter(
        order_ids=order_ids, reseller_code=q.resellerId, channel_transaction_id=q.channelTransactionId,
        related_business_id=q.relatedBusinessId,
        payment_statuses=comma_list(q.paymentStatus, PaymentStatus, "paymentStatus"),
        payment_types=comma_list(q.paymentType, PaymentType, "paymentType"),
        created_from=q.createdFrom, created_to=q.createdTo, min_amount=q.minAmount, max_amount=q.maxAmount,
        channel=q.channel, paid_from=q.paidFrom, paid_to=q.paidTo, updated_from=q.updatedFrom,
        updated_to=q.updatedTo, refund_statuses=comma_list(q.refundStatus, RefundStatus, "refundStatus"),
    )


@bp.get("/integration/payment")
@operation("get", "/integration/payment", "List payment orders (filters AND-ed)", scopes=READ_SCOPES,
           query=ListPaymentOrdersQuery, response=PageOut[PaymentOrderOut])
@require_scopes(*READ_SCOPES)
def list_orders():
    q = query_args(ListPaymentOrdersQuery)
    page = order_queries.list_orders(order_filter_from(q), q.page or 1, q.pageSize or 50)
    return ok(page_data([order_dict(o, code) for o, code in page.items], page.page, page.page_size, page.total))


@bp.patch("/integration/payment/<payment_id:payment_id>")
@operation("patch", "/integration/payment/{paymentId}", "Update a payment order or STOP / FREEZE / UNFREEZE it",
           scopes=(Scope.PAYMENTS,), body=UpdatePaymentOrder, response=PaymentOrderOut,
           path_schemas={"paymentId": {"type": "string", "not": {"enum": list(PaymentIdConverter.RESERVED)}}},
           extra_errors={"405": "BAD_REQUEST: the path is that of another operation (paymentId create or refund)"})
@require_scopes(Scope.PAYMENTS)
def update_order(payment_id: str):
    raw = json_body()
    body = validate(UpdatePaymentOrder, raw)
    changes = OrderChanges(
        payment_amount=body.paymentAmount, payment_deadline=body.paymentDeadline, business_desc=body.businessDesc,
        priority=body.priority, tags=body.tags, action=body.action, reason=body.reason,
        present=frozenset(body.model_fields_set),
    )
    order, code = update_payment_order(current_actor(), payment_id, changes)
    return ok(order_dict(order, code), message="updated")


@bp.get("/integration/payment/<payment_id>/transactions")
@operation("get", "/integration/payment/{paymentId}/transactions", "Transactions of a payment order, newest first",
           scopes=READ_SCOPES, query=PageQuery, response=PageOut[TransactionOut])
@require_scopes(*READ_SCOPES)
def order_transactions(payment_id: str):
    q = query_args(PageQuery)
    page, size = q.page or 1, min(q.pageSize or 50, order_queries.MAX_PAGE_SIZE)
    order, _ = get_order_with_reseller(payment_id)
    items = order_queries.transactions_of(order)
    return ok(page_data(items[(page - 1) * size: page * size], page, size, len(items)))


