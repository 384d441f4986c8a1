"""``wirewatch feeds``: the health of every feed of the feed list."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.markup import escape
from rich.table import Table

from wirewatch.cli.common import console, fail, print_json, runtime_from, search_errors
from wirewatch.rows import feed_rows


def _age(iso: str | None, now: datetime) -> str:
    if not iso:
        return "-"
    seconds = (datetime.fromisoformat(iso) - now).total_seconds()
    word = "in " if seconds > 0 else ""
    seconds = abs(seconds)
    text = f"{seconds / 3600:.1f}h" if seconds >= 3600 else f"{seconds / 60:.0f}m"
    return f"{word}{text}" + ("" if word else " ago")


@click.command("feeds")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per feed, as a list.")
@click.option("--failing", is_flag=True, help="Only feeds whose last poll failed (failing or gone).")
@click.pass_context
def cli(ctx: click.Context, as_json: bool, failing: bool) -> None:
    """Feed health: last success, last error, consecutive failures and the next poll (with backoff)."""
    from search.feedstate import EsFeedStateStore
    from wirewatch.runtime import ConfigError

    rt = runtime_from(ctx)
    settings = rt.settings
    try:
        feeds = rt.feeds()
    except ConfigError as exc:
        fail(str(exc), hint="fix the feed list (WIREWATCH_FEEDS_FILE)")
    with search_errors(settings.es_url_or_local):
        states = EsFeedStateStore(rt.es, rt.names).load([f.id for f in feeds])
    rows = [r for r in feed_rows(feeds, states) if not failing or r["health"] in ("failing", "gone")]
    if as_json:
        print_json(rows)
        return
    now = datetime.now(UTC)
    table = Table(title=f"Feeds ({len(rows)})")
    for column in ("feed", "health", "last success", "failures", "next poll", "last error"):
        table.add_column(column, overflow="fold")
    colours = {"ok": "green", "failing": "red", "gone": "red", "never polled": "yellow"}
    for row in rows:
        table.add_row(
            escape(row["id"]),
            f"[{colours[row['health']]}]{row['health']}[/]",
            _age(row["last_success_at"], now),
            str(row["consecutive_failures"]),
            _age(row["next_poll_at"], now),
            escape(row["last_error"] or ""),
        )
    console.print(table)
