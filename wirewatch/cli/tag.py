"""``wirewatch tag [PATH|-] [--json] [--no-ner] [--published DAY]``: tag plain text with tracked groups,
places, entities and events."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.table import Table

from wirewatch.cli.common import console, fail, print_json, runtime_from

if TYPE_CHECKING:
    from enrich.tags import Tags


@click.command("tag")
@click.argument("path", default="-", metavar="[PATH|-]")
@click.option("--json", "as_json", is_flag=True, help="Print the Tags record as JSON.")
@click.option("--no-ner", is_flag=True, help="Tracked groups and events only (skip statistical NER: much faster).")
@click.option(
    "--published",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The text's publication day (YYYY-MM-DD): events' relative days ('on Sunday') are dated against it.",
)
@click.pass_context
def cli(ctx: click.Context, path: str, as_json: bool, no_ner: bool, published: datetime | None) -> None:
    """Tag the plain text in PATH (or stdin with -) with tracked groups, named entities and events."""
    from enrich.errors import EnrichError, ModelNotInstalledError
    from wirewatch.runtime import ConfigError

    rt = runtime_from(ctx)
    text = _read_text(path)
    try:
        # One text: a worker process would cost more than it saves.
        with rt.tagger(ner=rt.settings.ner_enabled and not no_ner, workers=1) as tagger:
            tags = tagger.tag([text], published=[published.date() if published else None])[0]
    except ConfigError as exc:
        fail(str(exc), hint="fix the file (see `wirewatch watchlist check`) or set WIREWATCH_WATCHLIST_FILE")
    except ModelNotInstalledError as exc:
        fail(str(exc), hint="or run with --no-ner to match tracked groups only")
    except EnrichError as exc:
        fail(f"tagging failed: {exc}", hint="retry; if it persists, run with --no-ner")
    if as_json:
        meta = {"language": tags.language, "ner_done": tags.ner_done, "ner_model": tags.ner_model}
        print_json({**meta, "ner_skipped": tags.ner_skipped, **tags.to_dict()})
        return
    _print_tables(tags)


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        fail(f"no such file: {path}", hint="pass a plain-text file, or - to read stdin")
    except IsADirectoryError:
        fail(f"{path} is a directory", hint="pass a plain-text file, or - to read stdin")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")


def _print_places(tags: Tags) -> None:
    table = Table(title="Places", title_justify="left")
    for column in ("id", "name", "country", "region", "lat, lon", "count", "surface forms"):
        table.add_column(column)
    for p in tags.places:
        place = p.place
        table.add_row(
            place.id, place.name_in(tags.language), place.country, place.admin1, f"{place.lat:.4f}, {place.lon:.4f}",
            str(p.count), ", ".join(p.surface_forms),
        )  # fmt: skip
    console.print(table if tags.places else "[dim]no place found[/]")


def _print_tables(tags: object) -> None:
    from enrich.tags import Tags

    assert isinstance(tags, Tags)
    groups = Table(title="Tracked groups", title_justify="left")
    for column in ("id", "name", "parent", "count", "surface forms"):
        groups.add_column(column)
    for g in tags.groups:
        groups.add_row(g.id, g.name, g.parent or "", str(g.count), ", ".join(g.surface_forms))
    console.print(groups if tags.groups else "[dim]no tracked group found[/]")
    _print_places(tags)
    _print_events(tags)
    if not tags.ner_done or tags.ner_skipped:
        console.print(f"[dim]entities: NER not run{': ' + tags.ner_skipped if tags.ner_skipped else ''}[/]")
        console.print(f"[dim]language: {tags.language or 'unknown'}[/]")
        return
    entities = Table(title="Entities", title_justify="left")
    for column in ("type", "canonical", "count", "surface forms"):
        entities.add_column(column)
    for e in sorted(tags.entities, key=lambda e: (e.label, -e.count, e.canonical)):
        entities.add_row(e.label, e.canonical, str(e.count), ", ".join(e.surface_forms))
    console.print(entities if tags.entities else "[dim]no entity found[/]")
    console.print(f"[dim]language: {tags.language or 'unknown'}[/]")


def _print_events(tags: object) -> None:
    from rich.markup import escape

    from enrich.tags import Tags

    assert isinstance(tags, Tags)
    if not tags.events:
        console.print("[dim]no event found[/]")
        return
    table = Table(title="Events", title_justify="left")
    for column in ("#", "type", "actors", "place", "date", "killed", "wounded", "claim"):
        table.add_column(column, overflow="fold")  # never cut: a narrow terminal folds them
    for number, e in enumerate(tags.events, 1):
        kind = f"{e.type} ({e.subtype})" if e.subtype else e.type
        cells = [str(number), kind, ", ".join(e.actor_ids), e.place.name if e.place else ""]
        cells += [e.date or e.date_phrase or ""] + ["" if n is None else str(n) for n in (e.fatalities, e.wounded)]
        table.add_row(*(escape(c) for c in [*cells, e.claim or ""]))  # text from the web: no rich markup from it
    console.print(table)
    for number, e in enumerate(tags.events, 1):  # the evidence, whole, under the table
        console.print(f"[dim]{number}.[/] {escape(e.sentence)}", soft_wrap=True)
