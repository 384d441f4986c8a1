"""The ``wirewatch`` command line.

Each command group lives in its own module (``wirewatch/cli/<name>.py`` exposing ``cli``) and is imported only
when that command runs, so ``wirewatch --help`` stays fast and never loads spaCy or trafilatura.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from wirewatch.settings import SettingsError

# command name -> (module, one-line help shown by ``wirewatch --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "es": ("wirewatch.cli.es", "Local Elasticsearch node (start/stop/status) and index setup."),
    "ingest": ("wirewatch.cli.ingest", "Run ingestion passes: poll, fetch, extract, tag, index, alert."),
    "run": ("wirewatch.cli.run", "Run as a service: each feed polled when due, graceful stop, rides out outages."),
    "extract": ("wirewatch.cli.extract", "Extract clean text and metadata from pages or URLs."),
    "tag": ("wirewatch.cli.tag", "Tag plain text with entities and tracked groups."),
    "retag": ("wirewatch.cli.retag", "Tag indexed articles again (places, events, the current watchlist)."),
    "watchlist": ("wirewatch.cli.watchlist", "Inspect and validate the watchlist of tracked groups."),
    "search": ("wirewatch.cli.search", "Full-text search over indexed articles."),
    "events": ("wirewatch.cli.events", "Events of the indexed articles: type, actors, place, day, fatalities."),
    "watch": ("wirewatch.cli.watch", "Manage analyst query watches."),
    "alerts": ("wirewatch.cli.alerts", "List alerts and their delivery state."),
    "feeds": ("wirewatch.cli.feeds", "Feed health: last success, errors, next poll; OPML import and export."),
    "settings": ("wirewatch.cli.settings_cmd", "Show every setting, its value and where it comes from."),
    "serve": ("wirewatch.cli.serve", "Serve the analysts' workbench (web pages and the HTTP API)."),
    "users": ("wirewatch.cli.users", "Workbench users and their roles."),
    "tokens": ("wirewatch.cli.tokens", "API tokens for the workbench's HTTP API."),
    "stix": ("wirewatch.cli.stix", "Export alerts as STIX 2.1 bundles for threat-intelligence platforms."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        command: click.Command = module.cli
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    envvar="WIREWATCH_CONFIG",
    help="YAML settings file (WIREWATCH_* environment variables override it).",
)
@click.version_option(package_name="wirewatch")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Wirewatch monitors news feeds, indexes clean articles into Elasticsearch and alerts on tracked groups.

    Quick start: `wirewatch es start`, `wirewatch ingest --once`, `wirewatch search '"Islamic State"'`.
    """
    ctx.obj = {"config": config}


def main(argv: list[str] | None = None) -> Any:
    try:
        return cli.main(args=argv, prog_name="wirewatch", standalone_mode=True)
    except SettingsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
