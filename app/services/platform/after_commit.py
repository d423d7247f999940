"""Work that may only start once the transaction asking for it has committed: a job that a worker
runs against rows which must be there (a document to render, mails to send, a batch to pay).

``defer(kind, item)`` keeps the item in the session, tagged with the transaction or savepoint it
was asked in. When the outermost transaction commits, the handler registered for each kind
(``handles(kind)``) gets that kind's items in the order they were asked. A rolled-back transaction
forgets all its items; a rolled-back savepoint only the items asked inside it.

Why not SQLAlchemy's own ``after_commit``/``after_rollback`` directly: both fire for savepoints too.
Acting on a savepoint's release enqueued a receipt's render job before the settlement around it had
committed, and the worker did not find the document; forgetting on a savepoint's rollback lost the
items asked before it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from ...extensions import db

_KEY = "after_commit"
_HANDLERS: dict[str, Callable[[list[Any]], None]] = {}


def handles(kind: str) -> Callable[[Callable[[list[Any]], None]], Callable[[list[Any]], None]]:
    """Register the function that acts on ``kind``'s items once their transaction has committed."""
    def register(handler: Callable[[list[Any]], None]) -> Callable[[list[Any]], None]:
        _HANDLERS[kind] = handler
        return handler
    return register


def defer(kind: str, item: Any) -> None:
    """Hand ``item`` to ``kind``'s handler when the current transaction commits."""
    session = db.session()
    asked_in = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_KEY, []).append((kind, item, asked_in))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: the transaction around it may still roll back
    entries = session.info.pop(_KEY, None)
    if not entries:
        return
    by_kind: dict[str, list[Any]] = {}
    for kind, item, _asked_in in entries:
        by_kind.setdefault(kind, []).append(item)
    for kind, items in by_kind.items():
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
