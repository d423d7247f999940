"""The gateway's state machines: payments, refunds, payouts, statements, and their resolution.

States only move forward:

- payment: PENDING → SUCCESS | FAILED | PROCESSING | EXPIRED; PROCESSING → SUCCESS | FAILED;
- refund:  PROCESSING → SUCCESS | FAILED;
- payout:  PROCESSING → SUCCESS | FAILED (or created directly SUCCESS / FAILED).

Reaching SUCCESS or FAILED queues exactly one callback (payments always; refunds always; payouts only
when they resolved asynchronously and have a notifyUrl). Knob values are read when the action happens
(a payment put into PROCESSING keeps the ``processing_resolves_to`` of that moment).

Every public method raises ``GatewayError`` (HTTP status + protocol code) for refusals; the HTTP layer
only parses input and renders.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from decimal import Decimal

from .callbacks import CallbackQueue, Dispatcher
from .config import Faults, SandboxConfig
from .store import Store
from .util import SHANGHAI, iso, money, new_id, shanghai_day

log = logging.getLogger("sandbox")

DEFAULT_EXPIRE_SECONDS = 86400
MAX_EXPIRE_SECONDS = 30 * 86400
STATEMENT_HEADER = ["gatewayTxnId", "merchantOrderNo", "type", "amount", "status", "completedAt"]
FAIL_REASONS = {
    "decline": "DECLINED",
    "processing": "BANK_REJECTED",
    "refund": "REFUND_REJECTED",
    "payout": "ACCOUNT_FROZEN",
}


class GatewayError(Exception):
    def __init__(self, http_status: int, code: str, message: str):
        super().__init__(message)
        self.http_status, self.code, self.message = http_status, code, message


class Gateway:
    def __init__(self, config: SandboxConfig, clock=time.time):
        self.config = config
        self.merchants = dict(config.merchants)  # set_callback_secret changes it; reset puts it back
        self.clock = clock
        self.store = Store(config.db_path)
        self.faults = Faults(config.faults)
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.callbacks = CallbackQueue(self)
        self._dispatcher: Dispatcher | None = None
        with self.store.tx() as db:  # an attempt interrupted by a crash is due again
            db.execute("UPDATE callbacks SET next_attempt_ts=? WHERE status='PENDING' AND next_attempt_ts IS NULL",
                       (self.clock(),))

    # -- lifecycle ------------------------------------------------------------------------------------

    def start_dispatcher(self) -> None:
        if self._dispatcher is None or not self._dispatcher.is_alive():
            self.stopping.clear()
            self._dispatcher = Dispatcher(self)
            self._dispatcher.start()

    def close(self) -> None:
        self.stopping.set()
        if self._dispatcher is not None:
            self._dispatcher.stop()
        self.store.close()

    def reset(self) -> dict:
        """Delete every payment, refund, payout, callback and webhook receipt; knobs and merchants'
        callback secrets back to the startup values."""
        self.merchants = dict(self.config.merchants)
        self.store.clear()
        self.callbacks.flush_requested.clear()
        return self.faults.reset()

    def set_callback_secret(self, merchant_no: str, secret: str) -> None:
        """What a real gateway's merchant console does after the merchant rotates its notification
        key: callbacks from now on (retries of earlier ones included) are signed with ``secret``."""
        merchant = self.merchants.get(merchant_no)
        if merchant is None:
            raise GatewayError(404, "MERCHANT_NOT_FOUND", f"no merchant {merchant_no}")
        if not 16 <= len(secret) <= 256 or not secret.isascii() or not secret.isprintable():
            raise GatewayError(400, "INVALID_REQUEST", "callbackSecret must be 16 to 256 printable ASCII characters")
        self.merchants = {**self.merchants, merchant_no: replace(merchant, callback_secret=secret)}

    def run_due_once(self) -> bool:
        """Resolve what is due and deliver due callbacks once; True if anything happened."""
        resolved = self.resolve_due()
        released = self.callbacks.release_held()
        for callback_id in released:
            if self.stopping.is_set():
                break
            self.callbacks.attempt(callback_id)
        due = self.callbacks.due_ids()
        for callback_id in due:
            if self.stopping.is_set():
                break
            self.callbacks.attempt(callback_id)
        return bool(resolved or released or due)

    # -- payments -------------------------------------------------------------------------------------

    def create_payment(self, merchant_no: str, order_no: str, amount: Decimal, currency: str, subject: str,
                       notify_url: str, return_url: str, expire_seconds: int | None) -> dict:
        """The payment for (merchant_no, order_no), created PENDING if new. The same order with another
        amount or currency → 409 DUPLICATE_ORDER; otherwise the first request's payment as it is now."""
        now = self.clock()
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM payments WHERE merchant_no=? AND merchant_order_no=?",
                             (merchant_no, order_no)).fetchone()
            if row is not None:
                if Decimal(row["amount"]) != amount or row["currency"] != currency:
                    raise GatewayError(409, "DUPLICATE_ORDER",
                                       f"merchantOrderNo {order_no} already exists with amount {row['amount']}")
                return dict(row)
            txn_id = new_id("GW", now)
            db.execute(
                "INSERT INTO payments (gateway_txn_id, merchant_no, merchant_order_no, amount, currency, subject,"
                " notify_url, return_url, status, created_ts, expire_ts) VALUES (?,?,?,?,?,?,?,?,'PENDING',?,?)",
                (txn_id, merchant_no, order_no, money(amount), currency, subject, notify_url, return_url, now,
                 now + (expire_seconds or DEFAULT_EXPIRE_SECONDS)),
            )
            return dict(db.execute("SELECT * FROM payments WHERE gateway_txn_id=?", (txn_id,)).fetchone())

    def get_payment(self, txn_id: str) -> dict | None:
        self._expire_due()
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM payments WHERE gateway_txn_id=?", (txn_id,)).fetchone()
        return dict(row) if row else None

    def find_payment(self, merchant_no: str, order_no: str) -> dict:
        self._expire_due()
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM payments WHERE merchant_no=? AND merchant_order_no=?",
                             (merchant_no, order_no)).fetchone()
        if row is None:
            raise GatewayError(404, "ORDER_NOT_FOUND", f"no payment for merchantOrderNo {order_no}")
        return dict(row)

    def act_on_payment(self, txn_id: str, action: str, *, admin: bool = False, fail_reason: str | None = None) -> dict:
        """The payer's (or a test's) answer: SUCCESS, FAILED or PROCESSING. The pay page may act only on a
        PENDING payment; the admin may also settle a PROCESSING one early. Anything else → 409."""
        self._expire_due()
        now = self.clock()
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM payments WHERE gateway_txn_id=?", (txn_id,)).fetchone()
            if row is None:
                raise GatewayError(404, "ORDER_NOT_FOUND", f"no payment {txn_id}")
            allowed = row["status"] == "PENDING" or (admin and row["status"] == "PROCESSING" and action != "PROCESSING")
            if not allowed:
                raise GatewayError(409, "INVALID_STATE", f"payment {txn_id} is {row['status']}")
            if action == "PROCESSING":
                faults = self.faults.snapshot()
                db.execute("UPDATE payments SET status='PROCESSING', resolve_ts=?, resolve_to=? WHERE gateway_txn_id=?",
                           (now + faults["processing_delay_ms"] / 1000.0, faults["processing_resolves_to"], txn_id))
                self.wake.set()
            else:
                self._finish_payment(db, dict(row), action, fail_reason or FAIL_REASONS["decline"])
            return dict(db.execute("SELECT * FROM payments WHERE gateway_txn_id=?", (txn_id,)).fetchone())

    def _finish_payment(self, db, row: dict, status: str, fail_reason: str) -> None:
        now = self.clock()
        paid_at = iso(now) if status == "SUCCESS" else None
        reason = None if status == "SUCCESS" else fail_reason
        db.execute("UPDATE payments SET status=?, paid_at=?, fail_reason=?, completed_ts=?, completed_day=?,"
                   " resolve_ts=NULL WHERE gateway_txn_id=?",
                   (status, paid_at, reason, now, shanghai_day(now), row["gateway_txn_id"]))
        self.callbacks.enqueue(db, type="payment", object_id=row["gateway_txn_id"], merchant_no=row["merchant_no"],
                               url=row["notify_url"], payload={
                                   "merchantNo": row["merchant_no"], "merchantOrderNo": row["merchant_order_no"],
                                   "gatewayTxnId": row["gateway_txn_id"], "amount": row["amount"],
                                   "currency": row["currency"], "status": status, "paidAt": paid_at,
                                   "failReason": reason})

    def resend_payment_callback(self, txn_id: str) -> str:
        """Queue the payment's final callback again: same eventId, same body (a true duplicate)."""
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM payments WHERE gateway_txn_id=?", (txn_id,)).fetchone()
            if row is None:
                raise GatewayError(404, "ORDER_NOT_FOUND", f"no payment {txn_id}")
            first = db.execute("SELECT * FROM callbacks WHERE type='payment' AND object_id=? ORDER BY id LIMIT 1",
                               (txn_id,)).fetchone()
            if row["status"] not in ("SUCCESS", "FAILED") or first is None:
                raise GatewayError(409, "INVALID_STATE", f"payment {txn_id} is {row['status']}: no final callback")
            return self.callbacks.enqueue(db, type="payment", object_id=txn_id, merchant_no=row["merchant_no"],
                                          url=first["url"], event_id=first["event_id"], body=first["body"],
                                          resend=True)

    def _expire_due(self) -> int:
        now = self.clock()
        with self.store.tx() as db:
            return db.execute("UPDATE payments SET status='EXPIRED', completed_ts=? WHERE status='PENDING' "
                              "AND expire_ts <= ?", (now, now)).rowcount

    # -- refunds --------------------------------------------------------------------------------------

    def create_refund(self, merchant_no: str, refund_no: str, order_no: str, amount: Decimal, reason: str | None,
                      notify_url: str) -> dict:
        now = self.clock()
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM refunds WHERE merchant_no=? AND merchant_refund_no=?",
                             (merchant_no, refund_no)).fetchone()
            if row is not None:
                if row["merchant_order_no"] != order_no or Decimal(row["amount"]) != amount:
                    raise GatewayError(409, "DUPLICATE_REFUND",
                                       f"merchantRefundNo {refund_no} already exists with other order or amount")
                return dict(row)
            payment = db.execute("SELECT * FROM payments WHERE merchant_no=? AND merchant_order_no=?",
                                 (merchant_no, order_no)).fetchone()
            if payment is None:
                raise GatewayError(404, "ORDER_NOT_FOUND", f"no payment for merchantOrderNo {order_no}")
            if payment["status"] != "SUCCESS":
                raise GatewayError(409, "ORDER_NOT_PAID", f"payment {order_no} is {payment['status']}")
            taken = sum((Decimal(r["amount"]) for r in db.execute(
                "SELECT amount FROM refunds WHERE gateway_txn_id=? AND status IN ('PROCESSING','SUCCESS')",
                (payment["gateway_txn_id"],))), Decimal("0"))
            if taken + amount > Decimal(payment["amount"]):
                raise GatewayError(409, "REFUND_EXCEEDS", f"refundable {money(Decimal(payment['amount']) - taken)}, "
                                                          f"asked {money(amount)}")
            faults = self.faults.snapshot()
            refund_id = new_id("GR", now)
            db.execute(
                "INSERT INTO refunds (refund_id, merchant_no, merchant_refund_no, merchant_order_no, gateway_txn_id,"
                " amount, reason, notify_url, status, created_ts, resolve_ts, resolve_to)"
                " VALUES (?,?,?,?,?,?,?,?,'PROCESSING',?,?,?)",
                (refund_id, merchant_no, refund_no, order_no, payment["gateway_txn_id"], money(amount), reason,
                 notify_url, now, now + faults["refund_delay_ms"] / 1000.0, faults["refund_outcome"]),
            )
            self.wake.set()
            return dict(db.execute("SELECT * FROM refunds WHERE refund_id=?", (refund_id,)).fetchone())

    def find_refund(self, merchant_no: str, refund_no: str) -> dict:
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM refunds WHERE merchant_no=? AND merchant_refund_no=?",
                             (merchant_no, refund_no)).fetchone()
        if row is None:
            raise GatewayError(404, "REFUND_NOT_FOUND", f"no refund {refund_no}")
        return dict(row)

    def _finish_refund(self, db, row: dict, status: str) -> None:
        now = self.clock()
        refunded_at = iso(now) if status == "SUCCESS" else None
        reason = None if status == "SUCCESS" else FAIL_REASONS["refund"]
        db.execute("UPDATE refunds SET status=?, refunded_at=?, fail_reason=?, completed_ts=?, completed_day=?,"
                   " resolve_ts=NULL WHERE refund_id=?",
                   (status, refunded_at, reason, now, shanghai_day(now), row["refund_id"]))
        self.callbacks.enqueue(db, type="refund", object_id=row["refund_id"], merchant_no=row["merchant_no"],
                               url=row["notify_url"], payload={
                                   "merchantNo": row["merchant_no"], "merchantRefundNo": row["merchant_refund_no"],
                                   "merchantOrderNo": row["merchant_order_no"], "refundId": row["refund_id"],
                                   "amount": row["amount"], "status": status, "refundedAt": refunded_at,
                                   "failReason": reason})

    # -- payouts --------------------------------------------------------------------------------------

    def create_payout(self, merchant_no: str, payout_no: str, account_no: str, account_name: str, bank_code: str,
                      amount: Decimal, purpose: str | None, notify_url: str | None) -> tuple[dict, bool]:
        """(payout, created). A repeat of ``payout_no`` never creates a second payout: it returns the
        existing one as it is now (409 DUPLICATE_PAYOUT if the amount or account differ)."""
        now = self.clock()
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM payouts WHERE merchant_no=? AND merchant_payout_no=?",
                             (merchant_no, payout_no)).fetchone()
            if row is not None:
                if Decimal(row["amount"]) != amount or row["account_no"] != account_no:
                    raise GatewayError(409, "DUPLICATE_PAYOUT",
                                       f"merchantPayoutNo {payout_no} already exists with other amount or account")
                return dict(row), False
            faults = self.faults.snapshot()
            outcome = faults["payout_outcome"]
            payout_id = new_id("GP", now)
            status, resolve_ts, resolve_to, serial, reason, done = "PROCESSING", None, None, None, None, None
            if outcome == "success":
                status, serial, done = "SUCCESS", new_id("BS", now), now
            elif outcome == "fail":
                status, reason, done = "FAILED", FAIL_REASONS["payout"], now
            elif outcome in ("async_success", "async_fail", "timeout"):
                resolve_ts = now + faults["payout_delay_ms"] / 1000.0
                resolve_to = "FAILED" if outcome == "async_fail" else "SUCCESS"
            db.execute(
                "INSERT INTO payouts (payout_id, merchant_no, merchant_payout_no, account_no, account_name, bank_code,"
                " amount, purpose, notify_url, outcome, status, created_ts, resolve_ts, resolve_to, bank_serial_no,"
                " fail_reason, completed_ts, completed_day) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (payout_id, merchant_no, payout_no, account_no, account_name, bank_code, money(amount), purpose,
                 notify_url, outcome, status, now, resolve_ts, resolve_to, serial, reason, done,
                 shanghai_day(done) if done else None),
            )
            self.wake.set()
            return dict(db.execute("SELECT * FROM payouts WHERE payout_id=?", (payout_id,)).fetchone()), True

    def find_payout(self, merchant_no: str, payout_no: str) -> dict:
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM payouts WHERE merchant_no=? AND merchant_payout_no=?",
                             (merchant_no, payout_no)).fetchone()
        if row is None:
            raise GatewayError(404, "PAYOUT_NOT_FOUND", f"no payout {payout_no}")
        return dict(row)

    def _finish_payout(self, db, row: dict, status: str) -> None:
        now = self.clock()
        serial = new_id("BS", now) if status == "SUCCESS" else None
        reason = None if status == "SUCCESS" else FAIL_REASONS["payout"]
        db.execute("UPDATE payouts SET status=?, bank_serial_no=?, fail_reason=?, completed_ts=?, completed_day=?,"
                   " resolve_ts=NULL WHERE payout_id=?", (status, serial, reason, now, shanghai_day(now),
                                                          row["payout_id"]))
        if row["notify_url"]:
            self.callbacks.enqueue(db, type="payout", object_id=row["payout_id"], merchant_no=row["merchant_no"],
                                   url=row["notify_url"], payload={
                                       "merchantNo": row["merchant_no"], "merchantPayoutNo": row["merchant_payout_no"],
                                       "payoutId": row["payout_id"], "amount": row["amount"], "status": status,
                                       "bankSerialNo": serial, "failReason": reason, "completedAt": iso(now)})

    # -- the dispatcher's share -----------------------------------------------------------------------

    def resolve_due(self) -> int:
        """Settle every PROCESSING payment, refund and payout whose time has come; expire PENDING payments."""
        now = self.clock()
        count = self._expire_due()
        with self.store.tx() as db:
            for row in db.execute("SELECT * FROM payments WHERE status='PROCESSING' AND resolve_ts <= ?",
                                  (now,)).fetchall():
                self._finish_payment(db, dict(row), row["resolve_to"], FAIL_REASONS["processing"])
                count += 1
            for row in db.execute("SELECT * FROM refunds WHERE status='PROCESSING' AND resolve_ts <= ?",
                                  (now,)).fetchall():
                self._finish_refund(db, dict(row), row["resolve_to"])
                count += 1
            for row in db.execute("SELECT * FROM payouts WHERE status='PROCESSING' AND resolve_ts <= ?",
                                  (now,)).fetchall():
                self._finish_payout(db, dict(row), row["resolve_to"])
                count += 1
        return count

    # -- statements and inspection --------------------------------------------------------------------

    def statement_csv(self, merchant_no: str, day: str) -> str:
        """That Shanghai calendar day's SUCCESS/FAILED payments, refunds (negative) and payouts, by time.

        Available from the day's close (Shanghai midnight) plus ``statement_delay_ms``; before that
        ``409 STATEMENT_NOT_READY``. The ``statement_*`` knobs (PROTOCOL.md §9) falsify the lines."""
        ready_at = datetime.combine(date.fromisoformat(day) + timedelta(days=1), dt_time(0), SHANGHAI).timestamp() \
            + self.faults["statement_delay_ms"] / 1000
        if self.clock() < ready_at:
            raise GatewayError(409, "STATEMENT_NOT_READY", f"the statement of {day} is available from {iso(ready_at)}")
        with self.store.tx() as db:
            rows = db.execute(
                "SELECT gateway_txn_id AS id, merchant_order_no AS ref, 'payment' AS type, amount, status,"
                " completed_ts FROM payments WHERE merchant_no=? AND completed_day=? AND status IN ('SUCCESS','FAILED')"
                " UNION ALL SELECT refund_id, merchant_refund_no, 'refund', '-' || amount, status, completed_ts"
                " FROM refunds WHERE merchant_no=? AND completed_day=? AND status IN ('SUCCESS','FAILED')"
                " UNION ALL SELECT payout_id, merchant_payout_no, 'payout', amount, status, completed_ts"
                " FROM payouts WHERE merchant_no=? AND completed_day=? AND status IN ('SUCCESS','FAILED')"
                " ORDER BY completed_ts, id", (merchant_no, day) * 3).fetchall()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(STATEMENT_HEADER)
        chosen = self.faults["statement_line_faults"]
        for r in rows:
            line = [r["id"], r["ref"], r["type"], r["amount"], r["status"], iso(r["completed_ts"])]
            fault = chosen.get(r["ref"]) or chosen.get(r["id"])
            failed_payment = r["type"] == "payment" and r["status"] == "FAILED"
            if failed_payment and (fault == "failed_as_success"
                                   or self.faults.roll("statement_failed_as_success_rate")):
                line[4] = "SUCCESS"
            if fault == "drop" or self.faults.roll("statement_drop_rate"):
                continue
            if fault == "amount_change" or self.faults.roll("statement_amount_change_rate"):
                changed = Decimal(line[3]) + (Decimal("1.00") if Decimal(line[3]) > 0 else Decimal("-1.00"))
                line[3] = money(changed)
            writer.writerow(line)
            if fault == "duplicate" or self.faults.roll("statement_duplicate_rate"):
                writer.writerow(line)
        stamp = day.replace("-", "")
        for n in range(self.faults["statement_unknown_success"]):
            # A success the merchant never heard of (漏单): an order number it never sent.
            writer.writerow([f"GW{stamp}235959{n:08d}", f"CPX{stamp}{n:06d}", "payment", "88.00", "SUCCESS",
                             f"{day}T23:59:59+08:00"])
        return out.getvalue()

    def stats(self) -> dict:
        with self.store.tx() as db:
            one = lambda sql: db.execute(sql).fetchone()[0]  # noqa: E731
            by_no = {r[0]: r[1] for r in db.execute(
                "SELECT merchant_payout_no, COUNT(*) FROM payouts GROUP BY merchant_payout_no ORDER BY 1")}
            return {
                "payments": one("SELECT COUNT(*) FROM payments"),
                "payouts": one("SELECT COUNT(*) FROM payouts"),
                "refunds": one("SELECT COUNT(*) FROM refunds"),
                "callbacks": one("SELECT COUNT(*) FROM callbacks"),
                "callbacks_sent": one("SELECT COUNT(*) FROM callback_attempts WHERE outcome != 'DROPPED'"),
                "callbacks_dropped": one("SELECT COUNT(*) FROM callback_attempts WHERE outcome = 'DROPPED'"),
                "callbacks_acked": one("SELECT COUNT(*) FROM callbacks WHERE status = 'ACKED'"),
                "callbacks_pending": one("SELECT COUNT(*) FROM callbacks WHERE status = 'PENDING'"),
                "callbacks_gave_up": one("SELECT COUNT(*) FROM callbacks WHERE status = 'GAVE_UP'"),
                "payouts_by_merchant_payout_no": by_no,
            }

    def callbacks_for(self, object_id: str | None = None) -> list[dict]:
        with self.store.tx() as db:
            if object_id is None:
                cbs = db.execute("SELECT * FROM callbacks ORDER BY id").fetchall()
            else:
                cbs = db.execute("SELECT * FROM callbacks WHERE object_id=? ORDER BY id", (object_id,)).fetchall()
            attempts: dict[int, list] = {}
            ids = [c["id"] for c in cbs]
            marks = ",".join("?" * len(ids))
            for a in (db.execute(f"SELECT * FROM callback_attempts WHERE callback_id IN ({marks}) ORDER BY id",
                                 ids).fetchall() if ids else []):
                attempts.setdefault(a["callback_id"], []).append(a)
        return [{
            "eventId": c["event_id"], "type": c["type"], "objectId": c["object_id"], "url": c["url"],
            "status": c["status"], "held": bool(c["held"]), "resend": bool(c["resend"]), "attempts": c["attempts"],
            "createdAt": iso(c["created_ts"]), "nextAttemptAt": iso(c["next_attempt_ts"]),
            "ackedAt": iso(c["acked_ts"]), "body": c["body"],
            "deliveries": [{
                "attemptNo": a["attempt_no"], "duplicate": bool(a["duplicate"]), "at": iso(a["ts"]),
                "outcome": a["outcome"], "httpStatus": a["http_status"], "responseBody": a["response_body"],
                "error": a["error"]} for a in attempts.get(c["id"], [])],
        } for c in cbs]

    def refunds_of(self, txn_id: str) -> list[dict]:
        with self.store.tx() as db:
            return [dict(r) for r in db.execute("SELECT * FROM refunds WHERE gateway_txn_id=? ORDER BY created_ts",
                                                (txn_id,))]

    def get_object(self, table: str, key: str, value: str) -> dict | None:
        assert table in ("refunds", "payouts") and key in ("refund_id", "payout_id")
        with self.store.tx() as db:
            row = db.execute(f"SELECT * FROM {table} WHERE {key}=?", (value,)).fetchone()  # noqa: S608
        return dict(row) if row else None
