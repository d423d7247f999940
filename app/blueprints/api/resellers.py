"""Reseller routes (docs/API.md §6)."""

from __future__ import annotations

from ...domain.enums import Scope
from ...services.accounts import resellers
from .auth import current_actor, require_scope_for, require_scopes
from .blueprint import bp
from .http import ApiError, json_body, ok, validate
from .openapi import operation
from .schemas import ResellerOut, UpsertReseller


@bp.put("/integration/resellers/<reseller_id>")
@operation("put", "/integration/resellers/{resellerId}", "Create or update a reseller",
           scopes=(Scope.RESELLERS, Scope.CREDIT), body=UpsertReseller, response=ResellerOut, extra_statuses=(201,),
           tag="resellers", path_schemas={"resellerId": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,32}$"}})
@require_scopes(Scope.RESELLERS, Scope.CREDIT)
def upsert_reseller(reseller_id: str):
    # ASCII only: the id must also pass as ``resellerId`` in payment-order requests (fields.Ident).
    if not (1 <= len(reseller_id) <= 32) or not (reseller_id.isascii()
                                                 and reseller_id.replace("-", "").replace("_", "").isalnum()):
        raise ApiError(422, "VALIDATION_ERROR", "invalid fields: resellerId",
                       [{"field": "resellerId", "message": "must be 1–32 letters, digits, - or _"}])
    body = validate(UpsertReseller, json_body())
    sent = body.model_fields_set
    if sent & resellers.CREDIT_FIELDS:
        require_scope_for(Scope.CREDIT, "changing credit fields")
    if sent - resellers.CREDIT_FIELDS:
        require_scope_for(Scope.RESELLERS, "changing reseller fields")
    acct = body.refundBankAccount
    changes = resellers.ResellerChanges(
        name=body.name, status=body.status, credit_limit=body.creditLimit, credit_term_days=body.creditTermDays,
        credit_status=body.creditStatus, approval_threshold=body.approvalThreshold,
        refund_bank_account=resellers.BankAccount(acct.accountNo, acct.accountName, acct.bankCode)
        if acct else None,
        present=frozenset(sent),
    )
    reseller, created = resellers.upsert_reseller(current_actor(), reseller_id, changes)
    return ok(resellers.reseller_dict(reseller), 201 if created else 200, "created" if created else "updated")


@bp.get("/integration/resellers/<reseller_id>")
@operation("get", "/integration/resellers/{resellerId}", "A reseller with its wallet balance",
           scopes=(Scope.RESELLERS, Scope.CREDIT), response=ResellerOut, tag="resellers")
@require_scopes(Scope.RESELLERS, Scope.CREDIT, Scope.PAYMENTS, Scope.FINANCE)
def get_reseller(reseller_id: str):
    return ok(resellers.reseller_dict(resellers.get_reseller(reseller_id)))
