"""What every command shares: the actor the audit log records for the command line, and how a
refused command ends (the domain error's message, exit status 2)."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from ..domain.errors import DomainError
from ..services.platform.actor import Actor

CLI_ACTOR = Actor(type="system", id="cli")


def fail(err: DomainError) -> NoReturn:
    click.echo(f"error: {err.message}", err=True)
    sys.exit(2)
