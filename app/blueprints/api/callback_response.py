"""The answer of every signed callback endpoint (channel payments and refunds, payouts): the service's
answer as plain text, counted by kind and outcome."""

from __future__ import annotations

from typing import Protocol

from flask import Response

from ...metrics import CALLBACKS, callback_outcome


class CallbackAnswer(Protocol):
    @property
    def status(self) -> int: ...

    @property
    def text(self) -> str: ...


def answered(kind: str, answer: CallbackAnswer) -> Response:
    CALLBACKS.labels(kind, callback_outcome(answer.status)).inc()
    return Response(answer.text, status=answer.status, mimetype="text/plain")
