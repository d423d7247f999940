"""Channel configuration as the engine needs it: which channels a reseller may use (enabled, not in
its maintenance window, available to the company), and the decrypted configuration handed to
adapters, where a rotated secret's previous value is kept only until its overlap ends."""

from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa

from ...channels.base import ChannelConfig
from ...domain.timeutil import utcnow
from ...extensions import db
from ...models import Channel, channel_resellers
from ..platform import crypto

UNTIL = "_until"  # ``<name>_previous_until``: when the previous secret stops verifying (ISO, UTC)


def current_secrets(secrets: dict, now: datetime | None = None) -> dict:
    """The secrets that verify at ``now``: a ``<name>_previous`` whose overlap has ended is dropped,
    and so are the ``_until`` marks (adapters see names and values only)."""
    now = now or utcnow()
    out = {}
    for name, value in secrets.items():
        if name.endswith(UNTIL):
            continue
        until = secrets.get(f"{name}{UNTIL}")
        if name.endswith("_previous") and until and datetime.fromisoformat(until) <= now:
            continue
        out[name] = value
    return out


def stored_secrets(ch: Channel) -> dict:
    return json.loads(crypto.decrypt(ch.secrets_enc)) if ch.secrets_enc else {}


def in_maintenance(ch: Channel, now: datetime | None = None) -> bool:
    if ch.maintenance_start is None or ch.maintenance_end is None:
        return False
    now = now or utcnow()
    return ch.maintenance_start <= now < ch.maintenance_end


def offered(ch: Channel, now: datetime | None = None) -> bool:
    """Enabled and not in its maintenance window: a channel checkout may use now."""
    return ch.enabled and not in_maintenance(ch, now)


def to_config(ch: Channel) -> ChannelConfig:
    secrets = current_secrets(stored_secrets(ch))
    return ChannelConfig(id=ch.id, code=ch.code, kind=ch.kind, name=ch.name, config=dict(ch.config or {}),
                         secrets=secrets, confirm_timeout_seconds=ch.confirm_timeout_seconds,
                         expire_seconds=ch.expire_seconds)


def config_by_id(channel_id: int) -> ChannelConfig:
    return to_config(db.session.get_one(Channel, channel_id))


def config_by_code(code: str) -> ChannelConfig | None:
    ch = db.session.scalar(sa.select(Channel).where(Channel.code == code))
    return to_config(ch) if ch else None


def is_available_to(ch: Channel, reseller_id: int) -> bool:
    if ch.available_to_all:
        return True
    return db.session.execute(
        sa.select(sa.func.count()).select_from(channel_resellers).where(
            channel_resellers.c.channel_id == ch.id, channel_resellers.c.reseller_id == reseller_id)
    ).scalar_one() > 0


def channels_for(reseller_id: int) -> list[Channel]:
    """Enabled channels the reseller may use, in display order (none in its maintenance window)."""
    listed = sa.select(channel_resellers.c.channel_id).where(channel_resellers.c.reseller_id == reseller_id)
    now = utcnow()
    return [ch for ch in db.session.scalars(
        sa.select(Channel).where(Channel.enabled.is_(True),
                                 sa.or_(Channel.available_to_all.is_(True), Channel.id.in_(listed)))
        .order_by(Channel.sort_order, Channel.code)
    ) if not in_maintenance(ch, now)]


def set_secrets(ch: Channel, secrets: dict) -> None:
    """Store new secrets, keeping the current ones as ``*_previous`` so callbacks signed with the
    old secret still verify while the bank switches over."""
    old = stored_secrets(ch)
    merged = dict(secrets)
    for name, value in secrets.items():
        if not name.endswith("_previous") and old.get(name) and old[name] != value:
            merged[f"{name}_previous"] = old[name]
    ch.secrets_enc = crypto.encrypt(json.dumps(merged))
