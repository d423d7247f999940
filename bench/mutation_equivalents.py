"""Surviving mutants of bench/mutation.py that no test can kill, each with the reason it is equivalent
(the program behaves the same with it). Keyed by module, operator, the source line's text and the
column, as the report prints them; a verdict is read from here only for a mutant that survived."""

from __future__ import annotations

# (module, operator, source line text, column) -> why the mutant cannot change behaviour
MONEY = "app/domain/money.py"
CREDIT = "app/services/ledgers/credit_line.py"
STATES = "app/domain/payment_states.py"
ORDER = "app/domain/order_status.py"
WALLET = "app/services/ledgers/wallet.py"
SETTLE = "app/services/settlement/channel_result.py"
VALIDATION = "app/services/checkout/validation.py"
ALLOC = "app/services/refunds/allocation.py"
SHARES_ORDER = "for s in sorted(shares, key=lambda s: (-s.remainder, -s.refundable_cents, s.index)):"
NE, EQ = "core/ReplaceComparisonOperator_Gt_NotEq", "core/ReplaceComparisonOperator_GtE_Eq"
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
    (ORDER, NE, "if reserved > 0:", 16):
        "an order's reserved amount is never negative (CHECK reserved_amount >= 0): `!= 0` and `> 0` agree",
    (ORDER, NE, "if paid > 0:", 12):
        "an order's paid amount is never negative (CHECK paid_amount >= 0): `!= 0` and `> 0` agree",
    (ORDER, NE, "if refunded > 0 and refunded >= paid:", 16):
        "an order's refunded amount is never negative (CHECK refunded_amount >= 0): `!= 0` and `> 0` agree",
    (ORDER, NE, "if refunded > 0:", 16):
        "an order's refunded amount is never negative (CHECK refunded_amount >= 0): `!= 0` and `> 0` agree",
    (ORDER, NE, "if refunding > 0:", 17):
        "an order's refunding amount is never negative (CHECK refunding_amount >= 0): `!= 0` and `> 0` agree",
    (ORDER, EQ, "if paid >= amount:", 12):
        "an order is never paid above its amount (CHECK paid_amount <= payment_amount): `==` and `>=` agree",
    (ORDER, EQ, "if refunded > 0 and refunded >= paid:", 33):
        "an order never refunds more than was paid (CHECK refunded_amount <= paid_amount): `==` and `>=` agree",
    (WALLET, "core/ReplaceBinaryOperator_Mul_Div",
     "def post(reseller_id: int, amount: Decimal, entry_type: str, *, reference: str | None, actor: str,", 61):
        "the `*` of the signature made `/`: the parameters after it become positional-or-keyword instead of "
        "keyword-only; every call passes them by keyword, so nothing runs differently (mypy and ruff see the "
        "signature, not the tests)",
    (WALLET, "core/ReplaceComparisonOperator_Eq_GtE", "if entry_type == WalletEntryType.TOPUP and amount <= 0:", 18):
        "entry_type is a WalletEntryType, and TOPUP is the greatest of them as text (ADJUST, EXCESS, PAYMENT, "
        "PAYMENT_RELEASE, REFUND, TOPUP), so `>= TOPUP` holds for TOPUP only",
    (SETTLE, "core/ReplaceComparisonOperator_Eq_LtE",
     "PaymentTransaction.status == TransactionStatus.PROCESSING)", 70):
        "`<= PROCESSING` also takes FAILED rows, and a channel payment that is not final has none: its "
        "allocations are made PROCESSING and leave it only in this settlement, which makes the channel "
        "payment final in the same transaction (a final one returns before the query; refunds need a SUCCESS)",
    (SETTLE, "core/ReplaceComparisonOperator_Eq_GtE",
     "PaymentTransaction.status == TransactionStatus.PROCESSING)", 70):
        "`>= PROCESSING` also takes SUCCESS rows, and a channel payment that is not final has none: its "
        "allocations are made PROCESSING and leave it only in this settlement, which makes the channel "
        "payment final in the same transaction (a final one returns before the query)",
    (SETTLE, "core/ReplaceComparisonOperator_Lt_NotEq", "if share < txn.amount:", 17):
        "a share is min(what is left, the allocation's amount), never above the amount: `!=` and `<` agree",
    (SETTLE, "core/ReplaceComparisonOperator_Eq_GtE", "if outcome.status == ChannelPaymentStatus.SUCCESS:", 22):
        "an outcome is final: SUCCESS, FAILED, EXPIRED or CANCELLED, and SUCCESS is the greatest of them as "
        "text, so `>= SUCCESS` holds for SUCCESS only",
    (SETTLE, "core/ReplaceComparisonOperator_Eq_LtE", 'if event_type == "transaction.failed":', 26):
        "the event is transaction.succeeded or transaction.failed, and as text only the failed one is "
        "<= transaction.failed",
    (SETTLE, "core/ReplaceComparisonOperator_Eq_LtE", "order.last_attempt_failed = order.paid_amount == 0", 54):
        "an order's paid amount is never negative (CHECK paid_amount >= 0): `<= 0` and `== 0` agree",
    (SETTLE, "core/ReplaceComparisonOperator_Gt_NotEq", "if excess > 0:", 18):
        "the excess of a repayment is the amount less what was applied, at most the amount: never "
        "negative, so `!= 0` and `> 0` agree",
    (SETTLE, "core/ReplaceComparisonOperator_Gt_NotEq", "if covered > 0:", 15):
        "covered is a share, min(what is left of the amount received, the allocation), and the amount "
        "received is never negative (finance's confirmation refuses <= 0; a rejection records 0.00)",
    (SETTLE, "core/ReplaceTrueWithFalse", "@dataclass(frozen=True)", 18):
        "no code assigns to an Outcome (or a _Settling: the same line text) or hashes one; frozen keeps "
        "code from changing a result while it is applied (mypy reports such an assignment), it changes "
        "nothing the running code does",
    (VALIDATION, "core/ReplaceTrueWithFalse", "@dataclass(frozen=True)", 18):
        "no code assigns to an AllocationIn or a RowProblem (the same line text) or hashes one; frozen "
        "keeps a caller from changing a row after it was validated (mypy reports such an assignment)",
    (VALIDATION, "core/NumberReplacer", "ch = group[0].channel", 19):
        "the rows of a group are grouped by channel id just above, so every row of it has the same "
        "channel: the first and the last give the same one",
    (VALIDATION, "core/ReplaceFalseWithTrue",
     "def validate(reseller_id: int, rows: list[AllocationIn], *, lock: bool = False) -> Plan:", 73):
        "only locking changes, and the mutation run is on SQLite, where FOR UPDATE compiles to nothing "
        "(BEGIN IMMEDIATE serialises writers, app/db_setup.py). On PostgreSQL the locks are what "
        "tests/engine/test_engine_concurrency.py and tests/integration/test_concurrency.py exercise",
    (VALIDATION, "core/AddNot", "if lock:", 7):
        "only locking changes, and the mutation run is on SQLite, where FOR UPDATE compiles to nothing "
        "(see the entry above)",
    (VALIDATION, "core/AddNot", "reseller = db.session.scalars(reseller_stmt.with_for_update() if lock else "
     "reseller_stmt).one()", 69):
        "only locking changes, and the mutation run is on SQLite, where FOR UPDATE compiles to nothing "
        "(see the entries above)",
    (VALIDATION, "core/ReplaceBinaryOperator_Mul_Div",
     "def validate(reseller_id: int, rows: list[AllocationIn], *, lock: bool = False) -> Plan:", 57):
        "the bare `*` made `/` only lets `lock` be passed by position too; every caller names it",
    (VALIDATION, "core/ReplaceComparisonOperator_Eq_LtE",
     "if channel.kind == ChannelKind.CREDIT and order.payment_type == PaymentType.CREDIT_REPAYMENT:", 24):
        "the kind CHECK allows ONLINE, WALLET, WIRE and CREDIT, and 'CREDIT' sorts first of them: `<= CREDIT` "
        "holds for CREDIT only",
    (VALIDATION, "core/ReplaceComparisonOperator_Eq_LtE",
     "elif ch.kind == ChannelKind.CREDIT and total > credit_line.available(reseller):", 21):
        "the kind CHECK allows ONLINE, WALLET, WIRE and CREDIT, and 'CREDIT' sorts first of them: `<= CREDIT` "
        "holds for CREDIT only",
    # refunds/allocation.py: the rest of its survivors are killed by tests/unit/test_refund_allocation.py.
    (ALLOC, "core/AddNot", "if TYPE_CHECKING:", 3):
        "typing only: under `from __future__ import annotations` the imported RefundInstruction is read "
        "by mypy, never at run time; importing it at run time as well changes nothing (no import cycle)",
    (ALLOC, NE, "if take > 0:", 16):
        "take = min(left, refundable_amount): left > 0 inside the loop (it starts at the positive amount and "
        "the loop stops at 0) and refundable_amount >= 0 (CHECK), so take is never negative",
    (ALLOC, "core/ReplaceComparisonOperator_Eq_Lt", "if left == 0:", 16):
        "left never goes below 0 (each take is at most left): the mutant never stops the loop early, and "
        "the remaining iterations take min(0, x) = 0, which adds no part",
    (ALLOC, "core/ReplaceComparisonOperator_Eq_LtE", "if left == 0:", 16):
        "left never goes below 0 (each take is at most left; the same key is the PROPORTIONAL loop's "
        "`if left == 0:`, where left counts spare cents down to 0), so `<= 0` and `== 0` agree",
    (ALLOC, "core/NumberReplacer", "if left == 0:", 19):
        "the 0 made -1: left is never negative, so the loop just runs on and takes nothing more (the 0 "
        "made 1, the same key, stopped with 1.00 left and is killed by "
        "test_latest_spills_into_older_payments_until_the_last_cent)",
    (ALLOC, "core/ReplaceBreakWithContinue", "break", 12):
        "both loops: after left reaches 0 every later iteration adds nothing (LATEST takes min(0, x) = 0; "
        "PROPORTIONAL meets `left == 0` again and continues), so stopping and continuing agree",
    (ALLOC, "core/ReplaceComparisonOperator_Gt_GtE",
     "rows = [(t, int(t.refundable_amount / CENT)) for t in txns if t.refundable_amount > 0]", 86):
        "a transaction with 0.00 refundable gets 0 cents and remainder 0: it never receives a spare cent "
        "(0 < 0 is false) and the result drops parts of 0 cents",
    (ALLOC, NE, "rows = [(t, int(t.refundable_amount / CENT)) for t in txns if t.refundable_amount > 0]", 86):
        "refundable_amount >= 0 (CHECK): `!= 0` and `> 0` agree",
    (ALLOC, "core/NumberReplacer",
     "rows = [(t, int(t.refundable_amount / CENT)) for t in txns if t.refundable_amount > 0]", 88):
        "the 0 made -1: refundable_amount >= 0 (CHECK), so `> -1` keeps the 0.00 rows, which get no part "
        "(see `>= 0`); the 0 made 1 is killed by test_proportional_includes_payments_below_one_yuan",
    (ALLOC, "core/ReplaceComparisonOperator_Eq_Lt", "if total == 0 or want > total:", 13):
        "total >= 0; when it is 0, `want > total` raises as well: want >= 1 because plan refused an amount "
        "below 0.01 before calling the split",
    (ALLOC, "core/ReplaceComparisonOperator_Eq_LtE", "if total == 0 or want > total:", 13):
        "total is never negative, so `<= 0` and `== 0` agree",
    (ALLOC, "core/NumberReplacer", "if total == 0 or want > total:", 16):
        "the 0 made -1: total is never negative and total == 0 raises through `want > total` anyway "
        "(want >= 1); the 0 made 1 is killed by test_proportional_includes_payments_below_one_yuan",
    (ALLOC, "core/ReplaceUnaryOperator_USub_Invert", SHARES_ORDER, 43):
        "~r is -r - 1: the same order as -r for every integer",
    (ALLOC, "core/ReplaceUnaryOperator_USub_Invert", SHARES_ORDER, 57):
        "~c is -c - 1: the same order as -c for every integer",
    (ALLOC, "core/ReplaceComparisonOperator_Lt_LtE", "if s.cents < s.refundable_cents:", 19):
        "the guard never refuses: a spare cent exists only when want < total, and then each share "
        "q = floor(want * c / total) < c, so q + 1 <= c; when want == total every remainder is 0 and no "
        "cent is spare. Kept as a backstop against a change of the arithmetic",
    (ALLOC, "core/ReplaceComparisonOperator_Lt_NotEq", "if s.cents < s.refundable_cents:", 19):
        "a share never exceeds its refundable cents (floor of a fraction of it), so `!=` and `<` agree",
    (ALLOC, NE,
     "return [(s.txn, (Decimal(s.cents) * CENT).quantize(CENT, rounding=ROUND_DOWN)) for s in shares if s.cents > 0]",
     110):
        "cents are never negative (floor of a non-negative product, plus spare cents)",
    (ALLOC, "core/ReplaceComparisonOperator_Eq_LtE",
     "if ins.refund_type == RefundType.FULL and ins.amount != refundable:", 23):
        "the schema admits FULL and PARTIAL only, and 'PARTIAL' <= 'FULL' is false: `<=` and `==` agree",
    (ALLOC, "core/ReplaceComparisonOperator_Eq_GtE", "if ins.strategy == RefundStrategy.SPECIFIED:", 20):
        "the schema admits LATEST, PROPORTIONAL and SPECIFIED only, and SPECIFIED is the greatest as text: "
        "`>=` and `==` agree",
    (ALLOC, "core/ReplaceComparisonOperator_Eq_GtE", "if ins.strategy == RefundStrategy.PROPORTIONAL:", 20):
        "SPECIFIED returned above; of LATEST and PROPORTIONAL only PROPORTIONAL is >= 'PROPORTIONAL'",
    (ALLOC, "core/ReplaceComparisonOperator_Eq_GtE",
     "partial = ins.refund_type == RefundType.PARTIAL or part < orig.amount", 30):
        "of FULL and PARTIAL (the schema's only types) only PARTIAL is >= 'PARTIAL'",
    (ALLOC, "core/ReplaceComparisonOperator_Lt_NotEq",
     "partial = ins.refund_type == RefundType.PARTIAL or part < orig.amount", 60):
        "a part is at most its transaction's refundable amount, which is at most its amount (CHECK), so "
        "`!=` and `<` agree",
    (ALLOC, "core/ReplaceComparisonOperator_Eq_GtE", "if orig.channel_kind == ChannelKind.WIRE:", 25):
        "WIRE is the greatest channel kind as text (CREDIT, ONLINE, WALLET, WIRE): `>=` and `==` agree",
    (ALLOC, "core/ReplaceComparisonOperator_Eq_Gt", "if orig.channel_kind == ChannelKind.WIRE:", 25):
        "skipping this early check changes no outcome: the same transaction then starts the WIRE part's "
        "payout (refunds/creation.py -> refunds/wire.start), which calls the same refund_account and "
        "raises the same StateConflict, so the refund is refused and nothing is stored either way",
}


def equivalence_reason(module: str, operator: str, source: str, column: int) -> str | None:
    return EQUIVALENT.get((module, operator, source, column))
