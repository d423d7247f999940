"""``flask i18n compile`` (the build step) and ``flask i18n missing`` (what still needs a translation)."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from ..i18n import build_catalogs, untranslated

i18n = AppGroup("i18n", help="Translations of the screens.")


@i18n.command("compile")
def compile_command():
    for path in build_catalogs():
        click.echo(f"compiled {path}")


@i18n.command("missing")
@click.option("--po", is_flag=True, help="print them as .po entries to paste into a fragment")
def missing_command(po: bool):
    missing = untranslated("zh")
    for mid, where in sorted(missing.items(), key=lambda kv: kv[1]):
        if po:
            escaped = mid.replace("\\", "\\\\").replace('"', '\\"')
            click.echo(f'#: {where}\nmsgid "{escaped}"\nmsgstr ""\n')
        else:
            click.echo(f"{where}: {mid}")
    sys.exit(1 if missing else 0)
