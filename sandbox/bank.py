"""The sandbox bank's receiving side (PROTOCOL.md §13): a payer's wire "arrives" on one of the
portal's receiving accounts, and the account's statement of a day is exported as the bank would
(CSV in GBK or UTF-8, MT940, camt.053). Unsigned like the other ``/_sandbox`` endpoints, under the
admin token when one is configured."""

from __future__ import annotations

import hmac
import json
import re
from datetime import date

from flask import Blueprint, Response, current_app, jsonify, request

from . import bank_exports
from .gateway import Gateway, GatewayError
from .util import iso, money, new_id, parse_amount, shanghai_day

bp = Blueprint("sandbox_bank", __name__, url_prefix="/_sandbox/bank")
_ACCOUNT = re.compile(r"^\d{6,32}$")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FORMATS = {"csv", "mt940", "camt053"}
CSV_ENCODINGS = {"gbk": "gbk", "utf-8": "utf-8", "utf-8-sig": "utf-8-sig"}


def _gateway() -> Gateway:
    return current_app.extensions["sandbox"]


@bp.before_request
def require_admin_token():
    token = _gateway().config.admin_token
    if token and not hmac.compare_digest(request.headers.get("X-Sandbox-Admin", "").encode(), token.encode()):
        raise GatewayError(401, "ADMIN_TOKEN_REQUIRED", "missing or wrong X-Sandbox-Admin header")


def _invalid(message: str) -> GatewayError:
    return GatewayError(400, "INVALID_REQUEST", message)


def _text(body: dict, name: str, limit: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit or "\n" in value or "\r" in value:
        raise _invalid(f"{name} must be one line of 1-{limit} characters")
    return value.strip()


def _day(value: object, name: str) -> str:
    if not isinstance(value, str) or not _DAY.match(value):
        raise _invalid(f"{name} must be a date yyyy-mm-dd")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise _invalid(f"{name} must be a date yyyy-mm-dd") from None
    return value


def _account(value: object, name: str) -> str:
    if not isinstance(value, str) or not _ACCOUNT.match(value):
        raise _invalid(f"{name} must be 6-32 digits")
    return value


@bp.post("/wires")
def receive_wire():
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        raise _invalid("body is not JSON") from None
    if not isinstance(body, dict):
        raise _invalid("body must be a JSON object")
    amount = parse_amount(body.get("amount"))
    if amount is None:
        raise _invalid("amount must be a positive amount with at most two decimals")
    g = _gateway()
    now = g.clock()
    row = {
        "account_no": _account(body.get("accountNo"), "accountNo"),
        "payer_name": _text(body, "payerName", 100),
        "payer_account": _account(body.get("payerAccount"), "payerAccount"),
        "amount": money(amount), "currency": "CNY",
        "memo": _text(body, "memo", 140) if body.get("memo") not in (None, "") else "",
        "value_day": _day(body["valueDate"], "valueDate") if body.get("valueDate") else shanghai_day(now),
        "bank_reference": _bank_reference(now),
        "booked_ts": now,
    }
    with g.store.tx() as db:
        db.execute("INSERT INTO bank_wires (bank_reference, account_no, payer_name, payer_account, amount, currency,"
                   " memo, value_day, booked_ts) VALUES (:bank_reference, :account_no, :payer_name, :payer_account,"
                   " :amount, :currency, :memo, :value_day, :booked_ts)", row)
    return jsonify({"code": "OK", **_wire_view(row)})


def _bank_reference(now: float) -> str:
    """``BK`` + yymmdd + 8 random digits: 16 characters, what MT940's bank reference field holds."""
    full = new_id("BK", now)  # BK + yyyymmddHHMMSS + 8 digits
    return "BK" + full[4:10] + full[-8:]


def _wire_view(row) -> dict:
    return {"bankReference": row["bank_reference"], "accountNo": row["account_no"], "payerName": row["payer_name"],
            "payerAccount": row["payer_account"], "amount": row["amount"], "currency": row["currency"],
            "memo": row["memo"], "valueDate": row["value_day"], "bookedAt": iso(row["booked_ts"])}


def _wires(account_no: str, day: str) -> list[dict]:
    with _gateway().store.tx() as db:
        rows = db.execute("SELECT * FROM bank_wires WHERE account_no = ? AND value_day = ? ORDER BY id",
                          (account_no, day)).fetchall()
    return [dict(r) for r in rows]


@bp.get("/wires")
def list_wires():
    account_no = _account(request.args.get("accountNo"), "accountNo")
    day = _day(request.args.get("date"), "date")
    return jsonify({"code": "OK", "wires": [_wire_view(w) for w in _wires(account_no, day)]})


@bp.get("/statements/<account_no>/<day>")
def statement(account_no: str, day: str):
    account_no, day = _account(account_no, "accountNo"), _day(day, "date")
    fmt = request.args.get("format", "csv")
    if fmt not in FORMATS:
        raise _invalid("format must be csv, mt940 or camt053")
    wires = _wires(account_no, day)
    name = f"statement-{account_no}-{day}"
    if fmt == "csv":
        encoding = CSV_ENCODINGS.get(request.args.get("encoding", "gbk").lower())
        if encoding is None:
            raise _invalid("encoding must be gbk, utf-8 or utf-8-sig")
        body = bank_exports.statement_csv(account_no, wires, encoding)
        content_type, name = f"text/csv; charset={'utf-8' if encoding.startswith('utf') else 'gbk'}", name + ".csv"
    elif fmt == "mt940":
        body, content_type, name = bank_exports.statement_mt940(account_no, day, wires), "text/plain; charset=utf-8", \
            name + ".sta"
    else:
        body = bank_exports.statement_camt053(account_no, day, wires, iso(_gateway().clock()) or "")
        content_type, name = "application/xml", name + ".xml"
    return Response(body, content_type=content_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
