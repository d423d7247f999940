"""One status vocabulary: the StrEnums of app/domain/enums.py.

- The use cases, jobs and channel adapters write no status word as a string literal: a literal equal
  to an enum value is refused wherever it stands (a comparison, an assignment to ``status``, a call
  argument, a tuple of statuses ...), except in docstrings and in the bodies of enum classes, which
  define words of their own. ``ALLOWED`` lists what must stay a literal, each with its reason.
- The CHECK constraints of the models are generated from the enums and are, to the character, what
  the migrations wrote (alembic's comparison does not look at CHECK constraints).
- The payable and overdue rules of a payment order are stated once (app/domain/order_status.py).
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from enum import Enum, StrEnum
from pathlib import Path

import pytest
import sqlalchemy as sa

import app.models  # noqa: F401  (registers every table)
from app.domain import enums
from app.domain.enums import PaymentStatus
from app.domain.order_status import NEVER_OVERDUE, NOT_PAYABLE, is_overdue, is_payable_status
from app.extensions import db
from app.models.types import sql_values

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("app/services", "app/jobs", "app/channels")
ENUMS = [e for e in vars(enums).values() if isinstance(e, type) and issubclass(e, StrEnum) and e is not StrEnum]
WORDS = {m.value for e in ENUMS for m in e}

# (path relative to the repository, the literal) -> why it stays a literal. Keep it short.
ALLOWED: dict[tuple[str, str], str] = {}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _enum_bodies(tree: ast.AST) -> set[int]:
    """Constants inside classes that derive from an enum (``class MemoCode(StrEnum)``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(ast.unparse(b).endswith("Enum") for b in node.bases):
            found |= {id(n) for n in ast.walk(node)}
    return found


def status_literals(source: str) -> list[tuple[int, str]]:
    """(line, word) of every string literal in ``source`` that is a word of the status vocabulary."""
    tree = ast.parse(source)
    skip = _docstrings(tree) | _enum_bodies(tree)
    return sorted((n.lineno, n.value) for n in ast.walk(tree)
                  if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in WORDS
                  and id(n) not in skip)


def _scanned_files() -> list[Path]:
    files = sorted(p for d in SCANNED for p in (ROOT / d).rglob("*.py"))
    assert len(files) > 50, "the scan found too few modules: has the layout moved?"
    return files


def test_no_status_word_is_written_as_a_literal():
    found = []
    for path in _scanned_files():
        rel = path.relative_to(ROOT).as_posix()
        lines = path.read_text(encoding="utf-8").splitlines()
        for line, word in status_literals("\n".join(lines)):
            if (rel, word) not in ALLOWED:
                found.append(f"{rel}:{line}: {word!r} in  {lines[line - 1].strip()}")
    assert not found, "use the enum member (app/domain/enums.py) instead of:\n" + "\n".join(found)


@pytest.mark.parametrize("source, words", [
    ('if cp.status == "PROCESSING":\n    pass\n', ["PROCESSING"]),
    ('ok = mp.status not in ("PENDING_APPROVAL", "PROCESSING")\n', ["PENDING_APPROVAL", "PROCESSING"]),
    ('d.status, d.next_poll_at = "MANUAL", None\n', ["MANUAL"]),
    ('txn = Txn(transaction_type="PAYMENT", status=TransactionStatus.SUCCESS)\n', ["PAYMENT"]),
    ('q = Refund.status.in_(("FAILED", "PARTIALLY_FAILED"))\n', ["FAILED", "PARTIALLY_FAILED"]),
    ('wallet.post(rid, amount, "REFUND", reference=ref)\n', ["REFUND"]),
    ('def f(entry_type: str = "TOPUP"):\n    return "REPAID"\n', ["REPAID", "TOPUP"]),
    ('if role == "finance":\n    pass\n', ["finance"]),
    # Not status words: docstrings, other words, enum definitions, and the enum members themselves.
    ('"""PROCESSING orders are SUCCESS."""\nx = "processing"\n', []),
    ('class Memo(StrEnum):\n    """PAYMENT."""\n    PAYMENT = "PAYMENT"\n', []),
    ('if cp.status == ChannelPaymentStatus.PROCESSING:\n    pass\n', []),
])
def test_the_guard_sees_literals_in_every_position(source, words):
    assert sorted(w for _, w in status_literals(source)) == sorted(words)


def test_every_allowed_literal_is_still_there():
    for (rel, word), reason in ALLOWED.items():
        assert reason.strip()
        assert word in {w for _, w in status_literals((ROOT / rel).read_text(encoding="utf-8"))}, (rel, word)


# --- CHECK constraints --------------------------------------------------------------------------

def _migration_checks() -> dict[str, set[str]]:
    """Constraint name -> the CHECK texts the migrations give it (``sa.CheckConstraint(text, name=op.f(n))``)."""
    checks: dict[str, set[str]] = {}
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "CheckConstraint":
                name, text = next(k.value for k in node.keywords if k.arg == "name"), node.args[0]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "create_check_constraint":
                # op.create_check_constraint(op.f(name), table, text); batch_op.create_check_constraint(name, text)
                name, text = node.args[0], node.args[-1]
            else:
                continue
            if isinstance(name, ast.Call):  # op.f("ck_...")
                name = name.args[0]
            checks.setdefault(name.value, set()).add(text.value)
    return checks


def _model_checks() -> dict[str, str]:
    return {c.name: c.sqltext.text for t in db.metadata.tables.values() for c in t.constraints
            if isinstance(c, sa.CheckConstraint)}


def test_every_check_constraint_is_the_migrations_text_exactly():
    in_migrations, in_models = _migration_checks(), _model_checks()
    lists = {name: text for name, text in in_models.items() if " IN (" in text}
    assert len(lists) >= 15
    for name, text in in_models.items():
        assert text in in_migrations.get(name, set()), (name, text, in_migrations.get(name))


@pytest.mark.parametrize("enum_class", ENUMS, ids=lambda e: e.__name__)
def test_sql_values_lists_an_enum_in_declaration_order(enum_class):
    text = sql_values(enum_class)
    assert text == "(" + ",".join(f"'{m}'" for m in enum_class) + ")"
    assert text.startswith("('") and text.endswith("')")


def test_sql_values_keeps_the_order_given_and_refuses_a_quote():
    assert sql_values([PaymentStatus.PAID, PaymentStatus.UNPAID]) == "('PAID','UNPAID')"
    quoted = Enum("Quoted", {"BAD": "it's"}, type=str)
    with pytest.raises(ValueError):
        sql_values(quoted)


def test_the_status_columns_are_checked_against_their_enum():
    checks = _model_checks()
    expected = {
        "ck_payment_orders_payment_status": ("payment_status", enums.PaymentStatus),
        "ck_payment_orders_refund_status": ("refund_status", enums.RefundStatus),
        "ck_payment_orders_payment_type": ("payment_type", enums.PaymentType),
        "ck_merged_payments_status": ("status", enums.MergedPaymentStatus),
        "ck_channel_payments_status": ("status", enums.ChannelPaymentStatus),
        "ck_transactions_status": ("status", enums.TransactionStatus),
        "ck_transactions_type": ("transaction_type", enums.TransactionType),
        "ck_refunds_status": ("status", enums.RefundOrderStatus),
        "ck_refunds_type": ("refund_type", enums.RefundType),
        "ck_refunds_strategy": ("strategy", enums.RefundStrategy),
        "ck_vouchers_status": ("status", enums.VoucherStatus),
        "ck_disbursements_status": ("status", enums.DisbursementStatus),
        "ck_credit_records_status": ("status", enums.CreditRecordStatus),
        "ck_resellers_status": ("status", enums.ResellerStatus),
        "ck_channels_kind": ("kind", enums.ChannelKind),
        "ck_webhook_deliveries_status": ("status", enums.DeliveryStatus),
        "ck_users_role": ("role", enums.Role),
    }
    for name, (column, enum_class) in expected.items():
        assert checks[name] == f"{column} IN {sql_values(enum_class)}"


# --- one payable rule, one overdue rule -----------------------------------------------------------

def test_payable_statuses():
    payable = {s for s in PaymentStatus if is_payable_status(s)}
    assert payable == {PaymentStatus.UNPAID, PaymentStatus.PAYING, PaymentStatus.PARTIAL_PAID, PaymentStatus.FAILED}
    assert NOT_PAYABLE == set(PaymentStatus) - payable
    assert is_payable_status("UNPAID") and not is_payable_status("FROZEN")  # the stored text


NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", list(PaymentStatus), ids=str)
def test_overdue(status):
    late, early = NOW - timedelta(seconds=1), NOW + timedelta(seconds=1)
    expected = status not in (PaymentStatus.PAID, PaymentStatus.STOPPED)
    assert is_overdue(status, late, NOW) is expected
    assert is_overdue(status.value, late, NOW) is expected
    assert is_overdue(status, early, NOW) is False
    assert is_overdue(status, NOW, NOW) is False  # due at this instant: not late yet
    assert is_overdue(status, None, NOW) is False  # no deadline, never overdue
    assert (status in NEVER_OVERDUE) is not expected
