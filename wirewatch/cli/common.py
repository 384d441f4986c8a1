"""Helpers shared by the CLI commands: settings from the context, JSON output, readable errors."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import click
from rich.console import Console

from wirewatch.settings import Settings, SettingsError, load_settings, masked_url

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
