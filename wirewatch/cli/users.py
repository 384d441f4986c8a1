"""``wirewatch users add|list|remove``: the workbench's users and their roles (viewer, analyst, admin)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from wirewatch.cli.common import console, fail, print_json, settings_from


@contextmanager
def web_store(ctx: click.Context) -> Iterator[Any]:
    """The workbench's store (its indices created when missing), with errors as one-liners."""
    from wirewatch.cli.common import search_errors
    from wirewatch.runtime import build_runtime
    from wirewatch.web.store import WebStateError, WebStore, setup_web_indices

    settings = settings_from(ctx)
    rt = build_runtime(settings)
    try:
        with search_errors(settings.es_url_or_local):
            setup_web_indices(rt.es, rt.names)
            try:
                yield WebStore(rt.es, rt.names)
            except WebStateError as exc:
                fail(escape(str(exc)))
    finally:
        rt.es.close()


@click.group("users")
def cli() -> None:
    """Workbench users: viewer (read), analyst (watches, saved searches, acknowledgements), admin (users)."""


@cli.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["viewer", "analyst", "admin"]), default="analyst", show_default=True)
@click.password_option(
    help="The password (prompted, twice, when not given; WIREWATCH_NEW_PASSWORD also works).",
    envvar="WIREWATCH_NEW_PASSWORD",
)
@click.pass_context
def add(ctx: click.Context, username: str, role: str, password: str) -> None:
    """Add a user (the password is stored as an argon2 hash)."""
    with web_store(ctx) as store:
        store.add_user(username, password, role)
    console.print(f"added user [bold]{escape(username)}[/] ({role})")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the users as a JSON list.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List users and their roles."""
    with web_store(ctx) as store:
        users = store.list_users()
    if as_json:
        print_json(users)
        return
    table = Table("user", "role", "created", title="Workbench users")
    for u in users:
        table.add_row(escape(u["username"]), u["role"], str(u["created_at"])[:19])
    console.print(table if users else "no users yet: `wirewatch users add NAME --role analyst`")


@cli.command("remove")
@click.argument("username")
@click.pass_context
def remove(ctx: click.Context, username: str) -> None:
    """Remove a user with their sessions and API tokens."""
    with web_store(ctx) as store:
        store.remove_user(username)
    console.print(f"removed user [bold]{escape(username)}[/]")
