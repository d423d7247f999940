"""The merchant API: signed JSON POSTs under /api. Authentication first (nothing happens on a 401),
then field validation (400 INVALID_REQUEST), then the gateway call."""

from __future__ import annotations

import json
import re
import time
from datetime import date
from decimal import Decimal
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request

from . import signing
from .config import Merchant
from .gateway import MAX_EXPIRE_SECONDS, Gateway, GatewayError
from .util import parse_amount
from .views import payment_query_view, payout_view, refund_view

bp = Blueprint("sandbox_api", __name__, url_prefix="/api")
_NO_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


def gateway() -> Gateway:
    return current_app.extensions["sandbox"]


def ok(**fields) -> Response:
    return jsonify({"code": "OK", **fields})


def authenticate() -> tuple[Merchant, dict]:
    """The merchant and the parsed body, or 401 SIGNATURE_INVALID. The merchant is named by the body's
    ``merchantNo``; the signature covers the raw body bytes exactly as received."""
    raw = request.get_data(cache=True)
    header = request.headers.get(signing.HEADER)
    if not header:
        raise GatewayError(401, "SIGNATURE_INVALID", f"missing {signing.HEADER} header")
    try:
        body = json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise GatewayError(401, "SIGNATURE_INVALID", "body is not JSON: cannot authenticate") from None
    merchant_no = body.get("merchantNo") if isinstance(body, dict) else None
    merchant = gateway().merchants.get(merchant_no) if isinstance(merchant_no, str) else None
    if merchant is None:
        raise GatewayError(401, "SIGNATURE_INVALID", "unknown merchantNo")
    reason = signing.check(merchant.api_secrets, header, raw, now=gateway().clock())
    if reason is not None:
        raise GatewayError(401, "SIGNATURE_INVALID", reason)
    return merchant, body


def _bad(message: str):
    return GatewayError(400, "INVALID_REQUEST", message)


def text(body: dict, key: str, *, required: bool = True, max_len: int = 256, pattern: re.Pattern | None = None):
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise _bad(f"{key} is required")
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise _bad(f"{key} must be a string of at most {max_len} characters")
    if pattern is not None and not pattern.match(value):
        raise _bad(f"{key} must be 1-64 letters, digits, '_' or '-'")
    return value


def amount(body: dict, key: str = "amount") -> Decimal:
    value = parse_amount(body.get(key))
    if value is None:
        raise _bad(f"{key} must be a positive amount with at most two decimals, as a string like \"1250.00\"")
    return value


def url(body: dict, key: str, *, required: bool = True) -> str | None:
    value = text(body, key, required=required, max_len=1024)
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _bad(f"{key} must be an absolute http(s) URL")
    return value


def maybe_busy() -> None:
    if gateway().faults.roll("query_error_rate"):
        raise GatewayError(503, "SYSTEM_BUSY", "the bank is busy, try again later (query_error_rate)")


@bp.post("/payments")
def create_payment():
    merchant, body = authenticate()
    order_no = text(body, "merchantOrderNo", pattern=_NO_RE)
    value = amount(body)
    currency = body.get("currency") or "CNY"
    if currency != "CNY":
        raise _bad("currency must be CNY")
    subject = text(body, "subject")
    notify_url = url(body, "notifyUrl")
    return_url = url(body, "returnUrl")
    expire = body.get("expireSeconds")
    if expire is not None and (isinstance(expire, bool) or not isinstance(expire, int)
                               or not 1 <= expire <= MAX_EXPIRE_SECONDS):
        raise _bad(f"expireSeconds must be an integer between 1 and {MAX_EXPIRE_SECONDS}")
    row = gateway().create_payment(merchant.merchant_no, order_no, value, currency, subject, notify_url, return_url,
                                   expire)
    pay_url = f"{request.host_url.rstrip('/')}/pay/{row['gateway_txn_id']}"
    return ok(gatewayTxnId=row["gateway_txn_id"], payUrl=pay_url, status=row["status"],
              merchantOrderNo=row["merchant_order_no"], amount=row["amount"])


@bp.post("/payments/query")
def query_payment():
    merchant, body = authenticate()
    order_no = text(body, "merchantOrderNo", pattern=_NO_RE)
    maybe_busy()
    return ok(**payment_query_view(gateway().find_payment(merchant.merchant_no, order_no)))


@bp.post("/refunds")
def create_refund():
    merchant, body = authenticate()
    refund_no = text(body, "merchantRefundNo", pattern=_NO_RE)
    order_no = text(body, "merchantOrderNo", pattern=_NO_RE)
    value = amount(body)
    reason = text(body, "reason", required=False)
    notify_url = url(body, "notifyUrl")
    row = gateway().create_refund(merchant.merchant_no, refund_no, order_no, value, reason, notify_url)
    return ok(**refund_view(row))


@bp.post("/refunds/query")
def query_refund():
    merchant, body = authenticate()
    refund_no = text(body, "merchantRefundNo", pattern=_NO_RE)
    maybe_busy()
    return ok(**refund_view(gateway().find_refund(merchant.merchant_no, refund_no)))


@bp.post("/payouts")
def create_payout():
    merchant, body = authenticate()
    payout_no = text(body, "merchantPayoutNo", pattern=_NO_RE)
    account_no = text(body, "accountNo", max_len=32)
    if not account_no.isdigit() or len(account_no) < 6:
        raise _bad("accountNo must be 6-32 digits")
    account_name = text(body, "accountName", max_len=128)
    bank_code = text(body, "bankCode", max_len=32)
    value = amount(body)
    purpose = text(body, "purpose", required=False)
    notify_url = url(body, "notifyUrl", required=False)
    g = gateway()
    row, created = g.create_payout(merchant.merchant_no, payout_no, account_no, account_name, bank_code, value,
                                   purpose, notify_url)
    if created and row["outcome"] == "timeout":
        # The payout is recorded; the answer comes too late for the client (it must query later).
        g.stopping.wait(g.faults["payout_timeout_sleep_ms"] / 1000.0)
        try:
            row = g.find_payout(merchant.merchant_no, payout_no)
        except GatewayError:  # reset while we slept
            raise GatewayError(503, "SYSTEM_BUSY", "payout vanished while processing") from None
    return ok(**payout_view(row))


@bp.post("/payouts/query")
def query_payout():
    merchant, body = authenticate()
    payout_no = text(body, "merchantPayoutNo", pattern=_NO_RE)
    maybe_busy()
    return ok(**payout_view(gateway().find_payout(merchant.merchant_no, payout_no)))


@bp.post("/statements")
def statement():
    merchant, body = authenticate()
    day = text(body, "date", max_len=10)
    try:
        date.fromisoformat(day)
    except ValueError:
        raise _bad("date must be yyyy-mm-dd") from None
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", day):
        raise _bad("date must be yyyy-mm-dd")
    csv_text = gateway().statement_csv(merchant.merchant_no, day)
    latency = gateway().faults["statement_latency_ms"]
    if latency:  # a slow statement download (the portal's run shows it is still reading)
        time.sleep(latency / 1000)
    return Response(csv_text, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="statement-{merchant.merchant_no}-{day}.csv"'})
