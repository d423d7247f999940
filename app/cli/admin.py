"""Users, resellers, API clients, the audit chain and encryption keys from the command line."""

from __future__ import annotations

import click

from ..domain.errors import DomainError
from ..domain.money import MoneyFormatError, parse_money
from ..services.accounts import api_clients
from ..services.accounts import resellers as reseller_service
from ..services.accounts import users as user_service
from ..services.audit import log as audit
from ..services.platform.key_rotation import rotate_all
from .common import CLI_ACTOR, fail

ROLES = ["reseller_operator", "reseller_approver", "finance", "admin"]


@click.group("users")
def users():
    """Portal users."""


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--reseller", "reseller_code", default=None, help="reseller code, for reseller roles")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="")
def create_user(email, role, reseller_code, password, name):
    """Create a user."""
    try:
        user = user_service.create_user(CLI_ACTOR, email, password, role, reseller_code, name)
    except DomainError as err:
        fail(err)
    click.echo(f"created user {user.email} ({user.role})")


@click.group("resellers")
def resellers():
    """Reseller companies."""


@resellers.command("create")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--credit-limit", default="0.00")
@click.option("--credit-term-days", default=30, type=int)
@click.option("--approval-threshold", default="1000000.00")
def create_reseller(code, name, credit_limit, credit_term_days, approval_threshold):
    """Create or update a reseller."""
    try:
        changes = reseller_service.ResellerChanges(
            name=name, credit_limit=parse_money(credit_limit), credit_term_days=credit_term_days,
            approval_threshold=parse_money(approval_threshold),
        )
    except MoneyFormatError as exc:
        raise click.BadParameter(str(exc)) from None
    try:
        r, created = reseller_service.upsert_reseller(CLI_ACTOR, code, changes)
    except DomainError as err:
        fail(err)
    click.echo(f"{'created' if created else 'updated'} reseller {r.code}")


@click.group("clients")
def clients():
    """API clients of upstream systems."""


@clients.command("create")
@click.argument("name")
@click.option("--scopes", required=True, help="comma list: payments,refunds,credit,finance,disburse,resellers")
def create_client(name, scopes):
    """Create an API client; prints its key alone on the last line, once."""
    try:
        client, key = api_clients.create_client(CLI_ACTOR, name, api_clients.parse_scopes(scopes))
    except DomainError as err:
        fail(err)
    click.echo(f"created API client {client.name} with scopes {client.scopes}; its key (shown once):")
    click.echo(key)


@clients.command("rotate")
@click.argument("name")
@click.option("--overlap-hours", type=int, default=24, show_default=True,
              help="how long the current key keeps working beside the new one (0 to 168)")
def rotate_client_key(name, overlap_hours):
    """Give a client a new key; prints it alone on the last line, once."""
    client_id = next((c.id for c in api_clients.list_clients() if c.name == name), None)
    if client_id is None:
        raise click.BadParameter(f"no API client named {name}")
    try:
        client, key = api_clients.rotate_key(CLI_ACTOR, client_id, overlap_hours)
    except DomainError as err:
        fail(err)
    click.echo(f"rotated the key of {client.name}; the previous key works for {overlap_hours} more hours;"
               " the new key (shown once):")
    click.echo(key)


@click.group("audit")
def audit_cli():
    """The hash-chained audit log."""


@audit_cli.command("verify")
def audit_verify():
    """Seal pending entries, then recompute the whole chain. Exit 1 if it was tampered with."""
    sealed = audit.seal()
    report = audit.verify()
    click.echo(f"sealed {sealed} new entries; checked {report.checked}; unsealed {report.unsealed}")
    if not report.ok:
        click.echo(f"TAMPERED: {report.problem}", err=True)
        raise SystemExit(1)
    click.echo("audit chain OK")


@click.group("keys")
def keys():
    """Encryption keys of secrets at rest."""


@keys.command("rotate")
def keys_rotate():
    """Re-encrypt every encrypted column under the newest key of ENCRYPTION_KEYS."""
    counts = rotate_all()
    click.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))
