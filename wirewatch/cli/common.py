"""Helpers shared by the CLI commands: settings and the runtime from the context, JSON output, readable errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click
from rich.console import Console
from rich.markup import escape

from wirewatch.settings import Settings, SettingsError, load_settings, masked_url

if TYPE_CHECKING:
    from wirewatch.runtime import Runtime

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # errors stay one line: greppable


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """The settings for this invocation (``--config`` of the root command, then the environment)."""
    root = ctx.find_root()
    config = (root.obj or {}).get("config")
    try:
        return load_settings(config, **overrides)
    except SettingsError as exc:
        fail(str(exc), hint="fix the setting in the --config file or the WIREWATCH_* variable it names")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def fail(message: str, hint: str | None = None, code: int = 2) -> NoReturn:
    """Print a one-line error and what to do next, then exit non-zero (never a stack trace).

    Any URL in them is shown with its password masked: errors quote settings such as es_url."""
    err_console.print(f"[bold red]error:[/] {masked_url(message)}", highlight=False)
    if hint:
        err_console.print(f"[dim]hint:[/] {masked_url(hint)}", highlight=False)
    sys.exit(code)


def runtime_from(ctx: click.Context, **overrides: Any) -> Runtime:
    """The composition root for this invocation: settings -> client, names, tools, channels."""
    from wirewatch.runtime import build_runtime

    return build_runtime(settings_from(ctx, **overrides))


@contextmanager
def search_errors(url: str) -> Iterator[None]:
    """The search stage's errors as one-line messages with what to do next."""
    from search.errors import IndexMissing, MigrationError, SearchError, SearchUnavailable, SetupError

    try:
        yield
    except SearchUnavailable as exc:
        shown = escape(masked_url(url))  # es_url may carry user:password@
        fail(
            escape(str(exc)),
            hint=f"is Elasticsearch running at {shown}? `wirewatch es start`, or set WIREWATCH_ES_URL",
            code=3,
        )
    except IndexMissing as exc:
        fail(escape(str(exc)), hint="run `wirewatch es setup` once against this cluster")
    except MigrationError as exc:
        fail(
            escape(str(exc)),
            hint="the old index still serves; fix the cause and run `wirewatch es setup` again",
        )
    except SetupError as exc:
        fail(escape(str(exc)), hint="fix the cause above, then run `wirewatch es setup` again")
    except SearchError as exc:
        fail(escape(str(exc)), hint="fix the cause above and run the command again")
