"""``wirewatch watch``: analyst query watches (add, list, remove, disable, enable, test, snooze).

Group watches (one per tracked group) follow the watchlist and are kept in sync by every ingest pass; they are
listed here but cannot be removed (remove the group from the watchlist instead).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from wirewatch.cli.common import console, fail, print_json, runtime_from, search_errors
from wirewatch.rows import watch_row


@click.group("watch")
def cli() -> None:
    """Manage watches: analyst queries that raise alerts on new articles.

    Query syntax: words, "exact phrases", AND / OR / NOT (or +word / -word), prefix*, (grouping).
    """


@contextmanager
def _session(ctx: click.Context) -> Iterator[Any]:
    """The runtime (client, names, channels), with alert indices in place and errors as one-liners."""
    from search.alerting.indices import setup_alert_indices

    rt = runtime_from(ctx)
    try:
        with search_errors(rt.settings.es_url_or_local):
            setup_alert_indices(rt.es, rt.names)
            yield rt
    finally:
        rt.close()


def _channel_names(rt: Any) -> list[str]:
    from wirewatch.runtime import ConfigError

    try:
        return sorted(rt.channels())
    except ConfigError as exc:
        fail(escape(str(exc)), hint="fix the channels file named by the channels_file setting")


@cli.command("add")
@click.argument("name")
@click.option("--query", "query_text", help="The query, e.g. '\"car bomb\" AND (Mali OR Niger)'.")
@click.option("--event-type", "event_types", multiple=True, help="Event watch: an event type; repeat for several.")
@click.option("--group", "groups", multiple=True, help="Event watch: a tracked group (id, name or alias).")
@click.option("--country", "countries", multiple=True, help="Event watch: the event's country (ISO code, BF).")
@click.option("--min-killed", type=int, default=None, help="Event watch: at least this many killed (stated).")
@click.option("--channel", "channels", multiple=True, help="Channel name; repeat for several. Default: all.")
@click.pass_context
def add(
    ctx: click.Context, name: str, query_text: str | None, event_types: tuple[str, ...], groups: tuple[str, ...],
    countries: tuple[str, ...], min_killed: int | None, channels: tuple[str, ...],
) -> None:  # fmt: skip
    """Add a query watch (--query) or an event watch (--event-type, --group, --country, --min-killed: one event
    meeting them all, checked once NER has found the events). It alerts on articles indexed from now on.

    \b
    Example: wirewatch watch add "JNIM attacks BF" --event-type attack \\
             --event-type explosion_remote_violence --group JNIM --country BF --min-killed 5"""
    is_event = bool(event_types or groups or countries or min_killed is not None)
    if is_event == bool(query_text):
        fail("a watch is either a query (--query) or an event watch (--event-type/--group/--country/--min-killed)",
             hint="give --query alone, or event options alone")  # fmt: skip
    if is_event:
        _add_event(ctx, name, event_types, groups, countries, min_killed, channels)
    else:
        _add_query(ctx, name, str(query_text), channels)


def _add_query(ctx: click.Context, name: str, query_text: str, channels: tuple[str, ...]) -> None:
    from search.alerting.watches import WATCH_BOUNDS, add_query_watch, check_watch
    from search.errors import InvalidWatch, QuerySyntaxError, WatchExists
    from wirewatch.fieldvalues import FieldValues, indexed_sources
    from wirewatch.groupnames import GroupNames
    from wirewatch.places import locate_place

    try:
        check_watch(name, query_text, channels)  # the bounds the workbench's form and API hold to as well
    except InvalidWatch as exc:
        fail(escape(str(exc)), hint=f"names up to {WATCH_BOUNDS.name} characters, queries up to {WATCH_BOUNDS.query}")
    with _session(ctx) as rt:
        known = _known_channels(rt, channels)
        try:
            groups = GroupNames.of(rt.watchlist())
            FieldValues(groups, lambda: indexed_sources(rt.es, rt.names)).check_query(query_text)
            watch = add_query_watch(
                rt.es,
                rt.names,
                name,
                query_text,
                channels=list(channels) or known,
                resolve_group=groups.resolve,
                locate=locate_place,
            )
        except QuerySyntaxError as exc:
            pointer = " " * exc.position + "^"
            fail(
                f"{escape(exc.reason)}\n  {escape(query_text)}\n  {pointer}",
                hint='words, "exact phrases", AND / OR / NOT, +word / -word, prefix*, (grouping), group:aqim lang:fr',
            )
        except WatchExists as exc:
            fail(escape(str(exc)), hint=f"`wirewatch watch remove {name!r}` first, or choose another name")
    console.print(f"added watch [bold]{escape(watch.name)}[/] → {escape(', '.join(watch.channels) or '-')}")


def _add_event(
    ctx: click.Context, name: str, event_types: tuple[str, ...], groups: tuple[str, ...],
    countries: tuple[str, ...], min_killed: int | None, channels: tuple[str, ...],
) -> None:  # fmt: skip
    from search.alerting.eventwatch import add_event_watch, event_criteria
    from search.errors import InvalidWatch, WatchExists
    from wirewatch.events import EVENT_TYPES
    from wirewatch.groupnames import GroupNames

    with _session(ctx) as rt:
        known = _known_channels(rt, channels)
        names = GroupNames.of(rt.watchlist())
        ids = [names.resolve(g) for g in groups]
        if None in ids:
            bad = groups[ids.index(None)]
            fail(f"no tracked group is called {escape(bad)!r}", hint="`wirewatch watchlist show` lists them")
        try:
            criteria = event_criteria(types=event_types, groups=[str(i) for i in ids], countries=countries,
                                      min_fatalities=min_killed, known_types=EVENT_TYPES)  # fmt: skip
            watch = add_event_watch(rt.es, rt.names, name, criteria, channels=list(channels) or known)
        except InvalidWatch as exc:
            fail(escape(str(exc)), hint=f"event types: {', '.join(EVENT_TYPES)}")
        except WatchExists as exc:
            fail(escape(str(exc)), hint=f"`wirewatch watch remove {name!r}` first, or choose another name")
    console.print(
        f"added event watch [bold]{escape(watch.name)}[/] ({escape(watch.query_text or '')}) → "
        f"{escape(', '.join(watch.channels) or '-')}"
    )


def _known_channels(rt: Any, channels: tuple[str, ...]) -> list[str]:
    """The configured channel names; fails when ``channels`` names another."""
    known = _channel_names(rt)
    unknown = sorted(set(channels) - set(known))
    if unknown:
        fail(f"unknown channel(s): {', '.join(unknown)}", hint=f"configured channels: {', '.join(known)}")
    return known


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the watches as a JSON list.")
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """List group and query watches."""
    from search.alerting.watches import list_watches

    with _session(ctx) as rt:
        watches = list_watches(rt.es, rt.names)
    if as_json:
        print_json([watch_row(w) for w in watches])
        return
    table = Table("name", "kind", "matches", "channels", "enabled", "created", title="Watches")
    for w in watches:
        what = w.query_text if w.kind == "query" else f"group {w.group_id}"
        created = w.created_at[:19]
        table.add_row(
            escape(w.name), w.kind, escape(what or ""), escape(", ".join(w.channels)), str(w.enabled), created
        )
    console.print(table if watches else "no watches yet: `wirewatch watch add NAME --query '...'`")


@cli.command("remove")
@click.argument("name")
@click.pass_context
def remove(ctx: click.Context, name: str) -> None:
    """Remove a query watch (its past alerts stay)."""
    from search.alerting.watches import remove_watch
    from search.errors import WatchNotFound

    with _session(ctx) as rt:
        try:
            watch = remove_watch(rt.es, rt.names, name)
        except WatchNotFound as exc:
            fail(escape(str(exc)), hint="`wirewatch watch list` shows the watches")
    console.print(f"removed watch [bold]{escape(watch.name)}[/]")


def _set_enabled(ctx: click.Context, name: str, enabled: bool) -> None:
    from search.alerting.watches import set_watch_enabled
    from search.errors import WatchNotFound

    with _session(ctx) as rt:
        try:
            watch = set_watch_enabled(rt.es, rt.names, name, enabled)
        except WatchNotFound as exc:
            fail(escape(str(exc)), hint="`wirewatch watch list` shows the watches")
    console.print(f"watch [bold]{escape(watch.name)}[/] {'enabled' if enabled else 'disabled'}")


@cli.command("disable")
@click.argument("name")
@click.pass_context
def disable(ctx: click.Context, name: str) -> None:
    """Disable a query watch: it raises nothing, stays listed and keeps its alerts (`watch enable` undoes it)."""
    _set_enabled(ctx, name, False)


@cli.command("enable")
@click.argument("name")
@click.pass_context
def enable(ctx: click.Context, name: str) -> None:
    """Enable a disabled query watch again: it alerts on articles indexed from now on."""
    _set_enabled(ctx, name, True)


@cli.command("test")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the matches as a JSON list.")
@click.pass_context
def test(ctx: click.Context, name: str, limit: int, as_json: bool) -> None:
    """Run a watch over the indexed history and show what it would have raised. Sends nothing."""
    from search.alerting.alerts import would_raise
    from search.alerting.matching import run_watch
    from search.alerting.watches import get_watch
    from search.errors import WatchNotFound

    with _session(ctx) as rt:
        try:
            watch = get_watch(rt.es, rt.names, name)
        except WatchNotFound as exc:
            fail(escape(str(exc)), hint="`wirewatch watch list` shows the watches")
        max_age_s = rt.settings.alert_max_age_s
        rows = would_raise(rt.es, rt.names, run_watch(rt.es, rt.names, watch, limit=limit), max_age_s=max_age_s)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(f"watch {escape(watch.name)} matches no indexed article")
        return
    title = f"Watch {escape(watch.name)}: one alert per story"
    table = Table("published", "source", "title", "passage", "copies", "alerted", "raises", title=title)
    for row in rows:
        table.add_row(
            (row["published_at"] or "-")[:10], escape(row["source"] or "-"), escape(row["title"]),
            escape(row["passage"]), str(row["copies"]), "yes" if row["already_alerted"] else "no",
            "no: too old" if row["too_old"] else "yes",
        )  # fmt: skip
    console.print(table)
    console.print(_backfill_line(rows, rt.settings.alert_max_age_days), highlight=False)


def _backfill_line(rows: list[dict[str, Any]], max_age_days: float) -> str:
    """How many of the rows would raise an alert, and how many the age bound skips (a feed's back issues)."""
    old = sum(1 for row in rows if row["too_old"])
    bound = f"published over {max_age_days:g} days before their fetch" if max_age_days else "the age bound is off"
    return f"{len(rows) - old} would raise an alert; {old} skipped as too old ({bound}: alert_max_age_days)"


_IN = re.compile(r"(\d{1,5})([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_until(text: str, *, now: datetime | None = None) -> datetime | None:
    """``2h``/``3d``/``30m``/``1w`` from now, an ISO datetime (UTC without a zone), or ``off`` (None)."""
    value = text.strip()
    if value.lower() in ("off", "now", "none"):
        return None
    relative = _IN.fullmatch(value)
    if relative:
        return (now or datetime.now(UTC)) + timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: use 2h, 3d, 30m, 1w, 2024-05-01T18:00:00+02:00 or off") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@cli.command("snooze")
@click.argument("name")
@click.option("--until", "until_text", required=True, help="2h, 3d, an ISO time (2024-05-01T18:00+02:00), or off.")
@click.pass_context
def snooze(ctx: click.Context, name: str, until_text: str) -> None:
    """Snooze a watch: it raises nothing until then (articles matched meanwhile do not alert later)."""
    from search.alerting.snooze import snooze_watch
    from search.errors import WatchNotFound

    until = parse_until(until_text)
    with _session(ctx) as rt:
        try:
            watch = snooze_watch(rt.es, rt.names, name, until)
        except WatchNotFound as exc:
            fail(escape(str(exc)), hint="`wirewatch watch list` shows the watches")
    if watch.snoozed_until:
        console.print(f"watch [bold]{escape(watch.name)}[/] snoozed until {watch.snoozed_until}")
    else:
        console.print(f"watch [bold]{escape(watch.name)}[/] is awake")
