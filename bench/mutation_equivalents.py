"""Surviving mutants of bench/mutation.py that no test can kill, each with the reason it is equivalent
(the program behaves the same with it). Keyed by module, operator, the source line's text and the
column, as the report prints them; a verdict is read from here only for a mutant that survived."""

from __future__ import annotations

# (module, operator, source line text, column) -> why the mutant cannot change behaviour
MONEY = "app/domain/money.py"
CREDIT = "app/services/ledgers/credit_line.py"
STATES = "app/domain/payment_states.py"
EQUIVALENT: dict[tuple[str, str, str, int], str] = {
    (MONEY, "core/ExceptionReplacer",
     "except InvalidOperation as exc:  # pragma: no cover - guarded by the bounds above", 11):
        "unreachable: the amount is finite with at most 13 digits, so quantize(CENT) fits the context's 28 "
        "digits and never raises InvalidOperation; a defensive branch kept for a changed decimal context",
    (MONEY, "core/RemoveDecorator", "@overload", 0):
        "typing only: without @overload the stub is a plain def that the next definition (finally the "
        "implementation) replaces at import; mypy, not the running code, reads the overloads",
    (CREDIT, "core/ReplaceComparisonOperator_NotEq_Gt",
     "if r.status != ResellerStatus.ACTIVE or r.credit_status != CreditLineStatus.ACTIVE:", 16):
        "the status CHECK allows only ACTIVE and SUSPENDED, and 'SUSPENDED' > 'ACTIVE': `>` and `!=` agree "
        "on every value a row can hold (a third status would need a migration of the CHECK)",
    (CREDIT, "core/ReplaceComparisonOperator_NotEq_Gt",
     "if r.status != ResellerStatus.ACTIVE or r.credit_status != CreditLineStatus.ACTIVE:", 60):
        "the credit_status CHECK allows only ACTIVE and SUSPENDED, and 'SUSPENDED' > 'ACTIVE': `>` and `!=` "
        "agree on every value a row can hold",
    (CREDIT, "core/ReplaceComparisonOperator_Gt_NotEq", "if applied > 0:", 15):
        "applied = min(amount, outstanding) is never negative: the amount repaid is a PAYMENT transaction's "
        "(CHECK amount > 0) and outstanding_amount >= 0 (CHECK), so `!= 0` and `> 0` agree",
    (CREDIT, "core/ReplaceComparisonOperator_Eq_LtE",
     "rec.status = CreditRecordStatus.REPAID if rec.outstanding_amount == 0 else rec.status", 73):
        "outstanding_amount never goes below 0 (applied is at most the outstanding amount; CHECK "
        "outstanding_amount >= 0), so `<= 0` and `== 0` agree",
    (STATES, "core/ReplaceComparisonOperator_Eq_GtE", "if all(s == CP.SUCCESS for s in statuses):", 13):
        "every status here is final (checked just above): SUCCESS, FAILED, EXPIRED or CANCELLED, and as text "
        "SUCCESS is the greatest of them, so `>= SUCCESS` holds for SUCCESS only",
    (STATES, "core/ReplaceComparisonOperator_Eq_LtE", "if all(s == CP.CANCELLED for s in statuses):", 13):
        "here every status is final and none is SUCCESS: CANCELLED, EXPIRED or FAILED, and as text CANCELLED "
        "is the least of them, so `<= CANCELLED` holds for CANCELLED only",
}


def equivalence_reason(module: str, operator: str, source: str, column: int) -> str | None:
    return EQUIVALENT.get((module, operator, source, column))
