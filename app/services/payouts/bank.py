"""The payout gateway (代付, sandbox/PROTOCOL.md §4.5–4.6) as the disbursement service sees it: the
ONLINE channel row named by ``DISBURSE_CHANNEL_CODE`` gives its base URL, merchant number and
secrets; requests are signed JSON (``X-Gateway-Signature``). Every answer is read into a
``BankAnswer``: SUCCESS / FAILED / PROCESSING as the bank says, FAILED for a 4xx (the gateway
created nothing: fail fast), NOT_FOUND for an unknown payout, UNKNOWN for a timeout, a connection
error, a 5xx or anything unreadable (never a reason to send a second payout: the caller queries).
No database transaction may be open while these run."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import Decimal

import httpx
from flask import current_app

from ...channels.base import ChannelConfig
from ...channels.http import gateway_client
from ...channels.online import signature
from ...domain.enums import PayoutAnswer
from ...domain.errors import StateConflict
from ..channel_config.lookup import config_by_code
from ..platform.unit_of_work import transaction

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BankAnswer:
    status: str  # a PayoutAnswer
    bank_serial_no: str | None = None
    fail_reason: str | None = None
    amount: Decimal | None = None


def payout_channel_code() -> str:
    return current_app.config.get("DISBURSE_CHANNEL_CODE") or "ONLINE_UNIONPAY"


def gateway_config() -> ChannelConfig:
    """The payout channel's decrypted configuration (StateConflict if it is not configured)."""
    code = payout_channel_code()
    with transaction():
        cfg = config_by_code(code)
    if cfg is None:
        raise StateConflict(f"payout channel {code} is not configured")
    return cfg


def _post(path: str, payload: dict) -> httpx.Response:
    cfg = gateway_config()
    body = json.dumps({"merchantNo": cfg.config["merchant_no"], **payload}, separators=(",", ":")).encode()
    secret = cfg.secrets["api_secret"]  # a configured payout channel has one (KeyError names it if not)
    headers = {"Content-Type": "application/json", signature.HEADER: signature.sign(secret, body)}
    timeout = float(current_app.config.get("DISBURSE_BANK_TIMEOUT_SECONDS") or 10.0)
    return gateway_client().post(cfg.config["base_url"].rstrip("/") + path, content=body, headers=headers,
                                 timeout=httpx.Timeout(timeout, connect=min(3.0, timeout)))


def _answer(response: httpx.Response) -> BankAnswer:
    try:
        data = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        return BankAnswer(PayoutAnswer.UNKNOWN)
    if response.status_code == 404:
        return BankAnswer(PayoutAnswer.NOT_FOUND)
    if response.status_code >= 500 or response.status_code == 429:
        return BankAnswer(PayoutAnswer.UNKNOWN)
    if response.status_code != 200:
        # A 4xx: the gateway created nothing (PROTOCOL §2) — the channel rejected it, fail fast.
        reason = f"{data.get('code', response.status_code)}: {data.get('message', '')}"
        return BankAnswer(PayoutAnswer.FAILED, fail_reason=reason[:500])
    status = data.get("status")
    if status not in (PayoutAnswer.SUCCESS, PayoutAnswer.FAILED, PayoutAnswer.PROCESSING):
        return BankAnswer(PayoutAnswer.UNKNOWN)
    return BankAnswer(status, data.get("bankSerialNo"), data.get("failReason"),
                      Decimal(str(data["amount"])) if data.get("amount") is not None else None)


def pay(order_no: str, payload: dict) -> BankAnswer:
    """POST /api/payouts with our order number as merchantPayoutNo (idempotent at the bank)."""
    try:
        return _answer(_post("/api/payouts", {"merchantPayoutNo": order_no, **payload}))
    except httpx.HTTPError as exc:
        log.warning("payout %s: %s calling the bank; will query", order_no, type(exc).__name__)
        return BankAnswer(PayoutAnswer.UNKNOWN)


def query(order_no: str) -> BankAnswer:
    try:
        return _answer(_post("/api/payouts/query", {"merchantPayoutNo": order_no}))
    except httpx.HTTPError as exc:
        log.warning("payout query %s: %s", order_no, type(exc).__name__)
        return BankAnswer(PayoutAnswer.UNKNOWN)


def callback_url() -> str:
    return current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/") + "/api/v1/disburse/callback"
