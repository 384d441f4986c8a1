"""``wirewatch es``: the local Elasticsearch node (fetch, start, stop, status).

The node is the one search/localnode/node.py runs: Elasticsearch 8 from Maven Central, on 127.0.0.1, with the
Wirewatch analysis plugin. Settings: local_es_home, local_es_port, local_es_heap_mb, local_es_start_timeout_s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from rich.markup import escape

from search.errors import LocalNodeError, NodeStartError, PortTakenError, ToolMissingError
from search.localnode import LocalNode, NodeStatus
from search.localnode.config import clamp_heap
from search.localnode.process import is_healthy
from wirewatch.cli.common import console, err_console, fail, print_json, runtime_from, settings_from


def _node(ctx: click.Context, *, port: int | None = None, heap_mb: int | None = None) -> LocalNode:
    return runtime_from(ctx).local_node(port=port, heap_mb=heap_mb)


@contextmanager
def _node_errors(node: LocalNode) -> Iterator[None]:
    """Turn the local node's errors into one-line messages with what to do next."""
    try:
        yield
    except PortTakenError as exc:
        fail(f"port {exc.port} is taken", hint="stop what holds it or use --port / WIREWATCH_LOCAL_ES_PORT")
    except ToolMissingError as exc:
        fail(escape(str(exc)), hint="install it, then run the command again")
    except NodeStartError as exc:
        fail(escape(str(exc)), hint=f"full log: {node.layout.console_log}; --clean if the data is damaged")
    except LocalNodeError as exc:
        fail(escape(str(exc)), hint="fix the cause above and run the command again")


def _status_dict(status: NodeStatus) -> dict[str, object]:
    return {
        "running": status.running,
        "url": status.url,
        "version": status.version,
        "pid": status.pid,
        "data_path": str(status.data_path),
    }


@click.group("es")
def cli() -> None:
    """Local Elasticsearch node without Docker: fetch, start, stop, status."""


@cli.command("fetch")
@click.pass_context
def fetch_cmd(ctx: click.Context) -> None:
    """Fetch Elasticsearch from Maven Central and install the analysis plugin (once; later runs reuse it)."""
    node = _node(ctx)
    with _node_errors(node), err_console.status("Fetching Elasticsearch (first time: ~100 MB)..."):
        es_home = node.fetch()
    console.print(f"Elasticsearch is ready in {es_home}", highlight=False)


@cli.command("start")
@click.option("--port", type=click.IntRange(1, 65535), help="HTTP port (default: local_es_port).")
@click.option("--heap-mb", type=int, help="JVM heap in MB, kept within 512-1024 (default: local_es_heap_mb).")
@click.option("--clean", is_flag=True, help="Wipe the node's data before starting.")
@click.option("--timeout", "timeout_s", type=float, help="Seconds to wait for health (default: setting).")
@click.pass_context
def start_cmd(
    ctx: click.Context, port: int | None, heap_mb: int | None, clean: bool, timeout_s: float | None
) -> None:
    """Start the node on 127.0.0.1 and wait until it is healthy (does nothing if it already runs)."""
    settings = settings_from(ctx)
    node = _node(ctx, port=port, heap_mb=heap_mb)
    if heap_mb is not None and clamp_heap(heap_mb) != heap_mb:
        err_console.print(f"note: heap {heap_mb} MB is outside 512-1024 MB; using {node.heap_mb} MB")
    timeout = timeout_s if timeout_s is not None else settings.local_es_start_timeout_s
    with _node_errors(node), err_console.status(f"Starting Elasticsearch on port {node.port}..."):
        status = node.start(timeout_s=timeout, clean=clean)
    console.print(
        f"Elasticsearch {status.version} is running at {status.url} "
        f"(pid {status.pid}, data {status.data_path})",
        highlight=False,
        soft_wrap=True,
    )


@cli.command("stop")
@click.option("--timeout", "timeout_s", type=float, default=30.0, show_default=True,
              help="Seconds to wait after SIGTERM before SIGKILL.")
@click.pass_context
def stop_cmd(ctx: click.Context, timeout_s: float) -> None:
    """Stop the node this project started (only the pid it recorded)."""
    node = _node(ctx)
    with _node_errors(node), err_console.status("Stopping Elasticsearch..."):
        stopped = node.stop(timeout_s=timeout_s)
    console.print("Elasticsearch stopped." if stopped else "No local node was running.")


@cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@click.pass_context
def status_cmd(ctx: click.Context, as_json: bool) -> None:
    """Whether the local node runs, its URL, version, pid and data path (exit status 1 when it does not)."""
    node = _node(ctx)
    with _node_errors(node):
        status = node.status()
    if as_json:
        print_json(_status_dict(status))
    else:
        state = "[green]running[/]" if status.running else "[red]not running[/]"
        console.print(f"Elasticsearch: {state}")
        for label, value in (("url", status.url), ("version", status.version), ("pid", status.pid),
                             ("data", status.data_path)):
            console.print(f"  {label:8} {escape(str(value)) if value is not None else '-'}", highlight=False)
    if not status.running:
        if is_healthy(status.url):
            err_console.print(f"note: an Elasticsearch answers at {status.url}, not one this project started")
        ctx.exit(1)


def _add_setup() -> None:
    # `es setup` lives with the index code's CLI; importing it here is cheap (no Elasticsearch call at import).
    from wirewatch.cli.es_setup import cli as setup_cmd

    cli.add_command(setup_cmd, "setup")


_add_setup()
