"""Command line: ``flask --app app <group> <command>`` (or the ``portal`` console script)."""

from __future__ import annotations

import os

from flask import Flask
from flask.cli import FlaskGroup

from . import admin, demo, finance, i18n, merchants, reconciliation


def register_cli(app: Flask) -> None:
    app.cli.add_command(admin.users)
    app.cli.add_command(admin.resellers)
    app.cli.add_command(admin.clients)
    app.cli.add_command(admin.audit_cli)
    app.cli.add_command(admin.keys)
    app.cli.add_command(demo.demo)
    app.cli.add_command(finance.finance)
    app.cli.add_command(merchants.merchants)
    app.cli.add_command(i18n.i18n)
    app.cli.add_command(reconciliation.reconciliation)


def main():
    """The ``portal`` console script: Flask's CLI on the app that ``FLASK_APP`` names (default: ``app``)."""
    os.environ.setdefault("FLASK_APP", "app")
    FlaskGroup()(prog_name="portal")
