"""The table of every screen route: who may open it (roles), whether it is an object of a tenant,
and what an authorised caller gets. Read by the authorization matrix (tests/web/test_authz_matrix.py)
and the hostile-input pass over the same routes (tests/web/test_hostile_routes.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

OP1, AP1, OP2, FIN, ADMIN = ("operator@r1001.example", "approver@r1001.example", "operator@r1002.example",
                             "finance@example.com", "admin@example.com")
ROLE = {OP1: "reseller_operator", AP1: "reseller_approver", OP2: "reseller_operator", FIN: "finance",
        ADMIN: "admin"}
RESELLER = {"reseller_operator", "reseller_approver"}
APPROVER = {"reseller_approver"}
FINANCE = {"finance"}
ADMIN_ONLY = {"admin"}
EVERYONE = RESELLER | FINANCE | ADMIN_ONLY
PEOPLE = ("anonymous", OP1, AP1, OP2, FIN, ADMIN)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {placeholders} filled from the objects of R1001
    roles: frozenset
    tenant: bool = False  # an object of R1001: R1002's users get 404
    ok: dict = field(default_factory=dict)  # user (or "*") -> expected status when not the default (GET 200)
    data: dict = field(default_factory=dict)  # form fields of a POST, {placeholders} filled too
    public: bool = False  # no sign-in needed: everyone, anonymous included, gets ``ok`` (default 200)


def R(method, path, roles, tenant=False, ok=None, data=None, public=False):
    return Route(method, path, frozenset(roles), tenant, ok or {}, data or {}, public)


ROUTES = [
    R("GET", "/", EVERYONE, ok={FIN: 302, ADMIN: 302}),
    R("POST", "/logout", EVERYONE, ok={"*": 302}),
    R("GET", "/account/password", EVERYONE),
    R("POST", "/account/password", EVERYONE, ok={"*": 422}),  # no passwords given
    R("GET", "/account/mail", EVERYONE),
    R("POST", "/account/mail", EVERYONE, ok={"*": 303}),  # nothing ticked: no e-mail of any kind
    R("GET", "/orders", RESELLER),
    R("POST", "/orders/export", RESELLER, data={"format": "csv"}),
    R("GET", "/orders/exports/{job}", RESELLER, ok={OP1: 404, AP1: 404, OP2: 404}),  # nobody's job
    R("GET", "/orders/exports/{job}/download", RESELLER, ok={OP1: 404, AP1: 404, OP2: 404}),
    R("GET", "/orders/{payment_id}", RESELLER, tenant=True),
    R("GET", "/checkout?ids={payment_id}", RESELLER),
    R("POST", "/checkout/validate", RESELLER),
    R("POST", "/checkout", RESELLER),
    R("GET", "/payments", RESELLER),
    R("GET", "/payments/{merged}", RESELLER, tenant=True),
    R("POST", "/payments/{merged}/refresh", RESELLER, tenant=True),
    R("POST", "/payments/{merged}/cancel", RESELLER, tenant=True),
    R("POST", "/payments/{merged}/vouchers", RESELLER, tenant=True, data={"channel_payment_id": "{cp}"}),
    R("GET", "/payments/{merged}/vouchers/{voucher}", RESELLER, tenant=True),
    R("GET", "/approvals", APPROVER),
    R("POST", "/approvals/{merged}/approve", APPROVER, tenant=True),
    R("POST", "/approvals/{merged}/reject", APPROVER, tenant=True),
    R("GET", "/wallet", RESELLER),
    R("GET", "/credit", RESELLER),
    R("GET", "/statements", RESELLER),
    R("POST", "/statements", RESELLER, ok={"*": 302}, data={"month": "2026-03"}),
    R("GET", "/statements/documents", RESELLER),
    R("GET", "/documents/{statement}/pdf", RESELLER | FINANCE, tenant=True),  # a READY statement of R1001
    R("GET", "/finance", FINANCE | ADMIN_ONLY),
    R("GET", "/finance?day=2026-03-12", FINANCE | ADMIN_ONLY),
    R("GET", "/finance/transactions", FINANCE | ADMIN_ONLY),
    R("GET", "/finance/transactions?kind=PAYMENT&status=SUCCESS&minAmount=1.00", FINANCE | ADMIN_ONLY),
    R("GET", "/finance/transactions/{txn}", FINANCE | ADMIN_ONLY),  # finance sees every company's
    R("GET", "/finance/transactions/{nothing}", FINANCE | ADMIN_ONLY, ok={FIN: 404, ADMIN: 404}),  # no such transaction
    R("POST", "/finance/transactions/export?kind=PAYMENT", FINANCE | ADMIN_ONLY, ok={FIN: 303, ADMIN: 303},
      data={"format": "csv"}),  # queued on the worker, to the progress page
    R("GET", "/finance/transactions/exports/{job}", FINANCE | ADMIN_ONLY, ok={FIN: 404, ADMIN: 404}),  # nobody's job
    R("GET", "/finance/transactions/exports/{job}/download", FINANCE | ADMIN_ONLY, ok={FIN: 404, ADMIN: 404}),
    R("GET", "/finance/vouchers", FINANCE),
    R("POST", "/finance/vouchers/{voucher}/confirm", FINANCE),
    R("POST", "/finance/vouchers/{voucher}/reject", FINANCE),
    R("GET", "/vouchers/{voucher}/file", FINANCE | RESELLER, tenant=True),
    R("GET", "/vouchers/{voucher}/pdf", FINANCE | RESELLER, tenant=True),
    R("GET", "/finance/refunds", FINANCE),
    R("POST", "/finance/refunds/parts/{nothing}/retry", FINANCE, ok={FIN: 404}),  # no such part
    R("GET", "/finance/disbursements", FINANCE),
    R("POST", "/finance/disbursements/{nothing}/settle", FINANCE, ok={FIN: 404}),  # no such payout
    # batch payouts: a batch submitted by finance2@ (PENDING); finance@ is the second user
    R("POST", "/finance/disbursements/batches", FINANCE, ok={FIN: 422}, data={"merchantId": "M1001"}),  # no file
    R("GET", "/finance/disbursements/batches/template.csv", FINANCE),
    R("GET", "/finance/disbursements/batches/{batch}", FINANCE),
    R("GET", "/finance/disbursements/batches/{batch}/progress", FINANCE),
    R("GET", "/finance/disbursements/batches/{batch}/result.csv", FINANCE),
    R("GET", "/finance/disbursements/batches/{batch}/failed.csv", FINANCE),
    R("GET", "/finance/disbursements/batches/{nothing}", FINANCE, ok={FIN: 404}),
    R("POST", "/finance/disbursements/batches/{batch}/submit", FINANCE, ok={FIN: 409}),  # not a draft
    R("POST", "/finance/disbursements/batches/{batch}/approve", FINANCE, ok={FIN: 302}),
    R("POST", "/finance/disbursements/batches/{batch}/reject", FINANCE, ok={FIN: 422}),  # no reason
    R("POST", "/finance/disbursements/batches/{batch}/resubmit", FINANCE, ok={FIN: 409}),  # not completed
    R("GET", "/finance/reports", FINANCE),
    R("POST", "/finance/reports/pdf", FINANCE, ok={FIN: 302}, data={"day": "2026-03-12"}),
    R("GET", "/finance/reports/documents", FINANCE),
    R("GET", "/finance/reports/range", FINANCE),
    R("GET", "/finance/reports/range.{fmt}?from=2026-03-01&to=2026-03-31&groupBy=channel", FINANCE),  # csv; xlsx alike
    R("POST", "/finance/reports/range/pdf", FINANCE, ok={FIN: 302},
      data={"from": "2026-03-01", "to": "2026-03-31", "groupBy": "reseller"}),
    R("GET", "/finance/reconciliation", FINANCE),
    R("GET", "/finance/reconciliation?day=2026-13-01&state=all&class=DUPLICATE", FINANCE, ok={FIN: 422}),
    R("POST", "/finance/reconciliation/exceptions/{recon_exception}/resolve", FINANCE, ok={FIN: 422}),  # no note
    R("POST", "/finance/reconciliation/exceptions/{nothing_id}/resolve", FINANCE, ok={FIN: 404},
      data={"note": "checked"}),
    R("POST", "/finance/reconciliation/exceptions/{recon_exception}/approve", FINANCE, ok={FIN: 409}),  # nothing waits
    R("POST", "/finance/reconciliation/exceptions/{recon_exception}/reject", FINANCE, ok={FIN: 422}),  # no reason
    R("POST", "/finance/reconciliation/statements/preview", FINANCE, ok={FIN: 422}),  # no file
    R("POST", "/finance/reconciliation/statements/import", FINANCE, ok={FIN: 422},  # no such preview
      data={"token": "nothing-held"}),
    # an unidentified bank receipt (OPEN): every action wants its note first
    R("POST", "/finance/reconciliation/receipts/{receipt}/accept", FINANCE, ok={FIN: 422}),
    R("POST", "/finance/reconciliation/receipts/{receipt}/assign", FINANCE, ok={FIN: 422}),
    R("POST", "/finance/reconciliation/receipts/{receipt}/return", FINANCE, ok={FIN: 422}),
    R("POST", "/finance/reconciliation/receipts/{receipt}/approve", FINANCE, ok={FIN: 409}),  # nothing waits
    R("POST", "/finance/reconciliation/receipts/{receipt}/reject", FINANCE, ok={FIN: 409}),
    R("GET", "/finance/reconciliation/export?exportDay=2026-03-12&format=csv", FINANCE),
    R("POST", "/finance/reconciliation/export/pdf", FINANCE, ok={FIN: 302}, data={"exportDay": "2026-03-12"}),
    R("GET", "/finance/reconciliation/documents", FINANCE),
    R("GET", "/finance/reconciliation/runs?day=2026-03-12", FINANCE),
    R("POST", "/finance/reconciliation/runs", FINANCE, ok={FIN: 422}, data={"runDay": "2999-01-01"}),  # to come
    R("GET", "/finance/wallets", FINANCE),
    R("GET", "/finance/wallets/{r1001}", FINANCE),
    R("POST", "/finance/wallets/{r1001}/top-up", FINANCE, ok={FIN: 422}),  # no amount, no serial
    R("POST", "/finance/wallets/{r1001}/adjust", FINANCE, ok={FIN: 422}),  # no amount, no reason
    # a pending top-up of R1001 asked by finance2@: finance@ (the second user) approves it
    R("POST", "/finance/wallets/changes/{wallet_change}/approve", FINANCE, ok={FIN: 302}),
    R("POST", "/finance/wallets/changes/{wallet_change}/reject", FINANCE, ok={FIN: 422}),  # no reason
    # documents: a READY receipt of R1001 (paid by wallet) and a FAILED one; finance sees every company's
    R("GET", "/payments/{paid}/receipt", RESELLER, tenant=True, ok={"*": 303}),  # the part alone is for HTMX
    R("POST", "/payments/{paid}/receipt", RESELLER, tenant=True),
    R("GET", "/documents/{document}/pdf", RESELLER | FINANCE, tenant=True),
    R("GET", "/documents/{nothing}/pdf", RESELLER | FINANCE, ok={"*": 404}),
    R("POST", "/documents/{failed_document}/retry", RESELLER | FINANCE, tenant=True),
    R("GET", "/finance/documents", FINANCE),
    R("GET", "/admin", ADMIN_ONLY),
    R("GET", "/admin/jobs", ADMIN_ONLY),
    R("POST", "/admin/jobs/{job}/requeue", ADMIN_ONLY, ok={ADMIN: 404}),  # no such failed job
    R("POST", "/admin/jobs/{job}/delete", ADMIN_ONLY, ok={ADMIN: 404}),
    R("GET", "/admin/audit", ADMIN_ONLY),
    R("GET", "/admin/audit?from=2026-13-01&actor=x", ADMIN_ONLY),  # a bad date: the error beside the field
    R("GET", "/admin/audit/{audit_entry}", ADMIN_ONLY),
    R("POST", "/admin/audit/verify", ADMIN_ONLY, ok={ADMIN: 303}),
    R("GET", "/verify/{code}", EVERYONE, public=True),
    R("GET", "/verify/{nothing}", EVERYONE, public=True, ok={"*": 404}),
    # admin: API clients and webhooks (an active client, its endpoint, a delivery waiting to be sent)
    R("GET", "/admin/clients", ADMIN_ONLY),
    R("POST", "/admin/clients", ADMIN_ONLY, ok={ADMIN: 201}, data={"name": "matrix client", "scopes": "payments"}),
    R("POST", "/admin/clients/{api_client}/revoke", ADMIN_ONLY),
    R("POST", "/admin/clients/{nothing_id}/revoke", ADMIN_ONLY, ok={ADMIN: 404}),
    R("POST", "/admin/clients/{api_client}/rotate", ADMIN_ONLY, ok={ADMIN: 201}, data={"overlap_hours": "24"}),
    R("POST", "/admin/clients/{nothing_id}/rotate", ADMIN_ONLY, ok={ADMIN: 404}, data={"overlap_hours": "1"}),
    R("POST", "/admin/clients/{api_client}/endpoints", ADMIN_ONLY, ok={ADMIN: 422}, data={"url": "http://10.0.0.1/x"}),
    R("POST", "/admin/endpoints/{endpoint}/enabled", ADMIN_ONLY, data={"enabled": "false"}),
    R("POST", "/admin/endpoints/{nothing_id}/enabled", ADMIN_ONLY, ok={ADMIN: 404}, data={"enabled": "false"}),
    R("POST", "/admin/endpoints/{endpoint}/rotate-secret", ADMIN_ONLY),
    R("GET", "/admin/endpoints/{endpoint}/deliveries", ADMIN_ONLY),
    R("GET", "/admin/endpoints/{nothing_id}/deliveries", ADMIN_ONLY, ok={ADMIN: 404}),
    R("POST", "/admin/endpoints/{endpoint}/deliveries/{delivery}/replay", ADMIN_ONLY, ok={ADMIN: 409}),  # not sent yet
    R("POST", "/admin/endpoints/{nothing_id}/deliveries/{delivery}/replay", ADMIN_ONLY, ok={ADMIN: 404}),
    R("POST", "/admin/endpoints/{endpoint}/replay-failed", ADMIN_ONLY,
      data={"since": "2020-01-01T00:00", "until": "2020-12-31T00:00"}),
    # admin: payment channels (R1001's WIRE_ICBC; it is not online, so it has no callback secret)
    R("GET", "/admin/channels", ADMIN_ONLY),
    R("GET", "/admin/channels/{wire}", ADMIN_ONLY),
    R("GET", "/admin/channels/{nothing}", ADMIN_ONLY, ok={ADMIN: 404}),
    R("POST", "/admin/channels/{wire}", ADMIN_ONLY, ok={ADMIN: 422}),  # no name, no smallest payment
    R("POST", "/admin/channels/{wire}", ADMIN_ONLY, ok={ADMIN: 303},
      data={"name": "电汇", "min_amount": "0.01", "enabled": "true", "available_to_all": "true"}),
    R("POST", "/admin/channels/{nothing}", ADMIN_ONLY, ok={ADMIN: 404}, data={"name": "x", "min_amount": "1"}),
    R("POST", "/admin/channels/{wire}/rotate-secret", ADMIN_ONLY, ok={ADMIN: 409}, data={"overlap_hours": "24"}),
    R("POST", "/admin/channels/{wire}/rotate-secret", ADMIN_ONLY, ok={ADMIN: 422}, data={"overlap_hours": "x"}),
    # admin: users (finance2@ is the one acted on); the password link is public, its token the credential
    R("GET", "/admin/users", ADMIN_ONLY),
    R("POST", "/admin/users", ADMIN_ONLY, ok={ADMIN: 422}),  # no e-mail, no role
    R("POST", "/admin/users", ADMIN_ONLY, ok={ADMIN: 201},
      data={"email": "matrix@example.com", "role": "finance", "locale": "en"}),
    R("POST", "/admin/users/{finance2}/sign-out", ADMIN_ONLY, ok={ADMIN: 303}),
    R("POST", "/admin/users/{finance2}/reset-password", ADMIN_ONLY),
    R("POST", "/admin/users/{finance2}/disable", ADMIN_ONLY, ok={ADMIN: 303}),
    R("POST", "/admin/users/{finance2}/enable", ADMIN_ONLY, ok={ADMIN: 303}),
    R("POST", "/admin/users/{nothing_id}/disable", ADMIN_ONLY, ok={ADMIN: 404}),
    R("GET", "/password/set/{nothing}", EVERYONE, public=True, ok={"*": 404}),
    # admin: reseller settings
    R("GET", "/admin/resellers", ADMIN_ONLY),
    R("GET", "/admin/resellers/{r1001_code}", ADMIN_ONLY),
    R("GET", "/admin/resellers/{nothing}", ADMIN_ONLY, ok={ADMIN: 404}),
    R("POST", "/admin/resellers/{r1001_code}", ADMIN_ONLY, ok={ADMIN: 422}),  # no amounts
    R("POST", "/admin/resellers/{r1001_code}", ADMIN_ONLY, ok={ADMIN: 303},
      data={"approval_threshold": "1000000.00", "credit_limit": "1000000.00", "credit_term_days": "30"}),
    R("POST", "/admin/resellers/{nothing}", ADMIN_ONLY, ok={ADMIN: 404}),
    R("POST", "/password/set/{nothing}", EVERYONE, public=True, ok={"*": 404}),
    # admin: alerts ({alert} is an OPEN one); finance sees its alerts read-only on /finance, never acts
    R("GET", "/admin/alerts", ADMIN_ONLY),
    R("GET", "/admin/alerts?state=NOPE&kind=nope", ADMIN_ONLY, ok={ADMIN: 422}),
    R("POST", "/admin/alerts/{alert}/acknowledge", ADMIN_ONLY, ok={ADMIN: 303}, data={"note": "looking"}),
    R("POST", "/admin/alerts/{alert}/resolve", ADMIN_ONLY, ok={ADMIN: 422}),  # no note: refused
    R("POST", "/admin/alerts/{alert}/resolve", ADMIN_ONLY, ok={ADMIN: 303}, data={"note": "settled by finance"}),
    R("POST", "/admin/alerts/{nothing_id}/resolve", ADMIN_ONLY, ok={ADMIN: 404}, data={"note": "x"}),
    # notifications: each person's own; {notification} is operator@r1001's (a payment result), 404 to anyone else
    R("GET", "/notifications", EVERYONE),
    R("GET", "/notifications?page=abc", EVERYONE),
    R("GET", "/notifications/count", EVERYONE, ok={"*": 303}),  # the part alone is for HTMX
    R("POST", "/notifications/{notification}/read", EVERYONE,
      ok={OP1: 303, AP1: 404, OP2: 404, FIN: 404, ADMIN: 404}),
    R("POST", "/notifications/{nothing_id}/read", EVERYONE, ok={"*": 404}),
    R("POST", "/notifications/read-all", EVERYONE, ok={"*": 303}),
]


def token_page(who: str) -> str:
    """A page of this person's that carries a CSRF token."""
    if who == "anonymous":
        return "/login"
    return "/wallet" if ROLE[who] in RESELLER else "/finance/vouchers" if ROLE[who] == "finance" else "/admin"
