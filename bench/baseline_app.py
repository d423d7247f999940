"""The baselines of the benchmarks, served by the same HTTP server as the real application (see
``bench/wsgi.py``, mounted under ``/baseline``):

* ``/bare``  — the framework ceiling: Flask answers a small JSON document and touches nothing.
* ``/naive`` — the naive stack: a plain Flask-SQLAlchemy ORM model of the same width as
  ``payment_orders`` (25 columns: Numeric(15,2) amounts, strings, JSON tags, timestamps), filled
  from the JSON body, ``db.session.add(obj); db.session.commit()`` and ``jsonify`` of the
  object's fields (which, as usual with the ORM, reloads the expired row after the commit).
* ``/callback/online/<channel>`` — the bare signed callback (bench/callbacks.py): the gateway's
  signature and timestamp verified with the channel's callback secret (``X-Gateway-Signature``, the
  adapter's own ``signature.verify``), the JSON body parsed and checked as the adapter does
  (``callback_payload.parse``), and the answer ``success``: no database, nothing settled. The secret
  is sandbox merchant MCH1001's (``sandbox.testing.DEFAULT_MERCHANTS``), the one bench/online_payments.py
  gives the channel.

Its table lives in the benchmark's PostgreSQL database, next to the real ones, on its own
MetaData (it is not part of the application's schema or migrations).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask, jsonify, request
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import Mapped, mapped_column

naive_db = SQLAlchemy(metadata=MetaData())


def _now() -> datetime:
    return datetime.now(UTC)


class NaiveOrder(naive_db.Model):
    __tablename__ = "bench_naive_orders"

    id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    payment_id: Mapped[str] = mapped_column(sa.String(32), unique=True)
    order_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    reseller_code: Mapped[str] = mapped_column(sa.String(32))
    payment_type: Mapped[str] = mapped_column(sa.String(24))
    payment_amount: Mapped[Decimal] = mapped_column(sa.Numeric(15, 2))
    paid_amount: Mapped[Decimal] = mapped_column(sa.Numeric(15, 2), default=Decimal("0.00"))
    refunded_amount: Mapped[Decimal] = mapped_column(sa.Numeric(15, 2), default=Decimal("0.00"))
    reserved_amount: Mapped[Decimal] = mapped_column(sa.Numeric(15, 2), default=Decimal("0.00"))
    refunding_amount: Mapped[Decimal] = mapped_column(sa.Numeric(15, 2), default=Decimal("0.00"))
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    payment_status: Mapped[str] = mapped_column(sa.String(16), default="UNPAID")
    refund_status: Mapped[str] = mapped_column(sa.String(20), default="NO_REFUND")
    last_attempt_failed: Mapped[bool] = mapped_column(default=False)
    last_refund_failed: Mapped[bool] = mapped_column(default=False)
    payment_deadline: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    business_desc: Mapped[str] = mapped_column(sa.String(500), default="")
    priority: Mapped[int] = mapped_column(default=0)
    related_business_id: Mapped[str] = mapped_column(sa.String(64), default="")
    related_business_type: Mapped[str | None] = mapped_column(sa.String(32))
    business_expire_date: Mapped[date | None] = mapped_column(sa.Date)
    tags: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=_now, onupdate=_now)


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    elif url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url[len("postgres://"):]
    return url


def _iso(value):
    return value.isoformat() if value is not None else None


def create_baseline_app(database_url: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url or _database_url()
    naive_db.init_app(app)

    with app.app_context():
        try:
            naive_db.metadata.create_all(naive_db.engine, checkfirst=True)
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError):
            pass  # another worker created it at the same moment
        # No pooled connection may be inherited across a fork.
        naive_db.engine.dispose()

    from app.channels.base import CallbackRejected
    from app.channels.online import callback_payload, signature
    from bench.online_payments import merchant_secrets

    callback_secrets = [merchant_secrets()[1]]

    @app.post("/callback/online/<channel_code>")
    def bare_callback(channel_code: str):
        body = request.get_data(cache=False)
        if not signature.verify(callback_secrets, request.headers.get(signature.HEADER), body):
            return "rejected: bad signature", 400, {"Content-Type": "text/plain"}
        try:
            callback_payload.parse(json.loads(body, parse_float=Decimal), callback_payload.PaymentCallback)
        except (ValueError, CallbackRejected) as exc:
            return f"rejected: {exc}", 400, {"Content-Type": "text/plain"}
        return "success", 200, {"Content-Type": "text/plain"}

    @app.route("/bare", methods=["GET", "POST"])
    def bare():
        return jsonify({"status": "ok", "framework": "flask"})

    @app.post("/naive")
    def naive():
        body = request.get_json()
        order = NaiveOrder(
            payment_id="NAV" + os.urandom(9).hex(),
            order_id=body["orderId"],
            reseller_code=body["resellerId"],
            payment_type=body["paymentType"],
            payment_amount=Decimal(body["paymentAmount"]),
            payment_deadline=datetime.fromisoformat(body["paymentDeadline"]) if body.get("paymentDeadline") else None,
            business_desc=body.get("businessDesc") or "",
            priority=body.get("priority") or 0,
            related_business_id=body.get("relatedBusinessId") or "",
            related_business_type=body.get("relatedBusinessType"),
            business_expire_date=(date.fromisoformat(body["businessExpireDate"])
                                  if body.get("businessExpireDate") else None),
            tags=body.get("tags") or {},
        )
        naive_db.session.add(order)
        naive_db.session.commit()
        return jsonify({
            "id": order.id, "paymentId": order.payment_id, "orderId": order.order_id,
            "resellerId": order.reseller_code, "paymentType": order.payment_type,
            "paymentAmount": str(order.payment_amount), "paidAmount": str(order.paid_amount),
            "refundedAmount": str(order.refunded_amount), "reservedAmount": str(order.reserved_amount),
            "refundingAmount": str(order.refunding_amount), "currency": order.currency,
            "paymentStatus": order.payment_status, "refundStatus": order.refund_status,
            "lastAttemptFailed": order.last_attempt_failed, "lastRefundFailed": order.last_refund_failed,
            "paymentDeadline": _iso(order.payment_deadline), "businessDesc": order.business_desc,
            "priority": order.priority, "relatedBusinessId": order.related_business_id,
            "relatedBusinessType": order.related_business_type,
            "businessExpireDate": _iso(order.business_expire_date), "tags": order.tags,
            "version": order.version, "createdAt": _iso(order.created_at), "updatedAt": _iso(order.updated_at),
        }), 201

    return app
