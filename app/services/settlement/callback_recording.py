"""What every channel callback does once verified (``callback_verification``): its settlement runs in
one transaction that also records the raw event by its id, and the channel gets its answer. A
rejected callback is answered 400; an event id recorded already (a duplicate) changes nothing and is
answered 200, like a settled one."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from ...channels.base import CallbackRejected
from ...extensions import db
from ...models import ChannelEvent
from ...models.types import now_utc
from ..platform.unit_of_work import discard, transaction
from .callback_verification import CallbackAnswer


def record_event(channel_code: str, kind: str, event_id: str | None, body: bytes) -> None:
    """The raw event, in the caller's transaction; a duplicate event id fails here (IntegrityError)."""
    db.session.add(ChannelEvent(channel_code=channel_code, kind=kind, event_key=event_id,
                                body=body.decode("utf-8", "replace"), received_at=now_utc()))
    db.session.flush()


def settle_and_answer(settle: Callable[[], None]) -> CallbackAnswer:
    """``settle`` (which calls ``record_event``) in one transaction, and the channel's answer."""
    try:
        with transaction():
            settle()
    except CallbackRejected as exc:
        return CallbackAnswer(400, f"rejected: {exc}")
    except IntegrityError:
        discard()  # the same event id was recorded already: a duplicate
    return CallbackAnswer(200, "success")
