"""``wirewatch es setup [--json]``: create or migrate the indices, templates and aliases (idempotent).

It calls the same ``ensure_indices`` as the pass and the DAG's first task.
"""

from __future__ import annotations

import click
from rich.table import Table

from wirewatch.cli.common import console, print_json, runtime_from, search_errors


@click.command("setup")
@click.option("--json", "as_json", is_flag=True, help="Print what was created, migrated or already current.")
@click.pass_context
def cli(ctx: click.Context, as_json: bool) -> None:
    """Create or migrate the index templates, versioned articles index, aliases and state indices."""
    from wirewatch.pipeline import ensure_indices

    rt = runtime_from(ctx)
    try:
        with search_errors(rt.settings.es_url_or_local):
            report = ensure_indices(rt)
    finally:
        rt.close()
    if as_json:
        print_json(report.as_dict())
        return
    table = Table("index", "state", title="Elasticsearch setup")
    for name in report.created:
        table.add_row(name, "[green]created[/]")
    for name in report.up_to_date:
        table.add_row(name, "up to date")
    if report.migrated_from:
        table.add_row(report.migrated_from, f"[yellow]migrated[/]: {report.copied} documents copied, now read-only")
    console.print(table)
    console.print(f"alias [bold]{report.articles_alias}[/] -> {report.articles_index}", highlight=False)


setup_cmd = cli
