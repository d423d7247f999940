"""The admin's changes to a channel (docs/SCREENS.md ``/admin/channels``): its names, enabled, the
single-payment and daily limits, which resellers may use it, a maintenance window, and the rotation
of its callback secret with an overlap. Every change is audited with its before and after (never a
secret: the audit log says only until when the previous secret still verifies)."""

from __future__ import annotations

import json
import secrets as random_secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ...domain.enums import ChannelKind
from ...domain.errors import NotFound, StateConflict, ValidationFailed
from ...domain.timeutil import to_shanghai_iso, utcnow
from ...extensions import db
from ...models import Channel, Reseller
from ..audit import log as audit
from ..platform import crypto
from ..platform.actor import Actor
from ..platform.unit_of_work import transaction
from .lookup import UNTIL, current_secrets, stored_secrets

ROTATED = "callback_secret"  # the secret the gateway signs its callbacks with (sandbox/PROTOCOL.md)
MAX_OVERLAP = timedelta(days=7)


@dataclass(frozen=True)
class ChannelSettings:
    """What the edit form sets, already read and checked field by field by the screen."""

    name: str
    name_en: str
    enabled: bool
    min_amount: Decimal
    max_amount: Decimal | None
    daily_limit_per_reseller: Decimal | None
    available_to_all: bool
    reseller_ids: frozenset[int]
    maintenance_start: datetime | None
    maintenance_end: datetime | None


def list_channels() -> list[Channel]:
    return list(db.session.scalars(sa.select(Channel).order_by(Channel.sort_order, Channel.code)))


def get_channel(code: str, lock: bool = False) -> Channel:
    stmt = sa.select(Channel).where(Channel.code == code)
    ch = db.session.scalar(stmt.with_for_update() if lock else stmt)
    if ch is None:
        raise NotFound("no such channel")
    return ch


def reseller_choices() -> list[tuple[int, str, str]]:
    """(id, code, name) of every reseller, for the availability list."""
    rows = db.session.execute(sa.select(Reseller.id, Reseller.code, Reseller.name).order_by(Reseller.code))
    return [(rid, code, name) for rid, code, name in rows]


def settings_of(ch: Channel) -> ChannelSettings:
    return ChannelSettings(ch.name, ch.name_en or "", ch.enabled, ch.min_amount, ch.max_amount,
                           ch.daily_limit_per_reseller, ch.available_to_all,
                           frozenset(r.id for r in ch.resellers), ch.maintenance_start, ch.maintenance_end)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _snapshot(s: ChannelSettings, codes: dict[int, str]) -> dict:
    return {"name": s.name, "name_en": s.name_en, "enabled": s.enabled, "min_amount": _money(s.min_amount),
            "max_amount": _money(s.max_amount), "daily_limit_per_reseller": _money(s.daily_limit_per_reseller),
            "available_to_all": s.available_to_all,
            "reseller_codes": sorted(codes.get(i, str(i)) for i in s.reseller_ids),
            "maintenance_start": to_shanghai_iso(s.maintenance_start),
            "maintenance_end": to_shanghai_iso(s.maintenance_end)}


def check(s: ChannelSettings) -> list[dict]:
    """The rules between fields (each field on its own is the screen's to check): coded problems."""
    problems = []
    if s.max_amount is not None and s.max_amount < s.min_amount:
        problems.append({"field": "max_amount", "code": "MAX_BELOW_MIN"})
    if (s.maintenance_start is None) != (s.maintenance_end is None):
        field = "maintenance_end" if s.maintenance_end is None else "maintenance_start"
        problems.append({"field": field, "code": "WINDOW_HALF"})
    elif s.maintenance_start is not None and s.maintenance_end is not None \
            and s.maintenance_end <= s.maintenance_start:
        problems.append({"field": "maintenance_end", "code": "WINDOW_ORDER"})
    return problems


def update(actor: Actor, code: str, s: ChannelSettings) -> bool:
    """Apply ``s`` to the channel (locked); audited ``channel.update`` with before/after. False when
    nothing changed (nothing is written then)."""
    problems = check(s)
    if problems:
        raise ValidationFailed("the channel settings are inconsistent", errors=problems)
    with transaction():
        ch = get_channel(code, lock=True)
        codes = {i: c for i, c, _name in reseller_choices()}
        unknown = s.reseller_ids - codes.keys()
        if unknown:
            raise ValidationFailed("unknown reseller", errors=[{"field": "reseller_ids", "code": "RESELLER_UNKNOWN"}])
        before = _snapshot(settings_of(ch), codes)
        after = _snapshot(s, codes)
        if before == after:
            return False
        ch.name, ch.name_en, ch.enabled = s.name, s.name_en, s.enabled
        ch.min_amount, ch.max_amount = s.min_amount, s.max_amount
        ch.daily_limit_per_reseller = s.daily_limit_per_reseller
        ch.available_to_all = s.available_to_all
        ch.resellers = list(db.session.scalars(sa.select(Reseller).where(Reseller.id.in_(s.reseller_ids))))
        ch.maintenance_start, ch.maintenance_end = s.maintenance_start, s.maintenance_end
        audit.record(actor, "channel.update", "channel", code, before, after)
    return True


def previous_valid_until(ch: Channel, now: datetime | None = None) -> datetime | None:
    """Until when the previous callback secret still verifies; None when there is none (or it ended)."""
    stored = stored_secrets(ch)
    until = stored.get(f"{ROTATED}_previous{UNTIL}")
    if f"{ROTATED}_previous" not in current_secrets(stored, now):
        return None
    return datetime.fromisoformat(until) if until else None


def rotate_callback_secret(actor: Actor, code: str, overlap: timedelta, now: datetime | None = None) -> str:
    """A new callback secret (returned once; stored encrypted). For ``overlap`` the current one still
    verifies; after it, only the new one. A previous secret still in its own overlap is dropped."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise ValidationFailed("overlap out of range", errors=[{"field": "overlap_hours", "code": "OVERLAP_RANGE"}])
    now = now or utcnow()
    new = random_secrets.token_hex(32)
    with transaction():
        ch = get_channel(code, lock=True)
        if ch.kind != ChannelKind.ONLINE:
            raise StateConflict("only an online channel has a callback secret")
        stored = stored_secrets(ch)
        before = {"previous_valid_until": _iso(previous_valid_until(ch, now))}
        old = stored.get(ROTATED)
        stored.pop(f"{ROTATED}_previous", None)
        stored.pop(f"{ROTATED}_previous{UNTIL}", None)
        until = now + overlap if old and overlap > timedelta(0) else None
        if until is not None:
            stored[f"{ROTATED}_previous"] = old
            stored[f"{ROTATED}_previous{UNTIL}"] = until.isoformat()
        stored[ROTATED] = new
        ch.secrets_enc = crypto.encrypt(json.dumps(stored))
        audit.record(actor, "channel.rotate_secret", "channel", code, before,
                     {"secret": ROTATED, "previous_valid_until": _iso(until)})
    return new


def _iso(moment: datetime | None) -> str | None:
    return to_shanghai_iso(moment)
