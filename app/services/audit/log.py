"""The append-only, hash-chained audit log (docs/DOMAIN.md §10).

``record`` adds a row to the caller's transaction: the rows of one transaction are written together
in one statement just before it commits (``platform/commit_hooks``; a rolled-back savepoint forgets
its own), so an operation that audits three steps pays one round trip, not three. ``seal`` links
unsealed rows into the chain in id order under one lock (a worker cron job and ``flask audit
verify`` call it), so the request path never serialises on the chain head. ``verify`` recomputes
every link.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa

from ...extensions import db
from ...models import AuditEntry
from ...models.types import now_utc
from ..platform import commit_hooks
from ..platform.actor import Actor
from ..platform.unit_of_work import end_read

GENESIS = "0" * 64
_PENDING = "audit_entries"


# Built once; the values are bound per call (no statement building or cache-key walk per insert).
_INSERT = sa.insert(AuditEntry.__table__)


def entry_row(actor: Actor, action: str, target_type: str, target_id: str,
              before: dict | None = None, after: dict | None = None) -> dict:
    """The column values of one audit entry (for callers that write it in a combined statement)."""
    return {
        "actor_type": actor.type, "actor_id": actor.id, "action": action, "target_type": target_type,
        "target_id": target_id, "before": before, "after": after, "ip": actor.ip, "request_id": actor.request_id,
        "created_at": now_utc(),
    }


def record(actor: Actor, action: str, target_type: str, target_id: str,
           before: dict | None = None, after: dict | None = None) -> None:
    insert_row(entry_row(actor, action, target_type, target_id, before, after))


def insert_row(row: dict) -> None:
    """Add an entry built by ``entry_row`` to the caller's transaction."""
    commit_hooks.defer(_PENDING, row)


@commit_hooks.writes_before(_PENDING)
def _write_recorded(rows: list[dict]) -> None:
    db.session.execute(_INSERT, rows)  # in the order recorded: the chain is sealed in id order


def _entry_digest(prev_hash: str, e: AuditEntry) -> str:
    canonical = json.dumps(
        {
            "seq": e.chain_seq, "id": e.id, "actor_type": e.actor_type, "actor_id": e.actor_id,
            "action": e.action, "target_type": e.target_type, "target_id": e.target_id,
            "before": e.before, "after": e.after, "ip": e.ip, "request_id": e.request_id,
            "created_at": e.created_at.isoformat(),
        },
        sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str,
    )
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def seal(batch: int = 5000) -> int:
    """Chain every committed, unsealed row. Returns how many rows were sealed. Commits."""
    sealed = 0
    while True:
        if db.engine.dialect.name == "postgresql":
            # One sealer at a time; others skip (they would find nothing new anyway). Advisory locks
            # are the server's, not the database's: the key names this database too, so that another
            # database on the server (a second deployment, a parallel test run) never makes it skip.
            got = db.session.execute(sa.text(
                "SELECT pg_try_advisory_xact_lock(7712001, hashtext(current_database()))")).scalar()
            if not got:
                end_read()
                return sealed
        head = db.session.execute(
            sa.select(AuditEntry.chain_seq, AuditEntry.entry_hash)
            .where(AuditEntry.chain_seq.is_not(None))
            .order_by(AuditEntry.chain_seq.desc()).limit(1)
        ).first()
        seq, prev = 0, GENESIS
        if head is not None:
            assert head.chain_seq is not None and head.entry_hash is not None  # a sealed entry has both
            seq, prev = head.chain_seq, head.entry_hash
        rows = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.chain_seq.is_(None)).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            db.session.commit()
            return sealed
        for e in rows:
            seq += 1
            e.chain_seq = seq
            e.prev_hash = prev
            e.entry_hash = prev = _entry_digest(prev, e)
        db.session.commit()
        sealed += len(rows)


@dataclass
class ChainReport:
    ok: bool
    checked: int
    unsealed: int
    first_bad_seq: int | None = None
    problem: str | None = None


def verify(batch: int = 2000) -> ChainReport:
    prev = GENESIS
    expected_seq = 0
    checked = 0
    while True:
        rows = db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.chain_seq > expected_seq)
            .order_by(AuditEntry.chain_seq).limit(batch)
        ).all()
        if not rows:
            break
        for e in rows:
            expected_seq += 1
            if e.chain_seq != expected_seq:
                return ChainReport(False, checked, 0, e.chain_seq, f"entry before seq {e.chain_seq} is missing")
            digest = _entry_digest(prev, e)
            if e.prev_hash != prev or digest != e.entry_hash:
                return ChainReport(False, checked, 0, e.chain_seq, f"entry {e.chain_seq} (id {e.id}) was altered")
            prev = digest
            checked += 1
        db.session.expunge_all()
    unsealed = db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.chain_seq.is_(None))) or 0
    return ChainReport(True, checked, unsealed)
