"""Work tied to the commit of the transaction that asked for it.

- After the commit: a job that a worker runs against rows which must be there (a document to
  render, mails to send, a batch to pay) — ``handles(kind)``.
- Just before the commit, inside the transaction: a write that should hold its row locks as briefly
  as possible (the finance desk's running totals, ``ledgers/money_flows``) — ``writes_before(kind)``.

``defer(kind, item)`` keeps the item in the session, tagged with the transaction or savepoint it
was asked in. When the outermost transaction commits, each kind's function gets that kind's items
in the order they were asked. A rolled-back transaction forgets all its items; a rolled-back
savepoint only the items asked inside it.

Why not SQLAlchemy's ``before_commit``/``after_commit``/``after_rollback`` directly: they fire for
savepoints too. Acting on a savepoint's release enqueued a receipt's render job before the
settlement around it had committed, and the worker did not find the document; forgetting on a
savepoint's rollback (a receipt that could not be asked for) lost what was asked before it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from ...extensions import db

Handler = Callable[[list[Any]], None]
_KEY = "commit_hooks"
_HANDLERS: dict[str, Handler] = {}  # after the commit
_WRITERS: dict[str, Handler] = {}  # just before it


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that acts on ``kind``'s items once their transaction has committed."""
    def register(handler: Handler) -> Handler:
        _HANDLERS[kind] = handler
        return handler
    return register


def writes_before(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that writes ``kind``'s items in their transaction, just before it commits."""
    def register(writer: Handler) -> Handler:
        _WRITERS[kind] = writer
        return writer
    return register


def defer(kind: str, item: Any) -> None:
    """Hand ``item`` to ``kind``'s function when the current transaction commits."""
    session = db.session()
    if not session.in_transaction():
        session.begin()  # as a write would have: a rollback before any other statement forgets the item
    asked_in = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_KEY, []).append((kind, item, asked_in))


def _take(session: Session, registry: dict[str, Handler]) -> dict[str, list[Any]]:
    entries = session.info.get(_KEY) or []
    taken: dict[str, list[Any]] = {}
    for kind, item, _asked_in in entries:
        if kind in registry:
            taken.setdefault(kind, []).append(item)
    if taken:
        session.info[_KEY] = [e for e in entries if e[0] not in registry]
    return taken


@event.listens_for(Session, "before_commit")
def _committing(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint is being released: the transaction around it may still roll back
    for kind, items in _take(session, _WRITERS).items():
        _WRITERS[kind](items)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return
    taken = _take(session, _HANDLERS)
    session.info.pop(_KEY, None)
    for kind, items in taken.items():
        _HANDLERS[kind](items)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous: SessionTransaction) -> None:
    entries = session.info.get(_KEY)
    if not entries:
        return
    undone = _boundary(previous)
    if undone.parent is None:
        session.info.pop(_KEY, None)
    else:
        session.info[_KEY] = [e for e in entries if not _inside(e[2], undone)]


def _boundary(transaction: SessionTransaction) -> SessionTransaction:
    """What a rollback of ``transaction`` really undid: itself if it is a savepoint or the outermost
    transaction, else (a flush's inner transaction) the nearest savepoint or outermost around it."""
    while transaction.parent is not None and not transaction.nested:
        transaction = transaction.parent
    return transaction


def _inside(asked_in: SessionTransaction | None, undone: SessionTransaction) -> bool:
    while asked_in is not None:
        if asked_in is undone:
            return True
        asked_in = asked_in.parent
    return False
