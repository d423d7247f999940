"""The payout gateway's callback (``POST /api/v1/disburse/callback``, docs/API.md §8): verified first —
signature with the payout channel's callback secret (current or previous) and a fresh timestamp,
a payout callback for our merchant number, a known order, the same amount — else 400 and nothing
changes. A final status settles the order (a MANUAL one too: the bank's word settles an order
finance has not settled yet); a duplicate or a late callback after a final state changes nothing
and is answered 200 ``success``."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from ...channels.online import signature
from ...domain.errors import StateConflict
from ...extensions import db
from ...models import Disbursement
from ...models.types import now_utc
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from . import final_state as payout_final_state
from .bank import BankAnswer, gateway_config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallbackAnswer:
    status: int
    text: str


def handle_callback(headers: dict, body: bytes) -> CallbackAnswer:
    try:
        cfg = gateway_config()
    except StateConflict:
        return CallbackAnswer(404, "unknown channel")
    secrets = [s for s in (cfg.secrets.get("callback_secret"), cfg.secrets.get("callback_secret_previous")) if s]
    header = next((v for k, v in headers.items() if k.lower() == signature.HEADER.lower()), None)
    if not signature.verify(secrets, header, body):
        return CallbackAnswer(400, "bad or stale signature")
    try:
        data = json.loads(body, parse_float=Decimal)
        if data.get("type") != "payout" or data.get("merchantNo") != cfg.config.get("merchant_no"):
            return CallbackAnswer(400, "not a payout callback for us")
        order_no, status = data["merchantPayoutNo"], data["status"]
        amount = Decimal(str(data["amount"]))
    except (ValueError, KeyError, TypeError, ArithmeticError, AttributeError):
        return CallbackAnswer(400, "malformed callback")
    with transaction():
        d = db.session.scalar(sa.select(Disbursement).where(Disbursement.order_no == order_no))
        if d is None:
            return CallbackAnswer(400, "unknown payout")
        if d.amount != amount:
            log.warning("payout callback %s: amount %s differs from ours %s", order_no, amount, d.amount)
            return CallbackAnswer(400, "amount mismatch")
    if status not in payout_final_state.FINAL:
        return CallbackAnswer(200, "success")
    answer = BankAnswer(status, data.get("bankSerialNo"), data.get("failReason"), amount)
    with transaction():
        d = payout_final_state.lock_known(order_no)
        if d.status in payout_final_state.FINAL:
            if d.status != status:
                log.error("payout callback %s says %s but the order is %s; left as is", order_no, status, d.status)
            return CallbackAnswer(200, "success")
        # MANUAL too: the bank's word settles an order finance has not settled yet.
        payout_final_state.finish(d, Actor(type="channel", id=cfg.code), answer.status, answer.bank_serial_no,
                             answer.fail_reason, now_utc())
    return CallbackAnswer(200, "success")
