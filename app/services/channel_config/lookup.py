"""Channel configuration as the engine needs it: which channels a reseller may use, and the
decrypted configuration handed to adapters."""

from __future__ import annotations

import json

import sqlalchemy as sa

from ...channels.base import ChannelConfig
from ...extensions import db
from ...models import Channel, channel_resellers
from ..platform import crypto


def to_config(ch: Channel) -> ChannelConfig:
    secrets = json.loads(crypto.decrypt(ch.secrets_enc)) if ch.secrets_enc else {}
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
    """Enabled channels the reseller may use, in display order."""
    listed = sa.select(channel_resellers.c.channel_id).where(channel_resellers.c.reseller_id == reseller_id)
    return list(db.session.scalars(
        sa.select(Channel).where(Channel.enabled.is_(True),
                                 sa.or_(Channel.available_to_all.is_(True), Channel.id.in_(listed)))
        .order_by(Channel.sort_order, Channel.code)
    ))


def set_secrets(ch: Channel, secrets: dict) -> None:
    """Store new secrets, keeping the current ones as ``*_previous`` so callbacks signed with the
    old secret still verify while the bank switches over."""
    old = json.loads(crypto.decrypt(ch.secrets_enc)) if ch.secrets_enc else {}
    merged = dict(secrets)
    for name, value in secrets.items():
        if not name.endswith("_previous") and old.get(name) and old[name] != value:
            merged[f"{name}_previous"] = old[name]
    ch.secrets_enc = crypto.encrypt(json.dumps(merged))
