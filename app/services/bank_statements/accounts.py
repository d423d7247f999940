"""Our receiving accounts: the ``account_no`` of every WIRE channel's configuration (enabled or not:
a statement of a channel switched off yesterday is still ours)."""

from __future__ import annotations

import sqlalchemy as sa

from ...domain.enums import ChannelKind
from ...extensions import db
from ...models import Channel
from .values import account_digits


def wire_receiving_accounts() -> list[str]:
    """The account numbers (digits and letters only), in channel code order, each once."""
    accounts: list[str] = []
    for config in db.session.scalars(sa.select(Channel.config).where(Channel.kind == ChannelKind.WIRE.value)
                                     .order_by(Channel.code)):
        account = account_digits((config or {}).get("account_no"))
        if account and account not in accounts:
            accounts.append(account)
    return accounts
