"""PostgreSQL: a new payment order and its companion rows in ONE autocommitted statement.

The create hot path (``payment_orders.create_payment_order``) hands over the rows it has built —
the order, its status-log row, audit entry, outbox event and idempotency key — and this module
writes them with one round trip: data-modifying CTEs that insert the order only if its reseller is
ACTIVE (and, with an idempotency key, only if the key's advisory lock is free), then the companion
rows from the new order. A single statement is atomic, so autocommit gives the one transaction
without the BEGIN and COMMIT round trips; the statement is prepared on the server once per
connection.

It decides nothing on its own. Every case other than the plain one comes back as ``None`` with
nothing written — unknown or suspended reseller, the key's lock taken, a unique violation (the
idempotency key already stored, or a live order with the same natural key) — and the caller then
runs the general path, which re-checks and answers it (error, replay, natural-key duplicate, 409).

Executed on the driver's own connection, not through SQLAlchemy: the statement text is generated
once from the models' tables (columns and their types), and values are bound as they are.
"""

from __future__ import annotations

import sqlalchemy as sa
from psycopg import IntegrityError
from sqlalchemy.types import TypeDecorator

from .. import json_dumps
from ..extensions import db
from ..models import AuditEntry, IdempotencyKey, OutboxEvent, PaymentOrder, Reseller, StatusLog

_ORDERS = PaymentOrder.__table__
_COMPANIONS = {"status": StatusLog.__table__, "audit": AuditEntry.__table__, "outbox": OutboxEvent.__table__,
               "key": IdempotencyKey.__table__}


def _cast(column: sa.Column) -> str:
    """The type a bound value is cast to. Never a length-limited VARCHAR: a cast would truncate
    silently, while the column's own assignment cast rejects a value that is too long."""
    t = column.type
    if isinstance(t, TypeDecorator):
        t = t.impl
    for kind, name in ((sa.JSON, "json"), (sa.String, "text"), (sa.Integer, "bigint"), (sa.Numeric, "numeric"),
                       (sa.Boolean, "boolean"), (sa.DateTime, "timestamptz"), (sa.Date, "date")):
        if isinstance(t, kind):
            return name
    raise TypeError(f"no cast for {column.table.name}.{column.name} ({t!r})")


_CASTS: dict[str, dict[str, str]] = {}


def _casts(table: sa.Table) -> dict[str, str]:
    casts = _CASTS.get(table.name)
    if casts is None:
        casts = _CASTS[table.name] = {c.name: _cast(c) for c in table.columns}
    return casts


def _bound(table: sa.Table, row: dict, params: dict, slots: dict, dumped: dict, prefix: str) -> tuple:
    """(column, SQL expression) pairs; a value given to several columns of one cast type is bound
    once (fewer parameters to send, and psycopg caches a query's parsed form only up to 50).
    ``dumped`` keeps each JSON document's text by identity: the order's view is dumped once."""
    casts = _casts(table)
    pairs = []
    for column, value in row.items():
        cast = casts[column]
        if cast == "json":
            text = dumped.get(id(value))
            if text is None:
                text = dumped[id(value)] = json_dumps(value)  # None becomes JSON null, as through the ORM
            value = text
        if value is None:
            name = f"{prefix}_{column}"
        else:
            name = slots.get((cast, value))
            if name is None:
                name = slots[(cast, value)] = f"p{len(slots)}"
        params[name] = value
        pairs.append((column, f"%({name})s::{cast}"))
    return tuple(pairs)


_STATEMENTS: dict[tuple, str] = {}


def _statement(layout: tuple, locked: bool) -> str:
    """The SQL text for one layout of bound names (a handful exist: which values coincide)."""
    key = (layout, locked)
    text = _STATEMENTS.get(key)
    if text is not None:
        return text
    (_, order_pairs), *companions = layout
    lock = " AND pg_try_advisory_xact_lock(%(lock)s::bigint)" if locked else ""
    parts = [
        f"r AS (SELECT id FROM {Reseller.__tablename__} WHERE code = %(reseller_code)s::text"
        f" AND status = 'ACTIVE'{lock})",
        f"o AS (INSERT INTO {_ORDERS.name} (reseller_id, {', '.join(c for c, _ in order_pairs)})"
        f" SELECT r.id, {', '.join(e for _, e in order_pairs)} FROM r RETURNING id)",
    ]
    for role, pairs in companions:
        table = _COMPANIONS[role]
        columns = [c for c, _ in pairs]
        exprs = [e for _, e in pairs]
        if role == "status":
            columns, exprs = ["payment_order_id", *columns], ["o.id", *exprs]
        parts.append(f"w_{role} AS (INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(exprs)} FROM o)")
    text = "WITH " + ",\n".join(parts) + "\nSELECT id FROM o"
    if len(_STATEMENTS) > 64:
        _STATEMENTS.clear()
    _STATEMENTS[key] = text
    return text


def insert_order(reseller_code: str, order_row: dict, companions: dict[str, dict], lock: int | None) -> int | None:
    """Write the order (``order_row``: its columns but ``reseller_id``) and ``companions`` (by role:
    ``status``, ``audit``, ``outbox`` and optionally ``key``) in one statement. Returns the new
    order's id, or None when nothing was written and the general path must decide."""
    params: dict = {"reseller_code": reseller_code}
    slots: dict = {}
    dumped: dict = {}
    layout = [("order", _bound(_ORDERS, order_row, params, slots, dumped, "o"))]
    for role, row in companions.items():
        layout.append((role, _bound(_COMPANIONS[role], row, params, slots, dumped, role)))
    if lock is not None:
        params["lock"] = lock
    sql = _statement(tuple(layout), lock is not None)
    pooled = db.engine.raw_connection()
    try:
        conn = pooled.driver_connection
        conn.autocommit = True
        try:
            row = conn.execute(sql, params, prepare=True).fetchone()
        except IntegrityError:
            return None
        finally:
            conn.autocommit = False
    finally:
        pooled.close()
    return row[0] if row else None
