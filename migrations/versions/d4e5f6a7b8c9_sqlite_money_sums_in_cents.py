"""SQLite: the CHECK constraints that add two amounts compare whole cents.

SQLite keeps NUMERIC values as binary floats, so ``a + b <= c`` can be false for amounts that add up
exactly (1237.97 + 1118.67 > 2356.64, 0.01 + 118.12 > 118.13): paying the rest of a partly paid
order, or refunding the rest of a partly refunded one, failed about one time in nine. Compared as
``ROUND(x * 100)`` the sums are exact again. PostgreSQL's NUMERIC is exact; it is left alone.

SQLite cannot alter a constraint, and rebuilding these tables would trip the foreign keys that
point at them, so the table definitions are edited in place, the documented way for a change that
leaves the stored rows valid (https://sqlite.org/lang_altertable.html#otheralter): the new
constraints accept exactly the rows the old ones did, give or take float error.

Revision ID: d4e5f6a7b8c9
Revises: c3d4e5f6a7b8
"""
from alembic import op

revision = "d4e5f6a7b8c9"
down_revision = "c3d4e5f6a7b8"
branch_labels = None
depends_on = None

SUMS = {
    "payment_orders": [
        ("CHECK (reserved_amount + paid_amount <= payment_amount)",
         "CHECK (ROUND((reserved_amount + paid_amount) * 100) <= ROUND(payment_amount * 100))"),
        ("CHECK (refunding_amount + refunded_amount <= paid_amount)",
         "CHECK (ROUND((refunding_amount + refunded_amount) * 100) <= ROUND(paid_amount * 100))"),
    ],
    "transactions": [
        ("CHECK (transaction_type = 'REFUND' OR refunded_amount + refunding_amount <= amount)",
         "CHECK (transaction_type = 'REFUND' OR ROUND((refunded_amount + refunding_amount) * 100) "
         "<= ROUND(amount * 100))"),
    ],
}


def _rewrite(forward: bool) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        for table, pairs in SUMS.items():
            sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                       (table,)).scalar()
            for old, new in pairs:
                old, new = (old, new) if forward else (new, old)
                if old not in sql:
                    raise RuntimeError(f"{table}: constraint {old!r} not found; not rewriting")
                sql = sql.replace(old, new)
            bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table))
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalar()
    if problems != "ok":
        raise RuntimeError(f"integrity check after the rewrite: {problems}")


def upgrade():
    _rewrite(forward=True)


def downgrade():
    _rewrite(forward=False)
