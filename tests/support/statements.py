"""The SQL statements a block of test code sends, as the driver receives them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from app.extensions import db


@contextmanager
def inserts_into(table: str) -> Iterator[list[str]]:
    """The INSERTs into ``table`` sent inside the block (an executemany counts once)."""
    sent: list[str] = []
    prefix = f"INSERT INTO {table.upper()} "

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(prefix):
            sent.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
