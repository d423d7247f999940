"""Reconciliation's bulk tables without per-row foreign-key checks: recon_lines (a statement of a
million lines is COPYed in) loses its key to recon_imports; recon_results (a million rows per run, derived,
recomputed by one INSERT ... SELECT from the rows it references) loses its three keys. bench/reconcile.py:
100,000 lines inserted in 2.4 s with the key, 1.35 s without; 100,000 results 8.5 s with three keys,
2.5 s without (PostgreSQL, a loaded 2-core machine).

Revision ID: 168def881837
Revises: 28bfb1d0f3b5
"""
from alembic import op

revision = "168def881837"
down_revision = "28bfb1d0f3b5"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("recon_lines", schema=None) as batch_op:
        batch_op.drop_constraint("fk_recon_lines_import_id_recon_imports", type_="foreignkey")
    with op.batch_alter_table("recon_results", schema=None) as batch_op:
        batch_op.drop_constraint("fk_recon_results_channel_payment_id_channel_payments", type_="foreignkey")
        batch_op.drop_constraint("fk_recon_results_line_id_recon_lines", type_="foreignkey")
        batch_op.drop_constraint("fk_recon_results_run_id_recon_runs", type_="foreignkey")


def downgrade():
    with op.batch_alter_table("recon_results", schema=None) as batch_op:
        batch_op.create_foreign_key("fk_recon_results_run_id_recon_runs", "recon_runs", ["run_id"], ["id"])
        batch_op.create_foreign_key("fk_recon_results_line_id_recon_lines", "recon_lines", ["line_id"], ["id"])
        batch_op.create_foreign_key("fk_recon_results_channel_payment_id_channel_payments", "channel_payments",
                                    ["channel_payment_id"], ["id"])
    with op.batch_alter_table("recon_lines", schema=None) as batch_op:
        batch_op.create_foreign_key("fk_recon_lines_import_id_recon_imports", "recon_imports", ["import_id"], ["id"])
