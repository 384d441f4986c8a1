"""``wirewatch watchlist check`` and ``wirewatch watchlist show [--json]``."""

from __future__ import annotations

from typing import Any

import click
from rich.table import Table

from wirewatch.cli.common import console, err_console, fail, print_json, runtime_from


@click.group("watchlist")
def cli() -> None:
    """Inspect and validate the watchlist of tracked groups (WIREWATCH_WATCHLIST_FILE)."""


@cli.command("check")
@click.option("--strict", is_flag=True, help="Fail on warnings too (missing Wikidata ids, short aliases).")
@click.pass_context
def check(ctx: click.Context, strict: bool) -> None:
    """Validate the watchlist: exit 1 on errors (duplicate forms, empty names, unknown parents...)."""
    from enrich.gazetteer import GroupMatcher
    from enrich.watchlist import check_watchlist

    watchlist = _load(ctx)
    problems = check_watchlist(watchlist)
    for problem in problems:
        colour = "red" if problem.severity == "error" else "yellow"
        err_console.print(f"[{colour}]{problem.severity}[/]: {problem.group_id}: {problem.message}", highlight=False)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    GroupMatcher(watchlist)  # the file must also compile into the matcher
    summary = f"{watchlist.source}: {len(watchlist)} groups, {errors} errors, {warnings} warnings"
    if errors or (strict and warnings):
        err_console.print(f"[bold red]invalid[/] {summary}", highlight=False)
        ctx.exit(1)
    console.print(f"[green]ok[/] {summary}", highlight=False)


@cli.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the groups as JSON.")
@click.pass_context
def show(ctx: click.Context, as_json: bool) -> None:
    """List the tracked groups with their aliases and Wikidata ids."""
    watchlist = _load(ctx)
    rows = [_group_dict(group) for group in watchlist]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"Tracked groups ({watchlist.source})", title_justify="left", show_lines=True)
    for column in ("id", "name", "parent", "wikidata", "aliases", "as written", "ambiguous"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["id"],
            row["name"],
            row["parent"] or "",
            row["wikidata"] or "",
            ", ".join(row["aliases"]),
            ", ".join(row["case_sensitive"]),
            ", ".join(row["ambiguous"]),
        )
    console.print(table)


def _load(ctx: click.Context) -> Any:
    from wirewatch.runtime import ConfigError

    try:
        return runtime_from(ctx).watchlist()
    except ConfigError as exc:
        fail(str(exc), hint="fix the file, or point WIREWATCH_WATCHLIST_FILE at another one", code=1)


def _group_dict(group: Any) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "parent": group.parent,
        "wikidata": group.wikidata,
        "aliases": list(group.aliases),
        "case_sensitive": list(group.case_sensitive),
        "ambiguous": list(group.ambiguous),
    }
