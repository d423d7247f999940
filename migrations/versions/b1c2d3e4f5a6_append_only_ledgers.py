"""Append-only ledgers: wallet and credit entries, the status log and the audit log cannot be
updated or deleted; an audit entry may only be sealed once (its chain columns set from NULL).

Revision ID: b1c2d3e4f5a6
Revises: f745b0ec72c0
"""
from alembic import op

revision = "b1c2d3e4f5a6"
down_revision = "f745b0ec72c0"
branch_labels = None
depends_on = None

LEDGERS = ("wallet_entries", "credit_entries", "status_log")
AUDIT_CONTENT = ("actor_type", "actor_id", "action", "target_type", "target_id", "before", "after", "ip",
                 "request_id", "created_at")


def upgrade():
    if op.get_context().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION forbid_ledger_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP;
            END $$ LANGUAGE plpgsql
        """)
        for table in LEDGERS:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION forbid_ledger_change()")
        old = ", ".join(f'OLD."{c}"::text' for c in AUDIT_CONTENT)
        new = ", ".join(f'NEW."{c}"::text' for c in AUDIT_CONTENT)
        op.execute(f"""
            CREATE FUNCTION audit_log_seal_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION 'audit_log is append-only: DELETE refused';
                END IF;
                IF OLD.chain_seq IS NOT NULL OR ROW({old}) IS DISTINCT FROM ROW({new}) THEN
                    RAISE EXCEPTION 'audit_log entries cannot be changed';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql
        """)
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_seal_only()")
    else:
        for table in LEDGERS:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END")
        changed = " OR ".join(f'NEW."{c}" IS NOT OLD."{c}"' for c in AUDIT_CONTENT)
        op.execute(f"CREATE TRIGGER audit_log_seal_only BEFORE UPDATE ON audit_log "
                   f"WHEN OLD.chain_seq IS NOT NULL OR {changed} "
                   f"BEGIN SELECT RAISE(ABORT, 'audit_log entries cannot be changed'); END")
        op.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END")


def downgrade():
    if op.get_context().dialect.name == "postgresql":
        for table in LEDGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS forbid_ledger_change()")
        op.execute("DROP FUNCTION IF EXISTS audit_log_seal_only()")
    else:
        for table in LEDGERS:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
        op.execute("DROP TRIGGER IF EXISTS audit_log_seal_only")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
