"""An INSERT that can say ``ON CONFLICT`` on the database the portal runs on (PostgreSQL in
production, SQLite embedded): both dialects have it, SQLAlchemy's generic insert does not."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from ...extensions import db

Insert = postgresql.Insert | sqlite.Insert


def insert(target: Any) -> Insert:
    """``INSERT INTO target`` with ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    return postgresql.insert(target) if db.engine.dialect.name == "postgresql" else sqlite.insert(target)
