"""``flask finance check-flows``: compare the finance dashboard's stored day rows (``money_flow_days``,
``open_order_days``) with a recomputation from every successful transaction and every open order; exit
status 1 and each difference printed when they disagree. ``--repair`` then replaces the rows with the
recomputation (audited)."""

from __future__ import annotations

import sys

import click

from ..services.audit import log as audit
from ..services.dashboards import overdue
from ..services.ledgers import money_flows
from ..services.platform.unit_of_work import begin_read, end_read, transaction
from .common import CLI_ACTOR


@click.group("finance")
def finance():
    """The finance desk's stored figures."""


@finance.command("check-flows")
@click.option("--repair", is_flag=True, help="Replace the stored rows with the recomputation when they differ.")
def check_flows(repair: bool):
    """Check that money_flow_days equals a full recomputation from transactions."""
    begin_read()
    try:
        diffs = money_flows.differences()
        open_diffs = overdue.differences()
    finally:
        end_read()
    for (day, channel, ptype), kept, found in diffs:
        click.echo(f"money_flow_days {day} {channel or '-'} {ptype}: stored {kept}, recomputed {found}")
    for day, kept_open, found_open in open_diffs:
        click.echo(f"open_order_days {day}: stored {kept_open}, recomputed {found_open}")
    if not diffs and not open_diffs:
        click.echo("money_flow_days agrees with transactions, open_order_days with payment_orders")
        return
    if repair:
        with transaction():
            rows = money_flows.rebuild() if diffs else 0
            open_rows = overdue.rebuild() if open_diffs else 0
            audit.record(CLI_ACTOR, "money_flows.rebuild", "money_flow_days", "all", None,
                         {"differences": len(diffs), "rows": rows, "open_differences": len(open_diffs),
                          "open_rows": open_rows})
        click.echo(f"rebuilt: {rows} rows, {open_rows} open-order rows")
        return
    sys.exit(1)
