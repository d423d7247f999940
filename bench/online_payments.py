"""Merged ONLINE payments made through the real services, and the gateway's signed callbacks for them
(bench/callbacks.py, and the callback target of bench/create_order.py).

Inside an app context: ``add_online_channel`` registers channel ONLINE_UNIONPAY on a running sandbox
gateway (sandbox/PROTOCOL.md; merchant MCH1001 of ``sandbox.testing.DEFAULT_MERCHANTS``);
``make_merged_payments`` creates orders with the order service and pays each group of them in ONE
merged checkout (``checkout.submission.submit``: the allocations, the reservation, the channel
payment, and the pay-page request to the gateway after the commit). ``callback_request`` builds the
body and signature header the gateway would send (``X-Gateway-Signature``)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from decimal import Decimal

CHANNEL = "ONLINE_UNIONPAY"
MERCHANT = "MCH1001"
CALLBACK_PATH = f"/api/v1/payment/callback/online/{CHANNEL}"


@dataclass(frozen=True)
class MergedOnline:
    merged_payment_id: str
    channel_payment_no: str  # the merchant order no the gateway calls back with
    gateway_txn_id: str | None
    amount: Decimal
    payment_ids: tuple[str, ...]


def merchant_secrets() -> tuple[str, str]:
    from sandbox.testing import DEFAULT_MERCHANTS

    return DEFAULT_MERCHANTS[MERCHANT]


def add_online_channel(gateway_url: str) -> None:
    from app.extensions import db
    from app.models import Channel
    from app.services.platform import crypto

    api_secret, callback_secret = merchant_secrets()
    db.session.add(Channel(
        code=CHANNEL, name=CHANNEL, name_en=CHANNEL, kind="ONLINE", enabled=True, min_amount=Decimal("0.01"),
        max_amount=None, daily_limit_per_reseller=None, supports_refund=True, supports_partial_refund=True,
        confirm_timeout_seconds=86400, expire_seconds=86400, available_to_all=True,
        config={"base_url": gateway_url, "merchant_no": MERCHANT},
        secrets_enc=crypto.encrypt(json.dumps({"api_secret": api_secret, "callback_secret": callback_secret})),
        sort_order=0))
    db.session.commit()


def make_merged_payments(reseller_code: str, count: int, orders_each: int, amount: str, prefix: str,
                         progress=None) -> list[MergedOnline]:
    """``count`` merged payments, each paying ``orders_each`` new orders of ``amount`` in full."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import ChannelPayment, Reseller
    from app.services.checkout import submission as checkout
    from app.services.checkout.validation import AllocationIn
    from app.services.orders.creation import NewPaymentOrder, create_payment_order
    from app.services.platform.actor import Actor

    orders_actor = Actor(type="api_client", id="bench", client_id=None)
    operator = Actor(type="user", id=f"operator@{reseller_code.lower()}.example")
    reseller_id = db.session.scalar(sa.select(Reseller.id).where(Reseller.code == reseller_code))
    db.session.rollback()
    out = []
    for i in range(count):
        pids = []
        for j in range(orders_each):
            outcome = create_payment_order(orders_actor, NewPaymentOrder(
                order_id=f"{prefix}-{i}-{j}", reseller_code=reseller_code, payment_type="ADVANCE_PAYMENT",
                payment_amount=Decimal(amount), payment_deadline=None), idempotency_key=None, fingerprint="bench")
            pids.append(outcome.order.payment_id)
        res = checkout.submit(operator, None, reseller_id, [AllocationIn(p, amount, CHANNEL) for p in pids])
        cp = db.session.scalar(sa.select(ChannelPayment).where(ChannelPayment.merged_payment_id == res.merged_pk))
        if cp is None or cp.status != "PROCESSING" or not cp.pay_url:
            raise RuntimeError(f"merged payment {res.merged_payment_id} did not start at the gateway: "
                               f"{cp and cp.status} {cp and cp.pay_url}")
        out.append(MergedOnline(res.merged_payment_id, cp.channel_payment_id, cp.channel_transaction_id, cp.amount,
                                tuple(pids)))
        db.session.rollback()
        if progress and (i + 1) % 200 == 0:
            progress(i + 1)
    return out


def callback_request(p: MergedOnline, event_id: str, status: str = "SUCCESS",
                     t: int | None = None) -> tuple[bytes, str]:
    """(body, X-Gateway-Signature value) of the gateway's payment callback for ``p``."""
    from sandbox import signing

    body = json.dumps({"eventId": event_id, "type": "payment", "merchantNo": MERCHANT,
                       "merchantOrderNo": p.channel_payment_no, "gatewayTxnId": p.gateway_txn_id,
                       "amount": f"{p.amount:.2f}", "currency": "CNY", "status": status,
                       "paidAt": None, "failReason": None}, separators=(",", ":")).encode()
    return body, signing.sign(merchant_secrets()[1], body, int(time.time()) if t is None else t)


def write_requests_file(path, rows) -> None:
    """Lines for bench/wrk_requests.lua and bench/loadgen.py's --requests-file: METHOD, path, body,
    then header name/value pairs, tab-separated (no field holds a tab or a newline)."""
    with open(path, "w") as f:
        for method, target, body, headers in rows:
            fields = [method, target, body.decode() if isinstance(body, bytes) else (body or "")]
            for k, v in headers.items():
                fields += [k, v]
            if any("\t" in x or "\n" in x for x in fields):
                raise ValueError("a request field holds a tab or a newline")
            f.write("\t".join(fields) + "\n")
