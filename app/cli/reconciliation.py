"""``flask reconciliation run DAY``: reconcile a Shanghai day now (every channel, or one), as the
hourly job does for yesterday; a statement already reconciled changes nothing."""

from __future__ import annotations

from datetime import date

import click

from ..channels.base import StatementNotReady
from ..domain.enums import ChannelKind
from ..services.reconciliation import ledger_statement, online_fetch
from .common import CLI_ACTOR


@click.group("reconciliation")
def reconciliation():
    """Reconciliation (对账) of channel statements."""


@reconciliation.command("run")
@click.argument("day")
def run_day(day):
    """Fetch and match DAY (yyyy-mm-dd) for every ONLINE, WALLET and CREDIT channel."""
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise click.BadParameter("DAY must be yyyy-mm-dd") from None
    channels = [(cid, ChannelKind.ONLINE) for cid in online_fetch.online_channel_ids()]
    channels += [(cid, ChannelKind.WALLET) for cid in ledger_statement.internal_channel_ids()]
    for channel_id, kind in channels:
        try:
            if kind == ChannelKind.ONLINE:
                outcome = online_fetch.fetch_and_reconcile(channel_id, when, CLI_ACTOR)
            else:
                outcome = ledger_statement.reconcile_ledger(channel_id, when, CLI_ACTOR)
        except StatementNotReady:
            click.echo(f"channel {channel_id}: the statement of {day} is not published yet")
            continue
        click.echo(f"channel {channel_id}: {outcome}")
