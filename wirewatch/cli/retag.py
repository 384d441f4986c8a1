"""``wirewatch retag``: tag indexed articles again (places, events, groups of the current watchlist, NER)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from wirewatch.cli.common import console, err_console, fail, print_json, runtime_from, search_errors
from wirewatch.retag import RetagState, RetagStateError, RetagSummary, retag


@click.command("retag")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Only articles published on or after DATE.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Only articles published on or before DATE.")
@click.option("--source", "source", metavar="ID", help="Only the articles of this feed (its id).")
@click.option(
    "--only-missing",
    type=click.Choice(["places", "events", "all"]),
    help="Only articles without places, without events, or without either (all).",
)
@click.option("--batch", default=200, show_default=True, type=click.IntRange(1, 5000), help="Articles per batch.")
@click.option("--resume", is_flag=True, help="Go on after the last batch of an interrupted run (same filters).")
@click.option("--state-file", type=click.Path(dir_okay=False, path_type=Path), help="Checkpoint file.")
@click.option("--dry-run", is_flag=True, help="Count what would change; write nothing (no checkpoint either).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (no progress).")
@click.pass_context
def cli(
    ctx: click.Context,
    since: datetime | None,
    until: datetime | None,
    source: str | None,
    only_missing: str | None,
    batch: int,
    resume: bool,
    state_file: Path | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Tag indexed articles again with the current tagger and watchlist, writing only the tag fields that changed.

    Run it after a watchlist change, or to give articles indexed before places and events were resolved
    their places and events. The text, story and dates are untouched and no alert is raised again.
    """
    from search.rescan import scan_query

    rt = runtime_from(ctx)
    query = scan_query(
        since=since.date().isoformat() if since else None,
        until=f"{until.date().isoformat()}T23:59:59.999Z" if until else None,
        source=source,
        missing=only_missing,
    )
    state = RetagState(state_file or rt.settings.summary_file.parent / f"retag-{rt.names.articles}.json")
    try:
        with search_errors(rt.settings.es_url_or_local), rt.tagger(workers=1) as tagger, _progress(as_json) as on_batch:
            summary = retag(rt.es, rt.names, tagger, query, batch=batch, state=state, resume=resume,
                            dry_run=dry_run, on_batch=on_batch)  # fmt: skip
    except RetagStateError as exc:
        fail(escape(str(exc)), hint="run `wirewatch retag` without --resume (with the filters you want)")
    finally:
        rt.close()
    _report(summary, as_json)
    if summary.failed:
        sys.exit(1)


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[RetagSummary], None] | None]:
    """A progress bar on a terminal, a plain line per batch otherwise (on stderr: stdout is the summary)."""
    if quiet:
        yield None
    elif err_console.is_terminal:
        columns = (TextColumn("re-tagging"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err_console) as bar:
            task = bar.add_task("retag", total=None)

            def advance(s: RetagSummary) -> None:
                bar.update(task, completed=s.scanned, total=s.total)

            yield advance
    else:

        def line(s: RetagSummary) -> None:
            err_console.print(f"scanned {s.scanned}/{s.total}, updated {s.updated}, unchanged {s.unchanged}, "
                              f"failed {len(s.failed)}", highlight=False)  # fmt: skip

        yield line


def _report(summary: RetagSummary, as_json: bool) -> None:
    if as_json:
        print_json(summary.as_dict())
        return
    verb = "would update" if summary.dry_run else "updated"
    console.print(
        f"scanned {summary.scanned}, {verb} {summary.updated}, unchanged {summary.unchanged}, "
        f"failed {len(summary.failed)}",
        highlight=False,
    )
    for article_id, reason in sorted(summary.failed.items()):
        console.print(f"  failed {escape(article_id)}: {escape(reason)}", highlight=False)
    if summary.failed:
        console.print("re-run `wirewatch retag` (the same filters): what is written already is not written again")
