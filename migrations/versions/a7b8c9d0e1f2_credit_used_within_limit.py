"""The credit line never stands above its limit: CHECK (credit_used <= credit_limit) on resellers,
the backstop of the limit check in services/ledgers/credit_line.book (docs/DOMAIN.md §3).

PostgreSQL: an ordinary constraint. SQLite cannot add one to a table that others reference, so
the table definition is edited in place as in d4e5f6a7b8c9, comparing whole cents (SQLite keeps
NUMERIC as binary floats).

Revision ID: a7b8c9d0e1f2
Revises: f6a7b8c9d0e1
"""
from alembic import op

revision = "a7b8c9d0e1f2"
down_revision = "f6a7b8c9d0e1"
branch_labels = None
depends_on = None

NAME = "ck_resellers_credit_used_le_limit"
SQLITE_CHECK = f", CONSTRAINT {NAME} CHECK (ROUND(credit_used * 100) <= ROUND(credit_limit * 100))"


def _sqlite_rewrite(add: bool) -> None:
    bind = op.get_bind()
    over = bind.exec_driver_sql("SELECT count(*) FROM resellers WHERE ROUND(credit_used * 100) > "
                                "ROUND(credit_limit * 100)").scalar()
    if add and over:
        raise RuntimeError(f"{over} reseller(s) use more credit than their limit; raise the limits first")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'resellers'").scalar()
    if add:
        if NAME in sql:
            return
        cut = sql.rstrip().rindex(")")
        sql = sql[:cut].rstrip() + SQLITE_CHECK + "\n)"
    else:
        if SQLITE_CHECK not in sql:
            raise RuntimeError(f"resellers: {NAME} not found; not rewriting")
        sql = sql.replace(SQLITE_CHECK, "")
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'resellers'", (sql,))
        bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")
    problems = bind.exec_driver_sql("PRAGMA integrity_check").scalar()
    if problems != "ok":
        raise RuntimeError(f"integrity check after the rewrite: {problems}")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite(add=True)
    else:
        op.create_check_constraint(op.f("ck_resellers_credit_used_le_limit"), "resellers", "credit_used <= credit_limit")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_rewrite(add=False)
    else:
        op.drop_constraint(op.f(NAME), "resellers", type_="check")
