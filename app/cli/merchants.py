"""``flask merchants create``: payout merchants (代付) and their limits."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import click

from ..domain.errors import DomainError
from ..services.payouts import merchants as payout_merchants
from .common import CLI_ACTOR, fail


@click.group("merchants")
def merchants():
    """Payout merchants."""


@merchants.command("create")
@click.argument("merchant_id")
@click.option("--name", required=True)
@click.option("--single-limit", required=True, help="largest single payout, e.g. 50000.00")
@click.option("--daily-limit", required=True, help="total per Shanghai day, e.g. 200000.00")
@click.option("--inactive", is_flag=True, help="create it switched off")
def create_merchant(merchant_id, name, single_limit, daily_limit, inactive):
    """Create a merchant, or update its name, limits and state."""
    try:
        single, daily = Decimal(single_limit), Decimal(daily_limit)
    except InvalidOperation:
        raise click.BadParameter("limits must be decimal amounts") from None
    try:
        m, created = payout_merchants.upsert_merchant(CLI_ACTOR, merchant_id, name, single, daily, active=not inactive)
    except DomainError as err:
        fail(err)
    click.echo(f"{'created' if created else 'updated'} merchant {m.merchant_id}")
