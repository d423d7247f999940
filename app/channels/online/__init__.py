"""ONLINE channels: a bank gateway over HTTP (the sandbox gateway speaks this protocol; see
sandbox/PROTOCOL.md). Redirect to the bank's pay page; results by signed callback or query."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import IO

import httpx

from ...domain.enums import ChannelKind, ChannelPaymentStatus, GatewayPaymentStatus, GatewayRefundStatus
from ...domain.money import money_str
from ..base import (
    CallbackEvent,
    CallbackRejected,
    Capabilities,
    ChannelAdapter,
    ChannelConfig,
    ChannelError,
    ChannelUnavailable,
    InternalLedgers,
    PaymentRequest,
    PaymentResult,
    PaymentStart,
    RefundRequest,
    RefundResult,
    StatementLine,
    StatementNotReady,
)
from ..http import gateway_client
from . import callback_payload, signature

TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def _secrets(cfg: ChannelConfig, name: str) -> list[str]:
    """The current secret and, while rotating, the previous one."""
    values = [cfg.secrets.get(name), cfg.secrets.get(f"{name}_previous")]
    return [v for v in values if v]


def _code(r: httpx.Response) -> str | None:
    try:
        body = r.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def statement_lines(text: Iterable[str]) -> Iterator[StatementLine]:
    """The gateway's statement CSV (sandbox/PROTOCOL.md), parsed line by line as it is read."""
    rows = csv.reader(text)
    header = next(rows, None)
    if header is None:
        return
    col = {name: i for i, name in enumerate(header)}
    txn, order, kind, amount, status = (col["gatewayTxnId"], col["merchantOrderNo"], col["type"], col["amount"],
                                        col["status"])
    done = col.get("completedAt")
    last_when, last_at = "", None  # lines come in completion order: many share their second
    for row in rows:
        if not row:
            continue  # a blank line, as csv.DictReader skips it
        when = row[done] if done is not None and done < len(row) else ""
        if when != last_when:
            last_when, last_at = when, _parse_time(when)
        yield StatementLine(channel_transaction_id=row[txn], channel_payment_no=row[order], type=row[kind],
                            amount=Decimal(row[amount]), status=row[status], completed_at=last_at)


def _lines_of(spool: IO[bytes], encoding: str) -> Iterator[StatementLine]:
    with spool, io.TextIOWrapper(spool, encoding=encoding, newline="") as text:
        yield from statement_lines(text)


class OnlineAdapter(ChannelAdapter):
    kind = ChannelKind.ONLINE
    capabilities = Capabilities(redirects_to_bank=True, async_results=True)

    def _post(self, cfg: ChannelConfig, path: str, payload: dict, *,
              timeout: httpx.Timeout = TIMEOUT, spool: IO[bytes] | None = None) -> httpx.Response:
        """POST signed JSON. With ``spool``, a 200 answer's body is written there as it arrives (a
        statement can be tens of MB) instead of being held in the response."""
        body = json.dumps({"merchantNo": cfg.config["merchant_no"], **payload}, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json",
                   signature.HEADER: signature.sign(_secrets(cfg, "api_secret")[0], body)}
        url = cfg.config["base_url"].rstrip("/") + path
        try:
            with gateway_client().stream("POST", url, content=body, headers=headers, timeout=timeout) as response:
                if spool is not None and response.status_code == 200:
                    for chunk in response.iter_bytes():
                        spool.write(chunk)
                else:
                    response.read()
        except httpx.HTTPError as exc:
            raise ChannelUnavailable(f"{cfg.code}: {type(exc).__name__} calling {path}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ChannelUnavailable(f"{cfg.code}: HTTP {response.status_code} from {path}")
        return response

    @staticmethod
    def _json(response: httpx.Response) -> dict:
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise ChannelUnavailable(f"unreadable answer (HTTP {response.status_code})") from exc

    def create_payment(self, cfg: ChannelConfig, req: PaymentRequest,
                       ledgers: InternalLedgers | None = None) -> PaymentStart:
        r = self._post(cfg, "/api/payments", {
            "merchantOrderNo": req.channel_payment_no, "amount": money_str(req.amount), "currency": "CNY",
            "subject": req.subject, "notifyUrl": req.notify_url, "returnUrl": req.return_url,
            "expireSeconds": req.expire_seconds,
        })
        data = self._json(r)
        if r.status_code != 200 or data.get("code") != "OK":
            raise ChannelError(f"{data.get('code', r.status_code)}: {data.get('message', '')}")
        return PaymentStart(status=ChannelPaymentStatus.PROCESSING, channel_transaction_id=data["gatewayTxnId"],
                            pay_url=data["payUrl"])

    def query_payment(self, cfg: ChannelConfig, channel_payment_no: str) -> PaymentResult:
        r = self._post(cfg, "/api/payments/query", {"merchantOrderNo": channel_payment_no})
        data = self._json(r)
        if r.status_code == 404:
            return PaymentResult(status=GatewayPaymentStatus.NOT_FOUND, channel_payment_no=channel_payment_no)
        if r.status_code != 200:
            raise ChannelUnavailable(f"query answered {r.status_code}: {data.get('code')}")
        return PaymentResult(
            status=data["status"], channel_payment_no=channel_payment_no, amount=Decimal(str(data["amount"])),
            channel_transaction_id=data.get("gatewayTxnId"), completed_at=_parse_time(data.get("paidAt")),
            failure_reason=data.get("failReason"),
        )

    def refund(self, cfg: ChannelConfig, req: RefundRequest) -> RefundResult:
        r = self._post(cfg, "/api/refunds", {
            "merchantRefundNo": req.refund_no, "merchantOrderNo": req.channel_payment_no,
            "amount": money_str(req.amount), "reason": req.reason, "notifyUrl": req.notify_url,
        })
        data = self._json(r)
        if r.status_code != 200:
            raise ChannelError(f"{data.get('code', r.status_code)}: {data.get('message', '')}")
        return RefundResult(status=data["status"], refund_no=req.refund_no, channel_refund_id=data.get("refundId"),
                            amount=req.amount)

    def query_refund(self, cfg: ChannelConfig, refund_no: str) -> RefundResult:
        r = self._post(cfg, "/api/refunds/query", {"merchantRefundNo": refund_no})
        data = self._json(r)
        if r.status_code == 404:
            return RefundResult(status=GatewayRefundStatus.NOT_FOUND, refund_no=refund_no)
        if r.status_code != 200:
            raise ChannelUnavailable(f"refund query answered {r.status_code}")
        return RefundResult(status=data["status"], refund_no=refund_no, channel_refund_id=data.get("refundId"),
                            amount=Decimal(str(data["amount"])), failure_reason=data.get("failReason"))

    def fetch_statement(self, cfg: ChannelConfig, day: date) -> Iterator[StatementLine]:
        """The day's lines, parsed as they are read from the downloaded file (spooled to disk above
        8 MiB): the whole download ends before the first line is handed on, so no connection stays
        open while the caller imports, and a million lines never sit in memory."""
        spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - closed by _lines_of
        try:
            r = self._post(cfg, "/api/statements", {"date": day.isoformat()}, spool=spool)
            if r.status_code == 409 and _code(r) == "STATEMENT_NOT_READY":
                raise StatementNotReady(f"the statement of {day} is not published yet")
            if r.status_code != 200:
                raise ChannelUnavailable(f"statement answered {r.status_code}")
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return _lines_of(spool, r.encoding or "utf-8")

    def parse_callback(self, cfg: ChannelConfig, headers: dict, body: bytes) -> CallbackEvent:
        if not signature.verify(_secrets(cfg, "callback_secret"), headers.get(signature.HEADER), body):
            raise CallbackRejected("bad or stale signature")
        try:
            data = json.loads(body, parse_float=Decimal)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            raise CallbackRejected("body is not JSON") from None
        if not isinstance(data, dict) or data.get("merchantNo") != cfg.config.get("merchant_no"):
            raise CallbackRejected("callback for another merchant")
        if data.get("type") == "payment":
            payment = callback_payload.parse(data, callback_payload.PaymentCallback)
            return CallbackEvent(kind="payment", raw=data, payment=payment.result())
        if data.get("type") == "refund":
            refund = callback_payload.parse(data, callback_payload.RefundCallback)
            return CallbackEvent(kind="refund", raw=data, refund=refund.result())
        raise CallbackRejected(f"unknown callback type {str(data.get('type'))[:40]!r}")

