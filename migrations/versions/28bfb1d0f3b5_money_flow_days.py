"""The finance desk's figures without scanning every transaction (bench/finance_desk.py, issue 14):

* ``money_flow_days``: received and refunded per Shanghai day, channel and payment type, kept up to
  date by settlement (app/services/dashboards/money_flows.py), backfilled here from ``transactions``;
* ``open_order_days``: the orders that can become overdue per UTC day of their deadline (count and
  what they still owe), kept by triggers on ``payment_orders`` (below), backfilled here; the
  dashboard's overdue figure is the days before today plus today's orders read live. SQLite loses
  a table's triggers when a later migration rebuilds ``payment_orders`` (``batch_alter_table``):
  such a migration must create them again (``create_triggers``), and ``flask finance check-flows``
  would show the drift;
* indexes matching /finance/transactions' filters: kind and status each with the list's order
  (``created_at, id``), the status one carrying the amount and the keys of the in-flight sum on
  PostgreSQL, and the amount (a range on the size is two ranges of the signed amount).

Revision ID: 28bfb1d0f3b5
Revises: a07a3cf69902
"""
import sqlalchemy as sa
from alembic import op

revision = "28bfb1d0f3b5"
down_revision = "a07a3cf69902"
branch_labels = None
depends_on = None

BACKFILL = """
INSERT INTO money_flow_days (day, channel_code, payment_type, payments, received, refunds, refunded)
SELECT {day}, coalesce(t.channel_code, ''), o.payment_type,
       sum(CASE WHEN t.transaction_type = 'PAYMENT' THEN 1 ELSE 0 END),
       sum(CASE WHEN t.transaction_type = 'PAYMENT' THEN t.amount ELSE 0 END),
       sum(CASE WHEN t.transaction_type = 'PAYMENT' THEN 0 ELSE 1 END),
       sum(CASE WHEN t.transaction_type = 'PAYMENT' THEN 0 ELSE -t.amount END)
FROM transactions t JOIN payment_orders o ON o.id = t.payment_order_id
WHERE t.status = 'SUCCESS'
GROUP BY 1, 2, 3
"""
# The Shanghai day of coalesce(completed_at, created_at): PostgreSQL keeps timestamptz; SQLite keeps
# the UTC time as text, and Shanghai is UTC+8 all year.
DAY = {"postgresql": "(coalesce(t.completed_at, t.created_at) AT TIME ZONE 'Asia/Shanghai')::date",
       "sqlite": "date(coalesce(t.completed_at, t.created_at), '+8 hours')"}


OPEN = "payment_deadline IS NOT NULL AND payment_status NOT IN ('PAID','STOPPED')"  # NEVER_OVERDUE
PG_FUNCTION = """
CREATE FUNCTION open_order_days_track() RETURNS trigger AS $$
DECLARE
  s smallint := (txid_current() % 16)::smallint;
  was_open boolean := TG_OP = 'UPDATE' AND OLD.payment_deadline IS NOT NULL
                      AND OLD.payment_status NOT IN ('PAID','STOPPED');
  is_open boolean := NEW.payment_deadline IS NOT NULL AND NEW.payment_status NOT IN ('PAID','STOPPED');
BEGIN
  IF was_open AND is_open AND OLD.payment_deadline = NEW.payment_deadline
     AND OLD.payment_amount - OLD.paid_amount - OLD.reserved_amount
         = NEW.payment_amount - NEW.paid_amount - NEW.reserved_amount THEN
    RETURN NULL;  -- nothing it counts changed
  END IF;
  IF was_open THEN
    INSERT INTO open_order_days AS d (day, stripe, orders, payable)
    VALUES ((OLD.payment_deadline AT TIME ZONE 'UTC')::date, s, -1,
            -(OLD.payment_amount - OLD.paid_amount - OLD.reserved_amount))
    ON CONFLICT (day, stripe) DO UPDATE SET orders = d.orders + excluded.orders, payable = d.payable + excluded.payable;
  END IF;
  IF is_open THEN
    INSERT INTO open_order_days AS d (day, stripe, orders, payable)
    VALUES ((NEW.payment_deadline AT TIME ZONE 'UTC')::date, s, 1,
            NEW.payment_amount - NEW.paid_amount - NEW.reserved_amount)
    ON CONFLICT (day, stripe) DO UPDATE SET orders = d.orders + excluded.orders, payable = d.payable + excluded.payable;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql
"""
TRACKED = "payment_status, payment_amount, paid_amount, reserved_amount, payment_deadline"
SQLITE_ADD = """INSERT INTO open_order_days (day, stripe, orders, payable)
  SELECT date({r}.payment_deadline), 0, {sign}1, {sign}({r}.payment_amount - {r}.paid_amount - {r}.reserved_amount)
  WHERE {r}.payment_deadline IS NOT NULL AND {r}.payment_status NOT IN ('PAID','STOPPED')
  ON CONFLICT (day, stripe) DO UPDATE SET orders = orders + excluded.orders, payable = payable + excluded.payable;"""
OPEN_BACKFILL = """
INSERT INTO open_order_days (day, stripe, orders, payable)
SELECT {day}, 0, count(*), sum(payment_amount - paid_amount - reserved_amount)
FROM payment_orders WHERE {open} GROUP BY 1
"""
OPEN_DAY = {"postgresql": "(payment_deadline AT TIME ZONE 'UTC')::date", "sqlite": "date(payment_deadline)"}


def create_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(f"CREATE TRIGGER payment_orders_open_days AFTER INSERT OR UPDATE OF {TRACKED} ON payment_orders "
                   "FOR EACH ROW EXECUTE FUNCTION open_order_days_track()")
    else:
        op.execute("CREATE TRIGGER payment_orders_open_days_insert AFTER INSERT ON payment_orders BEGIN "
                   + SQLITE_ADD.format(r="NEW", sign="") + " END")
        op.execute(f"CREATE TRIGGER payment_orders_open_days_update AFTER UPDATE OF {TRACKED} ON payment_orders BEGIN "
                   + SQLITE_ADD.format(r="OLD", sign="-") + " " + SQLITE_ADD.format(r="NEW", sign="") + " END")


def drop_triggers():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS payment_orders_open_days ON payment_orders")
        op.execute("DROP FUNCTION IF EXISTS open_order_days_track()")
    else:
        op.execute("DROP TRIGGER IF EXISTS payment_orders_open_days_insert")
        op.execute("DROP TRIGGER IF EXISTS payment_orders_open_days_update")


def upgrade():
    op.create_table(
        "money_flow_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel_code", sa.String(length=32), nullable=False),
        sa.Column("payment_type", sa.String(length=32), nullable=False),
        sa.Column("payments", sa.BigInteger(), nullable=False),
        sa.Column("received", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("refunds", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("day", "channel_code", "payment_type", name=op.f("pk_money_flow_days")),
    )
    op.execute(BACKFILL.format(day=DAY[op.get_bind().dialect.name]))
    op.create_table(
        "open_order_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stripe", sa.SmallInteger(), nullable=False),
        sa.Column("orders", sa.BigInteger(), nullable=False),
        sa.Column("payable", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("day", "stripe", name=op.f("pk_open_order_days")),
    )
    op.execute(OPEN_BACKFILL.format(day=OPEN_DAY[op.get_bind().dialect.name], open=OPEN))
    create_triggers()
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index("ix_transactions_type_created", ["transaction_type", "created_at", "id"], unique=False)
        batch_op.create_index("ix_transactions_status_created", ["status", "created_at", "id"], unique=False,
                              postgresql_include=["amount", "transaction_type", "channel_code"])
        batch_op.create_index("ix_transactions_amount", ["amount"], unique=False)


def downgrade():
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_amount")
        batch_op.drop_index("ix_transactions_status_created")
        batch_op.drop_index("ix_transactions_type_created")
    drop_triggers()
    op.drop_table("open_order_days")
    op.drop_table("money_flow_days")
