"""The portal's screens (docs/SCREENS.md): one module per screen area, each with its own blueprint ``bp``."""

from __future__ import annotations

from importlib import import_module

from flask import Flask

# Every module here defines ``bp``; its views are wrapped with ``access.allow``.
SCREEN_MODULES = (
    "auth",  # /login, /logout, language
    "account",  # /account/password
    "home",  # /  (reseller dashboard; staff are sent to their desk)
    "orders",  # /orders, /orders/<paymentId>, exports
    "checkout",  # /checkout
    "payments",  # /payments, /payments/<mergedPaymentId>, voucher upload
    "approvals",  # /approvals
    "wallet",  # /wallet
    "credit",  # /credit
    "statements",  # /statements
    "finance_desk",  # /finance (the finance dashboard)
    "finance_transactions",  # /finance/transactions, /finance/transactions/<transactionId>
    "finance_vouchers",  # /finance/vouchers
    "finance_refunds",  # /finance/refunds
    "finance_disbursements",  # /finance/disbursements
    "finance_batches",  # /finance/disbursements/batches/... (batch payouts, 批量付款)
    "finance_reports",  # /finance/reports
    "finance_wallets",  # /finance/wallets
    "finance_reconciliation",  # /finance/reconciliation
    "finance_wire_statements",  # /finance/reconciliation/statements/... (bank statement upload, wire auto-match)
    "finance_recon_exceptions",  # /finance/reconciliation/exceptions/... (requery, accept, link, write off; approve)
    "finance_receipts",  # /finance/reconciliation/receipts/... (unidentified receipts: accept, link, assign, return)
    "finance_reconciliation_export",  # /finance/reconciliation/export (a day as CSV/XLSX/PDF)
    "finance_reconciliation_runs",  # /finance/reconciliation/runs (reconcile a day now, the runs' live view)
    "admin",  # /admin (health), /admin/jobs
    "admin_audit",  # /admin/audit
    "documents",  # /documents/<number>/pdf, retry, /finance/documents, /verify/<code> (public)
    "admin_clients",  # /admin/clients, /admin/endpoints/<id>/deliveries (API clients, webhooks)
    "admin_channels",  # /admin/channels (limits, availability, maintenance, callback secret rotation)
    "admin_users",  # /admin/users, /password/set/<token> (the one-time password link)
    "admin_resellers",  # /admin/resellers (approval threshold, credit, refund account)
    "admin_alerts",  # /admin/alerts (acknowledge, resolve); finance sees its alerts on /finance
    "notifications",  # /notifications, /notifications/count (the header's unread count)
)


def register_web(app: Flask) -> None:
    for name in SCREEN_MODULES:
        module = import_module(f"{__name__}.{name}")
        app.register_blueprint(module.bp)
