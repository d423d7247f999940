"""The gateway's own storage: one sqlite file (WAL), one connection shared under a lock.

The sandbox serves a handful of requests at a time, so a single serialised connection is simpler and
safer than a pool: every ``tx()`` block is one atomic transaction and check-then-insert races (two
identical creates at once) cannot interleave. Never hold a ``tx()`` across network I/O or a sleep.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    gateway_txn_id TEXT PRIMARY KEY,
    merchant_no TEXT NOT NULL,
    merchant_order_no TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    subject TEXT NOT NULL,
    notify_url TEXT NOT NULL,
    return_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PENDING','PROCESSING','SUCCESS','FAILED','EXPIRED')),
    created_ts REAL NOT NULL,
    expire_ts REAL NOT NULL,
    resolve_ts REAL,
    resolve_to TEXT,
    paid_at TEXT,
    fail_reason TEXT,
    completed_ts REAL,
    completed_day TEXT,
    UNIQUE (merchant_no, merchant_order_no)
);
CREATE TABLE IF NOT EXISTS refunds (
    refund_id TEXT PRIMARY KEY,
    merchant_no TEXT NOT NULL,
    merchant_refund_no TEXT NOT NULL,
    merchant_order_no TEXT NOT NULL,
    gateway_txn_id TEXT NOT NULL,
    amount TEXT NOT NULL,
    reason TEXT,
    notify_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PROCESSING','SUCCESS','FAILED')),
    created_ts REAL NOT NULL,
    resolve_ts REAL,
    resolve_to TEXT,
    refunded_at TEXT,
    fail_reason TEXT,
    completed_ts REAL,
    completed_day TEXT,
    UNIQUE (merchant_no, merchant_refund_no)
);
CREATE TABLE IF NOT EXISTS payouts (
    payout_id TEXT PRIMARY KEY,
    merchant_no TEXT NOT NULL,
    merchant_payout_no TEXT NOT NULL,
    account_no TEXT NOT NULL,
    account_name TEXT NOT NULL,
    bank_code TEXT NOT NULL,
    amount TEXT NOT NULL,
    purpose TEXT,
    notify_url TEXT,
    outcome TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PROCESSING','SUCCESS','FAILED')),
    created_ts REAL NOT NULL,
    resolve_ts REAL,
    resolve_to TEXT,
    bank_serial_no TEXT,
    fail_reason TEXT,
    completed_ts REAL,
    completed_day TEXT,
    UNIQUE (merchant_no, merchant_payout_no)
);
CREATE TABLE IF NOT EXISTS callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    merchant_no TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PENDING','ACKED','GAVE_UP')),
    held INTEGER NOT NULL DEFAULT 0,
    resend INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_ts REAL NOT NULL,
    next_attempt_ts REAL,
    acked_ts REAL
);
CREATE INDEX IF NOT EXISTS ix_callbacks_due ON callbacks (status, held, next_attempt_ts);
CREATE INDEX IF NOT EXISTS ix_callbacks_object ON callbacks (object_id);
CREATE TABLE IF NOT EXISTS callback_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    callback_id INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    attempt_no INTEGER NOT NULL,
    duplicate INTEGER NOT NULL DEFAULT 0,
    ts REAL NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ACKED','REJECTED','ERROR','DROPPED')),
    http_status INTEGER,
    response_body TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS ix_attempts_callback ON callback_attempts (callback_id);
CREATE TABLE IF NOT EXISTS webhook_receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    system TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    verified INTEGER NOT NULL,
    problem TEXT,
    body TEXT NOT NULL,
    received_ts REAL NOT NULL,
    last_ts REAL NOT NULL,
    times INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS ix_webhook_receipts_system ON webhook_receipts (system, webhook_id);
CREATE TABLE IF NOT EXISTS bank_wires (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    bank_reference TEXT NOT NULL UNIQUE,
    account_no TEXT NOT NULL,
    payer_name TEXT NOT NULL,
    payer_account TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    memo TEXT NOT NULL,
    value_day TEXT NOT NULL,
    booked_ts REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_bank_wires_day ON bank_wires (account_no, value_day);
"""

TABLES = ("callback_attempts", "callbacks", "refunds", "payouts", "payments", "webhook_receipts", "bank_wires")


class Store:
    def __init__(self, path: str):
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)
        self._depth = 0

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic transaction (re-entrant: a nested ``tx()`` joins the outer one)."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._depth = 0

    def clear(self) -> None:
        with self.tx() as db:
            for table in TABLES:
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def close(self) -> None:
        with self._lock:
            self._conn.close()
