"""``wirewatch settings``: every setting with its current value (secrets masked)."""

from __future__ import annotations

from typing import Any

import click
from pydantic import SecretStr
from rich.table import Table

from wirewatch.cli.common import console, print_json, settings_from
from wirewatch.settings import masked_url, settings_table


def _shown(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    if isinstance(value, str):
        return masked_url(value)  # es_url may hold user:password@
    return value


@click.command("settings")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as one JSON object.")
@click.option("--markdown", is_flag=True, help="Print the defaults as the README's Markdown table.")
@click.pass_context
def cli(ctx: click.Context, as_json: bool, markdown: bool) -> None:
    """Show every setting: current value, environment variable and what it does.

    Values come from defaults, then the --config YAML file, then WIREWATCH_* environment variables.
    """
    if markdown:
        click.echo("| setting | environment variable | default | what it does |")
        click.echo("|---|---|---|---|")
        for name, env, default, desc in settings_table():
            click.echo(f"| `{name}` | `{env}` | `{default}` | {desc} |")
        return
    settings = settings_from(ctx)
    values = {name: _shown(getattr(settings, name)) for name in type(settings).model_fields}
    if as_json:
        print_json(values)
        return
    table = Table(title="Wirewatch settings", show_lines=False)
    for col in ("setting", "value", "environment variable", "what it does"):
        table.add_column(col, overflow="fold")
    for name, env, _default, desc in settings_table():
        table.add_row(name, str(values[name]), env, desc)
    console.print(table)
