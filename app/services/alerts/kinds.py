"""The kinds of alert, who sees them and how bad they are. A kind not listed here (a new caller)
is a warning that admins see; finance sees the kinds about money (read-only, on ``/finance``)."""

from __future__ import annotations

from ...models.alert import AlertSeverity

LARGE_PAYMENT_FAILED = "large_payment_failed"
CALLBACK_MISSING = "callback_missing"
RECONCILIATION_EXCEPTIONS = "reconciliation_exceptions"
WEBHOOK_ENDPOINT_DEAD = "webhook_endpoint_dead"
PAYOUT_MANUAL = "payout_manual"
DOCUMENT_FAILED = "document_failed"
LEDGER_BALANCE_MISMATCH = "ledger_balance_mismatch"

# Kinds raised elsewhere since before alerts were rows (settlement, refunds, reconciliation).
FINANCE_KINDS = frozenset({
    LARGE_PAYMENT_FAILED, CALLBACK_MISSING, RECONCILIATION_EXCEPTIONS, PAYOUT_MANUAL, DOCUMENT_FAILED,
    LEDGER_BALANCE_MISMATCH,
    "late_callback", "amount_mismatch", "unknown_at_channel", "statement_missing", "late_refund_callback",
    "refunded_repayment_without_record", "refunded_repayment_excess",
})

CRITICAL_KINDS = frozenset({LARGE_PAYMENT_FAILED, "amount_mismatch", "refunded_repayment_excess",
                            LEDGER_BALANCE_MISMATCH})

# The kinds the screens offer as a filter (others still show, unfiltered).
KNOWN_KINDS = tuple(sorted(FINANCE_KINDS | {WEBHOOK_ENDPOINT_DEAD}))


def severity_of(kind: str) -> AlertSeverity:
    return AlertSeverity.CRITICAL if kind in CRITICAL_KINDS else AlertSeverity.WARNING
