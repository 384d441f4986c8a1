"""``wirewatch ingest``: one pass, or a pass every N minutes."""

from __future__ import annotations

import re
import sys
import time

import click

from wirewatch.cli.common import console, err_console, fail, print_json, runtime_from
from wirewatch.cli.render import render_summary
from wirewatch.summary import ExitStatus, write_summary

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
    from wirewatch.pipeline import run_pass
    from wirewatch.runtime import ConfigError

    overrides = {"feeds_file": feeds_file} if feeds_file else {}
    rt = runtime_from(ctx, **overrides)
    settings = rt.settings
    interval = parse_every(every) if every else None
    try:
        with rt.tools() as tools:
            while True:
                with err_console.status("starting pass") as status:
                    summary = run_pass(
                        rt, tools, only_due=not all_feeds,
                        on_step=lambda step, detail: status.update(f"{step.label} {detail}".strip()),
                    )  # fmt: skip
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
