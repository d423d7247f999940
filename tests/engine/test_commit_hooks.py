"""Work tied to the commit (platform/commit_hooks.py): it is done once the outermost transaction
has committed, never when a savepoint inside it is released, and a rollback forgets exactly what it
undid. A receipt's render job enqueued at a savepoint's release found no document (the bug this
module fixed)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import Reseller
from app.services.platform import commit_hooks


@pytest.fixture
def handled(ctx, monkeypatch):
    got: list[list[str]] = []
    monkeypatch.setitem(commit_hooks._HANDLERS, "test", got.append)
    return got


def test_work_waits_for_the_outermost_commit_not_a_savepoints_release(handled):
    commit_hooks.defer("test", "before")
    with db.session.begin_nested():
        commit_hooks.defer("test", "inside")
    with db.session.begin_nested():
        with db.session.begin_nested():
            commit_hooks.defer("test", "deep")
    assert handled == []
    db.session.commit()
    assert handled == [["before", "inside", "deep"]]
    db.session.commit()
    assert handled == [["before", "inside", "deep"]]


def test_a_rolled_back_savepoint_forgets_only_what_was_asked_inside_it(handled):
    commit_hooks.defer("test", "kept")

    class Undo(Exception):
        pass

    with pytest.raises(Undo):
        with db.session.begin_nested():
            commit_hooks.defer("test", "undone")
            with db.session.begin_nested():
                commit_hooks.defer("test", "undone too")
            raise Undo
    commit_hooks.defer("test", "after")
    db.session.commit()
    assert handled == [["kept", "after"]]


def test_a_failed_flush_inside_a_savepoint_keeps_what_was_asked_before_it(handled, make_reseller):
    make_reseller("R1001")
    db.session.commit()
    commit_hooks.defer("test", "kept")
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(Reseller(code="R1001", name="twin"))
            db.session.flush()
    db.session.commit()
    assert handled == [["kept"]]


def test_a_rolled_back_transaction_forgets_everything(handled):
    commit_hooks.defer("test", "lost")
    with db.session.begin_nested():
        commit_hooks.defer("test", "lost too")
    db.session.rollback()
    db.session.commit()
    assert handled == []
    assert db.session.scalar(sa.select(sa.literal(1))) == 1


@pytest.fixture
def written(ctx, monkeypatch):
    """A before-commit writer that records, in the transaction, what it was handed."""
    got: list[list[str]] = []

    def write(items: list[str]) -> None:
        got.append(items)
        assert db.session().in_transaction() and not db.session().in_nested_transaction()

    monkeypatch.setitem(commit_hooks._WRITERS, "test-write", write)
    return got


def test_a_write_before_the_commit_waits_for_the_outermost_one(written, handled):
    commit_hooks.defer("test-write", "outside")
    with db.session.begin_nested():
        commit_hooks.defer("test-write", "released")
    assert written == []
    with pytest.raises(LookupError):
        with db.session.begin_nested():
            commit_hooks.defer("test-write", "undone")
            raise LookupError
    commit_hooks.defer("test", "after the commit")
    db.session.commit()
    assert written == [["outside", "released"]]
    assert handled == [["after the commit"]]
