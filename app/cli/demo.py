"""``flask demo seed``: demo data for the portal (idempotent)."""

from __future__ import annotations

import click


@click.group("demo")
def demo():
    """Demo data."""


@demo.command("seed")
def seed():
    """Create demo resellers, users, channels, orders, credit and wallets; running twice changes nothing."""
    from ..services.demo_seed import seed_demo

    report = seed_demo()
    for line in report.lines:
        click.echo(line)
