"""The unit of work used by every service: commit on success, roll back on any error."""

from __future__ import annotations

from contextlib import contextmanager

from ..extensions import db


@contextmanager
def transaction():
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
