"""Import one channel's statement of one day, idempotently.

The same file (same fingerprint) for the same channel and day is one import, whoever imports it
and however often, also when two imports race (the unique key decides; the loser reads the
winner's). A different file for that day becomes the current one; the earlier import stays, marked
superseded (nothing is deleted). A superseded file published again becomes current again (the
run is then recomputed against it).

The lines stream in (any iterable): on PostgreSQL through ``COPY ... FROM STDIN`` on the session's
connection, elsewhere in batches of ``BATCH`` rows, hashed on the way (the fingerprint is known only
after the last line). So the import is written first under a placeholder fingerprint; when the
finished fingerprint names a file already imported, the whole transaction is rolled back (the
lines with it) and that import is the answer. A statement of a million lines never sits in memory."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Channel, StatementImport, StatementLine
from ...models.types import now_utc
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import discard, transaction
from .lines import Fingerprint, Line

BATCH = 10_000
ANALYZE_FROM = 10_000  # a larger import refreshes the planner's figures of recon_lines before its run
_COLUMNS = ("import_id", "line_no", "line_type", "channel_transaction_id", "reference", "amount", "status",
            "completed_at")


@dataclass(frozen=True)
class Imported:
    import_id: int
    created: bool  # False: this very file was imported before; nothing changed
    lines: int = 0


class _SeenBefore(Exception):
    """The streamed file turned out to be one imported before: roll its copy back."""

    def __init__(self, import_id: int) -> None:
        super().__init__(import_id)
        self.import_id = import_id


def _existing(channel_id: int, day: date, sha: str) -> int | None:
    return db.session.scalar(sa.select(StatementImport.id).where(
        StatementImport.channel_id == channel_id, StatementImport.day == day, StatementImport.file_sha256 == sha))


def _supersede(channel_id: int, day: date, now: datetime) -> list[int]:
    return list(db.session.execute(
        sa.update(StatementImport).where(StatementImport.channel_id == channel_id, StatementImport.day == day,
                                         StatementImport.is_current.is_(True))
        .values(is_current=False, superseded_at=now).returning(StatementImport.id)).scalars())


def _make_current(channel_id: int, day: date, import_id: int) -> None:
    """A file seen before that the channel publishes again (A, then B, then A) is the current one again."""
    imp = db.session.get_one(StatementImport, import_id)
    if not imp.is_current:
        _supersede(channel_id, day, now_utc())
        imp.is_current, imp.superseded_at = True, None


def _hashed(lines: Iterable[Line], digest: Fingerprint) -> Iterator[tuple[int, Line, str]]:
    """Number and hash the lines on their way in: (line number, line, completion time in ISO 8601)."""
    for n, line in enumerate(lines, start=1):
        if line.completed_at is not None and line.completed_at.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        yield n, line, digest.add(line)


def _copy(import_id: int, numbered: Iterator[tuple[int, Line, str]]) -> int:
    """PostgreSQL: COPY the lines into recon_lines in the session's transaction. Amounts and times go
    as text (exact: the column rounds as an INSERT would), which psycopg writes several times faster
    than it adapts Decimal and datetime objects."""
    raw = db.session.connection().connection.driver_connection
    assert raw is not None  # a live psycopg connection: the session's transaction is on it
    count = 0
    with raw.cursor() as cur, cur.copy(f"COPY recon_lines ({', '.join(_COLUMNS)}) FROM STDIN") as copy:
        for n, x, when in numbered:
            copy.write_row((import_id, n, x.line_type, x.channel_transaction_id, x.reference, str(x.amount), x.status,
                            when or None))
            count = n
    return count


def _insert_batches(import_id: int, numbered: Iterator[tuple[int, Line, str]]) -> int:
    count = 0
    table = StatementLine.__table__
    while batch := list(islice(numbered, BATCH)):
        db.session.execute(sa.insert(table), [
            {"import_id": import_id, "line_no": n, "line_type": x.line_type,
             "channel_transaction_id": x.channel_transaction_id, "reference": x.reference, "amount": x.amount,
             "status": x.status, "completed_at": x.completed_at} for n, x, _ in batch])
        count = batch[-1][0]
    return count


def _store_lines(import_id: int, lines: Iterable[Line], digest: Fingerprint) -> int:
    numbered = _hashed(lines, digest)
    if db.session.get_bind().dialect.name != "postgresql":
        return _insert_batches(import_id, numbered)
    count = _copy(import_id, numbered)
    if count >= ANALYZE_FROM:
        # Without it the planner takes the new import for a few rows (nested loops, a sort on disk).
        db.session.execute(sa.text("ANALYZE recon_lines"))
    return count


def _seen_again(channel_id: int, day: date, import_id: int) -> Imported:
    with transaction():
        db.session.execute(sa.select(Channel.id).where(Channel.id == channel_id).with_for_update())
        _make_current(channel_id, day, import_id)
        count = db.session.get_one(StatementImport, import_id).line_count
    return Imported(import_id, False, count)


def import_statement(channel_id: int, channel_code: str, day: date, source: str, lines: Iterable[Line],
                     actor: Actor) -> Imported:
    digest = Fingerprint()
    try:
        with transaction():
            # One import at a time per channel: two files for one day cannot both become current.
            db.session.execute(sa.select(Channel.id).where(Channel.id == channel_id).with_for_update())
            now = now_utc()
            imp = StatementImport(channel_id=channel_id, channel_code=channel_code, day=day, source=source,
                                  file_sha256=f"streaming:{secrets.token_hex(8)}", line_count=0, is_current=False,
                                  imported_by=actor.label, imported_at=now)
            db.session.add(imp)
            db.session.flush()
            count = _store_lines(imp.id, lines, digest)
            sha = digest.hexdigest()
            found = _existing(channel_id, day, sha)
            if found is not None:
                raise _SeenBefore(found)
            superseded = _supersede(channel_id, day, now)
            imp.file_sha256, imp.line_count, imp.is_current = sha, count, True
            db.session.flush()
            audit.record(actor, "reconciliation.statement_imported", "recon_import", str(imp.id),
                         after={"channel": channel_code, "day": day.isoformat(), "source": source,
                                "sha256": sha, "lines": count, "supersedes": superseded})
            return Imported(imp.id, True, count)
    except _SeenBefore as seen:
        return _seen_again(channel_id, day, seen.import_id)
    except IntegrityError:
        discard()  # the same file imported at the same moment: the other import is the one
        found = _existing(channel_id, day, digest.hexdigest())
        if found is None:
            raise
        return _seen_again(channel_id, day, found)
