"""Calls raced against each other: each in a thread and app context of its own, all released at once
by a barrier, so that the concurrency tests see what two people (or a person and a job) acting on the
same thing at the same moment leave behind."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from app.extensions import db


def race(app, *calls: Callable[[], object],
         refused: type[BaseException] | tuple[type[BaseException], ...] = Exception,
         by_name: bool = False) -> list:
    """The calls' results in their order. An exception of a ``refused`` type (a loser's refusal is part
    of the outcome) stands in its call's place, or its class name with ``by_name``; any other propagates
    (``refused=()``: every exception does)."""
    barrier = threading.Barrier(len(calls))

    def one(call: Callable[[], object]) -> object:
        with app.app_context():
            barrier.wait()
            try:
                return call()
            except refused as exc:
                return type(exc).__name__ if by_name else exc
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))
