"""Callbacks from channels (docs/API.md §8): no API key, a signature instead."""

from __future__ import annotations

from flask import Blueprint, request

from ...services.refunds.refund_callback import handle_refund_callback
from ...services.settlement.payment_callback import handle_payment_callback
from .callback_response import answered
from .openapi import operation

bp = Blueprint("callbacks", __name__, url_prefix="/api/v1/payment/callback")


@bp.post("/online/<channel_code>")
@operation("post", "/payment/callback/online/{channelCode}",
           "Payment result from an online channel (signed; answers the text 'success')", auth=False,
           tag="callbacks")
def online_payment(channel_code: str):
    answer = handle_payment_callback(channel_code, dict(request.headers), request.get_data(cache=False))
    return answered("payment", answer)


@bp.post("/refund/<channel_code>")
@operation("post", "/payment/callback/refund/{channelCode}",
           "Refund result from an online channel (signed; answers the text 'success')", auth=False,
           tag="callbacks")
def online_refund(channel_code: str):
    answer = handle_refund_callback(channel_code, dict(request.headers), request.get_data(cache=False))
    return answered("refund", answer)
