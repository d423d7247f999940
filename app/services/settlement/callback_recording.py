"""What every channel callback does once verified (``callback_verification``): its settlement runs in
one transaction that also records the raw event by its id, and the channel gets its answer. A
rejected callback is answered 400; an event id recorded already (a duplicate) changes nothing and is
answered 200, like a settled one. Any other error is not answered: the request fails (500), nothing
of it is kept, and the channel sends the callback again — "success" only for what committed."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from ...channels.base import CallbackRejected
from ...extensions import db
from ...models import ChannelEvent
from ...models.types import now_utc
from ..platform.unit_of_work import transaction
from .callback_verification import CallbackAnswer


class DuplicateEvent(Exception):
    """The channel sent an event whose id is recorded already."""


def record_event(channel_code: str, kind: str, event_id: str | None, body: bytes) -> None:
    """The raw event, in the caller's transaction (before anything else of it is written: the row
    is the only one this flush sends). DuplicateEvent when its id is recorded already."""
    db.session.add(ChannelEvent(channel_code=channel_code, kind=kind, event_key=event_id,
                                body=body.decode("utf-8", "replace"), received_at=now_utc()))
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise DuplicateEvent(event_id) from exc


def settle_and_answer(settle: Callable[[], None]) -> CallbackAnswer:
    """``settle`` (which calls ``record_event``) in one transaction, and the channel's answer."""
    try:
        with transaction():
            settle()
    except CallbackRejected as exc:
        return CallbackAnswer(400, f"rejected: {exc}")
    except DuplicateEvent:
        pass  # rolled back by transaction(): a duplicate changes nothing
    return CallbackAnswer(200, "success")
