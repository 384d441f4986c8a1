"""``wirewatch tokens create|revoke|list``: API tokens for scripts (``Authorization: Bearer ww_...``)."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from wirewatch.cli.common import console, fail, print_json
from wirewatch.cli.users import web_store


@click.group("tokens")
def cli() -> None:
    """API tokens: each acts as its user, with that user's role."""


@cli.command("create")
@click.argument("username")
@click.option("--name", default="api", show_default=True, help="What the token is for.")
@click.pass_context
def create(ctx: click.Context, username: str, name: str) -> None:
    """Create a token for USERNAME and print it once (only its digest is stored)."""
    with web_store(ctx) as store:
        token = store.create_token(username, name)
    click.echo(token)


@cli.command("revoke")
@click.argument("token_or_prefix")
@click.pass_context
def revoke(ctx: click.Context, token_or_prefix: str) -> None:
    """Revoke a token, given whole or by the 10-character prefix `tokens list` shows."""
    with web_store(ctx) as store:
        count = store.revoke_token(token_or_prefix)
    if not count:
        fail("no such token", hint="`wirewatch tokens list` shows the prefixes")
    console.print(f"revoked {count} token(s)")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the tokens (never their values) as a JSON list.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List tokens: prefix, user, name, created."""
    with web_store(ctx) as store:
        tokens = store.list_tokens()
    if as_json:
        print_json(tokens)
        return
    table = Table("prefix", "user", "name", "created", title="API tokens")
    for t in tokens:
        table.add_row(t["prefix"], escape(t["username"]), escape(t["name"]), str(t["created_at"])[:19])
    console.print(table)
