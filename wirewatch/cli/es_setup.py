"""``wirewatch es setup [--json]``: create or migrate the indices, templates and aliases (idempotent).

Also home of ``es_client`` and ``index_names``: the settings -> Elasticsearch wiring every CLI command that
talks to the cluster needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from elasticsearch import Elasticsearch
from rich.markup import escape
from rich.table import Table

from search.errors import IndexMissing, MigrationError, SearchError, SearchUnavailable, SetupError
from search.names import IndexNames
from wirewatch.cli.common import console, fail, print_json, settings_from
from wirewatch.settings import Settings, masked_url


def es_client(settings: Settings) -> Elasticsearch:
    """A client for the configured cluster (the local node when es_url is unset)."""
    from wirewatch.runtime import make_es

    return make_es(settings)


def index_names(settings: Settings) -> IndexNames:
    return IndexNames(prefix=settings.es_index_prefix)


@contextmanager
def search_errors(url: str) -> Iterator[None]:
    """The search stage's errors as one-line messages with what to do next."""
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


@click.command("setup")
@click.option("--json", "as_json", is_flag=True, help="Print what was created, migrated or already current.")
@click.pass_context
def cli(ctx: click.Context, as_json: bool) -> None:
    """Create or migrate the index templates, versioned articles index, aliases and state indices."""
    from search.alert_indices import setup_alert_indices
    from search.indices import setup_indices

    settings = settings_from(ctx)
    es = es_client(settings)
    names = index_names(settings)
    with search_errors(settings.es_url_or_local):
        report = setup_indices(es, names)
        alert_indices = setup_alert_indices(es, names)
    es.close()
    report.created.extend(alert_indices)
    for name in (names.watches, names.alerts):
        if name not in alert_indices and name not in report.up_to_date:
            report.up_to_date.append(name)
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
