"""PostgreSQL: a new payment order and its companion rows in ONE autocommitted statement.

The create hot path (``orders.creation.create_payment_order``, through ``orders.writer``) hands over
the rows it has built —
the order, its status-log row, audit entry, outbox event and idempotency key — and this module
writes them with one round trip: data-modifying CTEs that insert the order only if its reseller is
ACTIVE (and, with an idempotency key, only if the key's advisory lock is free), then the companion
rows from the new order. A single statement is atomic, so autocommit gives the one transaction
without the BEGIN and COMMIT round trips; the statement is prepared on the server once per
connection.

It decides nothing on its own. Every case other than the plain one comes back as ``None`` with
nothing written — unknown or suspended reseller, the key's lock taken, a unique violation (the
idempotency key already stored, or a live order with the same natural key), a lost connection —
and the caller then runs the general path, which re-checks and answers it (error, replay,
natural-key duplicate, 409).

The rows travel as ONE JSON document, read back with ``jsonb_populate_record`` into each table's
own row type, so PostgreSQL converts every value with the column's type (a string too long for
its column is an error, an amount is parsed from its exact decimal text). JSON columns are bound
as their own text, so that a document keeps its key order. Executed on the driver's connection,
not through SQLAlchemy: a few parameters instead of ~50, and a statement text built once.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app
from psycopg import IntegrityError, OperationalError

from ...domain.reseller_rules import TAKING_NEW_ORDERS
from ...extensions import db
from ...models import AuditEntry, IdempotencyKey, OutboxEvent, PaymentOrder, Reseller, StatusLog
from ...serialization import json_dumps

TABLES = {"order": PaymentOrder.__table__, "status": StatusLog.__table__, "audit": AuditEntry.__table__,
          "outbox": OutboxEvent.__table__, "key": IdempotencyKey.__table__}
_JSON_COLUMNS = {role: frozenset(c.name for c in t.columns if isinstance(c.type, sa.JSON))
                 for role, t in TABLES.items()}

_STATEMENTS: dict[tuple, str] = {}


def _statement(shape: tuple, locked: bool) -> str:
    """The SQL text for one shape: (role, its columns) pairs, the order first."""
    key = (shape, locked)
    text = _STATEMENTS.get(key)
    if text is not None:
        return text
    lock = " AND pg_try_advisory_xact_lock(%(lock)s::bigint)" if locked else ""
    parts = [
        "d AS (SELECT %(rows)s::jsonb AS j)",
        f"r AS (SELECT id FROM {Reseller.__tablename__} WHERE code = %(reseller_code)s::text"
        f" AND status = ANY(%(taking_orders)s){lock})",
    ]
    for role, columns in shape:
        table = TABLES[role].name
        exprs = [f"%({role}_{c})s::json" if c in _JSON_COLUMNS[role] else f"x.{c}" for c in columns]
        source = f"d, jsonb_populate_record(NULL::{table}, d.j->'{role}') x"
        if role == "order":
            columns, exprs, source = ["reseller_id", *columns], ["r.id", *exprs], f"r, {source}"
            parts.append(f"o AS (INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(exprs)}"
                         f" FROM {source} RETURNING id)")
            continue
        if role == "status":
            columns, exprs = ["payment_order_id", *columns], ["o.id", *exprs]
        parts.append(f"w_{role} AS (INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(exprs)}"
                     f" FROM o, {source})")
    text = "WITH " + ",\n".join(parts) + "\nSELECT id FROM o"
    if len(_STATEMENTS) > 64:
        _STATEMENTS.clear()
    _STATEMENTS[key] = text
    return text


def insert_order(reseller_code: str, rows: dict[str, dict], lock: int | None) -> int | None:
    """Write ``rows`` by role — ``order`` (its columns but ``reseller_id``), ``status``, ``audit``,
    ``outbox`` and optionally ``key`` — in one statement. Returns the new order's id, or None when
    nothing was written and the general path must decide."""
    params: dict = {"reseller_code": reseller_code, "taking_orders": list(TAKING_NEW_ORDERS)}
    document: dict = {}
    dumped: dict = {}  # a JSON value given to several columns (the order's view) is dumped once
    for role, row in rows.items():
        json_columns = _JSON_COLUMNS[role]
        scalars = {}
        for column, value in row.items():
            if column in json_columns:
                text = dumped.get(id(value))
                if text is None:
                    text = dumped[id(value)] = json_dumps(value)  # None is JSON null, as through the ORM
                params[f"{role}_{column}"] = text
            else:
                scalars[column] = value
        document[role] = scalars
    params["rows"] = json_dumps(document)
    if lock is not None:
        params["lock"] = lock
    sql = _statement(tuple((role, tuple(row)) for role, row in rows.items()), lock is not None)
    pooled = db.engine.raw_connection()
    conn = pooled.driver_connection
    assert conn is not None  # a pooled connection that is checked out has its driver connection
    try:
        conn.autocommit = True
        row = conn.execute(sql, params, prepare=True).fetchone()
        conn.autocommit = False
    except IntegrityError:
        conn.autocommit = False  # the statement ended with the error: nothing is open
        return None
    except OperationalError:
        # The connection was lost (a restart, a failover). Whether the statement committed or not,
        # the general path answers correctly on a fresh connection: the stored idempotency key or
        # the natural key turns a create that did commit into a replay.
        pooled.invalidate()
        current_app.logger.warning("create: connection lost during the one-statement insert", exc_info=True)
        return None
    except BaseException:
        pooled.invalidate()  # lost, or in a state nobody should inherit: never back into the pool
        raise
    finally:
        pooled.close()
    return row[0] if row else None


class PostgresOrderWriter:
    """``OrderWriter`` on PostgreSQL: the plain case in one statement (``insert_order``)."""

    def write_plain(self, reseller_code: str, rows: dict[str, dict], lock: int | None) -> int | None:
        return insert_order(reseller_code, rows, lock)
