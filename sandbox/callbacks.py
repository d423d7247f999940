"""Callbacks from the gateway to merchants: queue, signed delivery with retries, and the dispatcher.

A callback is one *event* (``eventId``, a fixed JSON body) and its delivery job. Each delivery attempt
is logged in ``callback_attempts``. Knobs (read at the moment they matter):

- ``callback_delay_ms``: first attempt this long after the event;
- ``drop_rate``: an attempt is counted and logged as DROPPED but nothing is sent;
- ``duplicate_rate``: a sent attempt is immediately sent a second time (same body, same eventId);
- ``out_of_order``: new callbacks are held; held ones are released together, newest first, when the
  knob is switched off, on ``POST /_sandbox/callbacks/flush``, or once the oldest has been held
  ``out_of_order_hold_ms``;
- ``callback_retry_base_ms`` / ``callback_max_attempts``: after a failed attempt n the next one is due
  ``base * 2**(n-1)`` later; after the last one the job is GAVE_UP;
- ``callback_timeout_ms``: per-attempt HTTP timeout.

The merchant acknowledges with HTTP 200 and the body ``success`` (surrounding whitespace ignored);
anything else, redirects included (never followed), is a failed attempt.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from . import signing
from .config import Faults
from .store import Store
from .util import new_event_id


class Gateway(Protocol):
    """What the callback queue and its dispatcher use of the gateway (sandbox/gateway.py)."""

    clock: Callable[[], float]
    store: Store
    faults: Faults
    merchants: dict[str, Any]
    wake: threading.Event
    stopping: threading.Event

    def run_due_once(self) -> bool: ...

log = logging.getLogger("sandbox.callbacks")
MAX_BACKOFF_SECONDS = 3600.0
USER_AGENT = "sandbox-gateway/1.0"


@dataclass(frozen=True)
class SendResult:
    outcome: str  # ACKED | REJECTED | ERROR
    http_status: int | None = None
    response_body: str | None = None
    error: str | None = None


def post_signed(url: str, body: bytes, secret: str, event_id: str, timeout: float) -> SendResult:
    """POST ``body`` to ``url`` signed with ``secret``; never follows redirects, never uses a proxy."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return SendResult("ERROR", error=f"unsupported notify URL {url!r}")
    conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        signing.HEADER: signing.sign(secret, body),
        "X-Gateway-Event-Id": event_id,
        "User-Agent": USER_AGENT,
    }
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read(4096)
    except (OSError, http.client.HTTPException) as exc:
        return SendResult("ERROR", error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        conn.close()
    text = data.decode("utf-8", "replace")
    ok = resp.status == 200 and data.strip() == b"success"
    return SendResult("ACKED" if ok else "REJECTED", http_status=resp.status, response_body=text[:1000])


class CallbackQueue:
    def __init__(self, gateway: Gateway):
        self.g = gateway
        self.flush_requested = threading.Event()

    # -- creating -------------------------------------------------------------------------------------

    def enqueue(self, db, *, type: str, object_id: str, merchant_no: str, url: str, payload: dict | None = None,
                event_id: str | None = None, body: str | None = None, resend: bool = False) -> str:
        """Queue one event inside the caller's transaction; returns its eventId. A resend passes the
        original ``event_id`` and ``body`` so the merchant sees a true duplicate."""
        now = self.g.clock()
        if body is None:
            event_id = new_event_id()
            body = json.dumps({"eventId": event_id, "type": type, **(payload or {})},
                              ensure_ascii=False, separators=(",", ":"))
        faults = self.g.faults.snapshot()
        db.execute(
            "INSERT INTO callbacks (event_id, type, object_id, merchant_no, url, body, status, held, resend,"
            " attempts, created_ts, next_attempt_ts) VALUES (?,?,?,?,?,?,'PENDING',?,?,0,?,?)",
            (event_id, type, object_id, merchant_no, url, body, int(faults["out_of_order"]), int(resend), now,
             now + faults["callback_delay_ms"] / 1000.0),
        )
        self.g.wake.set()
        return event_id

    # -- dispatching ----------------------------------------------------------------------------------

    def release_held(self) -> list[int]:
        """Ids of held callbacks released now, newest first (the order to deliver them in)."""
        now = self.g.clock()
        faults = self.g.faults.snapshot()
        with self.g.store.tx() as db:
            held = db.execute("SELECT id, created_ts FROM callbacks WHERE status='PENDING' AND held=1 "
                              "ORDER BY id").fetchall()
            if not held:
                self.flush_requested.clear()
                return []
            due = (not faults["out_of_order"] or self.flush_requested.is_set()
                   or held[0]["created_ts"] + faults["out_of_order_hold_ms"] / 1000.0 <= now)
            if not due:
                return []
            ids = [r["id"] for r in held]
            db.executemany("UPDATE callbacks SET held=0, next_attempt_ts=? WHERE id=?", [(now, i) for i in ids])
            self.flush_requested.clear()
        return list(reversed(ids))

    def due_ids(self, limit: int = 50) -> list[int]:
        with self.g.store.tx() as db:
            rows = db.execute("SELECT id FROM callbacks WHERE status='PENDING' AND held=0 AND next_attempt_ts <= ? "
                              "ORDER BY next_attempt_ts, id LIMIT ?", (self.g.clock(), limit)).fetchall()
        return [r["id"] for r in rows]

    def attempt(self, callback_id: int) -> None:
        """One delivery attempt (plus its duplicate, if rolled), logged, then ack / retry / give up."""
        with self.g.store.tx() as db:
            row = db.execute("SELECT * FROM callbacks WHERE id=?", (callback_id,)).fetchone()
            if row is None or row["status"] != "PENDING" or row["held"]:
                return
            attempt_no = row["attempts"] + 1
            merchant = self.g.merchants.get(row["merchant_no"])
            if merchant is None or self.g.faults.roll("drop_rate"):
                reason = "dropped by drop_rate" if merchant else "merchant no longer configured"
                self._record(db, row, attempt_no, [(SendResult("ERROR", error=reason), False)], dropped=True)
                return
            # Not due again until this attempt is recorded (the dispatcher is the only sender anyway).
            db.execute("UPDATE callbacks SET next_attempt_ts=NULL WHERE id=?", (callback_id,))
        timeout = self.g.faults["callback_timeout_ms"] / 1000.0
        body = row["body"].encode("utf-8")
        results = [(post_signed(row["url"], body, merchant.callback_secret, row["event_id"], timeout), False)]
        if self.g.faults.roll("duplicate_rate"):
            results.append((post_signed(row["url"], body, merchant.callback_secret, row["event_id"], timeout), True))
        with self.g.store.tx() as db:
            if db.execute("SELECT 1 FROM callbacks WHERE id=?", (callback_id,)).fetchone() is None:
                return  # reset while we were sending
            self._record(db, row, attempt_no, results)

    def _record(self, db, row, attempt_no: int, results: list[tuple[SendResult, bool]], dropped: bool = False):
        now = self.g.clock()
        for result, duplicate in results:
            db.execute(
                "INSERT INTO callback_attempts (callback_id, event_id, attempt_no, duplicate, ts, outcome,"
                " http_status, response_body, error) VALUES (?,?,?,?,?,?,?,?,?)",
                (row["id"], row["event_id"], attempt_no, int(duplicate), now,
                 "DROPPED" if dropped else result.outcome, result.http_status, result.response_body, result.error),
            )
        acked = not dropped and any(r.outcome == "ACKED" for r, _ in results)
        if acked:
            db.execute("UPDATE callbacks SET status='ACKED', attempts=?, acked_ts=?, next_attempt_ts=NULL WHERE id=?",
                       (attempt_no, now, row["id"]))
        elif attempt_no >= self.g.faults["callback_max_attempts"]:
            db.execute("UPDATE callbacks SET status='GAVE_UP', attempts=?, next_attempt_ts=NULL WHERE id=?",
                       (attempt_no, row["id"]))
            log.warning("callback %s to %s gave up after %d attempts", row["event_id"], row["url"], attempt_no)
        else:
            delay = min(self.g.faults["callback_retry_base_ms"] / 1000.0 * 2 ** (attempt_no - 1), MAX_BACKOFF_SECONDS)
            db.execute("UPDATE callbacks SET attempts=?, next_attempt_ts=? WHERE id=?",
                       (attempt_no, now + delay, row["id"]))


class Dispatcher(threading.Thread):
    """The one background thread: resolves due "bank processing" items, then delivers due callbacks."""

    def __init__(self, gateway: Gateway, poll_seconds: float = 0.05):
        super().__init__(name="sandbox-dispatcher", daemon=True)
        self.g = gateway
        self.poll_seconds = poll_seconds

    def run(self) -> None:
        while not self.g.stopping.is_set():
            try:
                busy = self.g.run_due_once()
            except Exception:  # keep dispatching; a bug in one item must not stop the sandbox
                log.exception("dispatcher iteration failed")
                busy = False
            if not busy:
                self.g.wake.wait(self.poll_seconds)
                self.g.wake.clear()

    def stop(self, timeout: float = 10.0) -> None:
        self.g.stopping.set()
        self.g.wake.set()
        if self.is_alive():
            self.join(timeout)
