"""Import one channel's statement of one day, idempotently.

The same file (same fingerprint) for the same channel and day is one import, whoever imports it
and however often, also when two imports race (the unique key decides; the loser reads the
winner's). A different file for that day becomes the current one; the earlier import stays, marked
superseded (nothing is deleted). A superseded file published again becomes current again (the
run is then recomputed against it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ...extensions import db
from ...models import Channel, StatementImport, StatementLine
from ...models.types import now_utc
from ..audit import log as audit
from ..platform.actor import Actor
from ..platform.unit_of_work import discard, transaction
from .lines import Line, fingerprint


@dataclass(frozen=True)
class Imported:
    import_id: int
    created: bool  # False: this very file was imported before; nothing changed


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


def import_statement(channel_id: int, channel_code: str, day: date, source: str, lines: list[Line],
                     actor: Actor) -> Imported:
    sha = fingerprint(lines)
    try:
        with transaction():
            # One import at a time per channel: two files for one day cannot both become current.
            db.session.execute(sa.select(Channel.id).where(Channel.id == channel_id).with_for_update())
            found = _existing(channel_id, day, sha)
            if found is not None:
                _make_current(channel_id, day, found)
                return Imported(found, False)
            now = now_utc()
            superseded = _supersede(channel_id, day, now)
            imp = StatementImport(channel_id=channel_id, channel_code=channel_code, day=day, source=source,
                                  file_sha256=sha, line_count=len(lines), is_current=True,
                                  imported_by=actor.label, imported_at=now)
            db.session.add(imp)
            db.session.flush()
            if lines:
                db.session.execute(sa.insert(StatementLine), [
                    {"import_id": imp.id, "line_no": n, "line_type": x.line_type,
                     "channel_transaction_id": x.channel_transaction_id, "reference": x.reference,
                     "amount": x.amount, "status": x.status, "completed_at": x.completed_at}
                    for n, x in enumerate(lines, start=1)])
            audit.record(actor, "reconciliation.statement_imported", "recon_import", str(imp.id),
                         after={"channel": channel_code, "day": day.isoformat(), "source": source,
                                "sha256": sha, "lines": len(lines), "supersedes": superseded})
            return Imported(imp.id, True)
    except IntegrityError:
        discard()  # the same file imported at the same moment: the other import is the one
        found = _existing(channel_id, day, sha)
        if found is None:
            raise
        return Imported(found, False)
