"""``flask demo seed``: demo data for the portal (idempotent)."""

from __future__ import annotations

import click

from ..demo.seed import seed_demo
from ..domain.errors import DomainError
from .common import fail


@click.group("demo")
def demo():
    """Demo data."""


@demo.command("seed")
def seed():
    """Create demo resellers, users, channels, orders, credit and wallets; running twice changes nothing.

    DEMO_PASSWORD and DEMO_API_KEY choose the users' password and the API key (else generated and
    printed once); SANDBOX_MERCHANTS (the sandbox gateway's setting) gives the ONLINE channels' secrets."""
    try:
        report = seed_demo()
    except DomainError as err:
        fail(err)
    for line in report.lines:
        click.echo(line)
