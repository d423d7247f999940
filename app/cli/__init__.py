"""Command line: ``flask --app app <group> <command>`` (or the ``portal`` console script)."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup

from ..domain.errors import DomainError
from ..services.actor import Actor

CLI_ACTOR = Actor(type="system", id="cli")


def _fail(err: DomainError):
    click.echo(f"error: {err.message}", err=True)
    sys.exit(2)


def register_cli(app: Flask) -> None:
    from . import admin, demo, i18n, merchants

    app.cli.add_command(admin.users)
    app.cli.add_command(admin.resellers)
    app.cli.add_command(admin.clients)
    app.cli.add_command(admin.audit_cli)
    app.cli.add_command(admin.keys)
    app.cli.add_command(demo.demo)
    app.cli.add_command(merchants.merchants)
    app.cli.add_command(i18n.i18n)


def main():
    from .. import create_app

    FlaskGroup(create_app=lambda: create_app())(prog_name="portal")
