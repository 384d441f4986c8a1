"""``wirewatch ingest``: one pass, or a pass every N minutes."""

from __future__ import annotations

import re
import sys
import time
from typing import TYPE_CHECKING

import click
from rich.live import Live
from rich.table import Table

from wirewatch.cli.common import console, err_console, fail, print_json, runtime_from
from wirewatch.cli.render import render_summary
from wirewatch.engine.progress import Progress
from wirewatch.steps import Step
from wirewatch.summary import ExitStatus, PassSummary, write_summary

if TYPE_CHECKING:
    from wirewatch.runtime import PassTools, Runtime


def progress_table(progress: Progress | None, step: str) -> Table:
    """The live display of a pass: what each stage has done so far, with rates."""
    table = Table(title=step, title_justify="left", show_header=True, header_style="bold", box=None)
    for column in ("feeds polled", "pages fetched", "extracted", "indexed", "alerts", "delivered", "NER backlog"):
        table.add_column(column, justify="right")
    if progress is None:
        return table
    p = progress
    table.add_row(
        f"{p.feeds_polled}/{p.feeds_due} ({p.rate('feeds_polled'):.0f}/s)",
        f"{p.pages_fetched} ({p.rate('pages_fetched'):.1f}/s)",
        f"{p.extracted} ({p.rate('extracted'):.1f}/s)",
        f"{p.indexed} ({p.rate('indexed'):.1f}/s)",
        str(p.alerts),
        str(p.delivered),
        f"{p.ner_backlog} ({p.ner_done} done)",
    )
    if p.es_down_since is not None:
        table.caption = "Elasticsearch unreachable: holding writes and retrying"
    return table


def live_pass(rt: Runtime, tools: PassTools, *, only_due: bool) -> PassSummary:
    """One pass through the engine with the live display on stderr."""
    from wirewatch.pipeline import run_pass

    label = ["starting pass"]
    with Live(progress_table(None, label[0]), console=err_console, refresh_per_second=4) as live:

        def on_step(step: Step, detail: str) -> None:
            label[0] = f"{step.label} {detail}".strip()
            live.update(progress_table(None, label[0]))

        return run_pass(
            rt, tools, only_due=only_due, on_step=on_step,
            on_progress=lambda p: live.update(progress_table(p, label[0])),
        )  # fmt: skip


_EVERY = re.compile(r"^(\d+)\s*([smh]?)$")


def parse_every(text: str) -> float:
    """'90s', '5m', '1h' or plain seconds -> seconds."""
    match = _EVERY.match(text.strip().lower())
    if not match or int(match.group(1)) <= 0:
        raise click.BadParameter(f"{text!r}: use a number with s, m or h, like 5m")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


@click.command("ingest")
@click.option("--feeds", "feeds_file", type=click.Path(exists=True, dir_okay=False), help="YAML feed list.")
@click.option("--once", "mode", flag_value="once", default=True, help="Run one pass and exit (default).")
@click.option("--every", "every", metavar="INTERVAL", help="Keep running: a pass every INTERVAL (e.g. 5m).")
@click.option("--all-feeds", is_flag=True, help="Poll every feed now, even those not due yet.")
@click.option("--json", "as_json", is_flag=True, help="Print each pass summary as one JSON line.")
@click.pass_context
def cli(
    ctx: click.Context, feeds_file: str | None, mode: str, every: str | None, all_feeds: bool, as_json: bool
) -> None:
    """Poll the feeds, fetch and extract new articles, tag, index, alert and deliver.

    Exit status: 0 when everything succeeded, 3 when the pass ran but some feeds, pages or deliveries failed
    (the summary says which and why), 4 when the pass could not run at all (e.g. Elasticsearch unreachable).
    """
    from wirewatch.runtime import ConfigError

    overrides = {"feeds_file": feeds_file} if feeds_file else {}
    rt = runtime_from(ctx, **overrides)
    settings = rt.settings
    interval = parse_every(every) if every else None
    try:
        with rt.tools() as tools:
            while True:
                summary = live_pass(rt, tools, only_due=not all_feeds)
                data = summary.to_dict()
                write_summary(settings.summary_file, data)
                if as_json:
                    print_json(data)
                else:
                    render_summary(console, data)
                if interval is None:
                    sys.exit(int(summary.exit_status))
                err_console.print(f"next pass in {interval:.0f}s (Ctrl-C to stop)")
                time.sleep(interval)
    except ConfigError as exc:
        fail(str(exc), hint="fix the file it names", code=int(ExitStatus.NOT_RUN))
    except KeyboardInterrupt:
        err_console.print("stopped")
