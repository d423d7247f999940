"""The payout gateway's callback (docs/API.md §8): no API key, the gateway's signature instead."""

from __future__ import annotations

from flask import Blueprint, request

from ...services.payouts.callback import handle_callback
from .callback_response import answered
from .openapi import operation

bp = Blueprint("disburse_callbacks", __name__, url_prefix="/api/v1/disburse")


@bp.post("/callback")
@operation("post", "/disburse/callback", "Payout result from the bank (signed; answers the text 'success')",
           auth=False, tag="callbacks")
def payout_callback():
    return answered("payout", handle_callback(dict(request.headers), request.get_data(cache=False)))
