"""``wirewatch events``: events of the indexed articles (who did what, where, when, how many killed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click
from rich.markup import escape
from rich.table import Table

from search.events import MAX_EVENTS
from wirewatch.cli.common import console, fail, print_json, runtime_from, search_errors
from wirewatch.events import EVENT_TYPES, BadEventFilter, acled_row, event_filter


@click.command("events")
@click.option("--type", "types", multiple=True, type=click.Choice(EVENT_TYPES), help="Event type; repeat for any.")
@click.option("--group", "groups", multiple=True, help="Tracked group among the actors (id, name or alias: JNIM).")
@click.option("--country", "countries", multiple=True, help="Country code of the event's place (BF); repeat.")
@click.option("--region", "regions", multiple=True, help="Region (admin1) of the event's place (Sahel); repeat.")
@click.option("--place", "places", multiple=True, help="Place id of the event (gn:2361177 is Djibo); repeat.")
@click.option("--since", help="Event day from: a date (2026-12-01) or 7d, 2w.")
@click.option("--until", help="Event day until (inclusive): a date.")
@click.option("--min-fatalities", type=click.IntRange(0), help="At least this many killed, as the sentence states.")
@click.option("--limit", type=click.IntRange(1, MAX_EVENTS), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of events in ACLED-like columns.")
@click.pass_context
def cli(
    ctx: click.Context,
    types: tuple[str, ...],
    groups: tuple[str, ...],
    countries: tuple[str, ...],
    regions: tuple[str, ...],
    places: tuple[str, ...],
    since: str | None,
    until: str | None,
    min_fatalities: int | None,
    limit: int,
    as_json: bool,
) -> None:
    """List events found in the indexed articles, newest event day first: one row per article reporting one.

    \b
    An event is a sentence stating an armed clash, attack, explosion (IED, suicide bombing, air or drone
    strike, shelling), abduction, violence against civilians or arrest, with its actors, place, day and
    toll (fatalities only when stated). Every filter narrows, and applies to one event:
      wirewatch events --type attack --type explosion_remote_violence --group JNIM --country BF \\
          --min-fatalities 5 --since 30d
    --json prints event_date, event_type, sub_event_type, actor1, actor2, country, admin1, location,
    latitude, longitude, fatalities, wounded, claim, source, source_url, notes (the sentence), language,
    article_id, story_id: the columns of the workbench's CSV export (/events).
    """
    from search.events import find_events
    from wirewatch.groupnames import GroupNames

    rt = runtime_from(ctx)
    try:
        resolve = GroupNames.of(rt.watchlist()).resolve
        try:
            flt = event_filter(
                types=types, groups=[resolve(g) or g for g in groups], countries=countries, regions=regions,
                places=places, since=_relative(since), until=until, min_fatalities=min_fatalities,
            )  # fmt: skip
        except BadEventFilter as exc:
            fail(f"--{exc.field.replace('_', '-')}: {escape(str(exc))}", hint="dates are YYYY-MM-DD or 7d, 2w")
        with search_errors(rt.settings.es_url_or_local):
            rows = [acled_row(r) for r in find_events(rt.es, rt.names, flt, limit=limit)]
    finally:
        rt.close()
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(
            "No event matches. Events are found once articles are tagged (`wirewatch retag` tags older ones)."
        )
        return
    table = Table(show_lines=False)
    for column in ("date", "type", "actors", "place", "killed", "sentence", "source"):
        table.add_column(column, overflow="fold", justify="right" if column == "killed" else "left")
    for r in rows:
        actors = " → ".join(a for a in (r["actor1"], r["actor2"]) if a) or "-"
        where = ", ".join(x for x in (r["location"], r["admin1"], r["country"]) if x) or "-"
        killed = "-" if r["fatalities"] is None else str(r["fatalities"])
        table.add_row(
            r["event_date"] or "-", r["event_type"], escape(actors), escape(where), killed,
            escape(r["notes"] or ""), escape(r["source"] or r["article_id"]),
        )  # fmt: skip
    console.print(table)
    console.print(
        f"{len(rows)} event report(s)" + (f" (the newest {limit}: --limit for more)" if len(rows) == limit else "")
    )


def _relative(since: str | None) -> str | None:
    """``7d`` / ``2w`` -> the day that many days ago; a date passes through."""
    if not since or not since.strip()[:-1].isdigit() or since.strip()[-1] not in "dw":
        return since
    text = since.strip()
    days = int(text[:-1]) * (7 if text[-1] == "w" else 1)
    return (datetime.now(UTC).date() - timedelta(days=days)).isoformat()


__all__ = ["cli"]
