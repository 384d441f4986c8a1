"""``wirewatch search QUERY``: full-text search over indexed articles, with filters, facets and paging.

QUERY syntax: words, "exact phrases", AND / OR / NOT (or +word / -word), prefix*, (grouping).
"""

from __future__ import annotations

import html
import re
import sys
from datetime import datetime
from typing import Any, NoReturn

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from search.querying.query import MAX_LIMIT
from wirewatch.cli.common import console, err_console, fail, print_json, runtime_from, search_errors

_SYNTAX_HINT = 'words, "exact phrases", AND / OR / NOT, +word / -word, prefix*, (grouping), fields (group:aqim lang:fr)'
_MARK = re.compile(r"(<em>.*?</em>)", re.DOTALL)


@click.command("search")
@click.argument("query", default="")
@click.option("--group", "groups", multiple=True, help="Tracked group id; repeat for any of several.")
@click.option(
    "--event-type",
    "event_types",
    multiple=True,
    help="Event type (attack, armed_clash, explosion_remote_violence, abduction, violence_against_civilians, "
    "arrest); repeat for any of several.",
)
@click.option("--entity", "entities", multiple=True, help="Entity name or TYPE:Name; repeat to require all.")
@click.option("--source", "sources", multiple=True, help="Feed id; repeat for any of several.")
@click.option("--place", "places", multiple=True, help="Place id (gn:2457163 is Gao, Mali); repeat for any.")
@click.option("--country", "countries", multiple=True, help="Country code of a place named (ML); repeat for any.")
@click.option("--near", default="", help='A place named within a distance of a place: "Gao 100km" (as near: in QUERY).')
@click.option("--bbox", default="", help="A place named inside a box: west,south,east,north in degrees (-5,10,5,20).")
@click.option("--since", help="Published since: 7d, 24h, 30m, 2w or a date (2024-05-01).")
@click.option("--until", help="Published until (inclusive): a date or datetime.")
@click.option("--lang", help="Language code, e.g. en.")
@click.option("--sort", type=click.Choice(["relevance", "newest"]), default="relevance", show_default=True)
@click.option("--limit", type=click.IntRange(1, MAX_LIMIT), default=20, show_default=True)
@click.option("--after", help="The cursor printed by the previous page.")
@click.option(
    "--no-collapse", "no_collapse", is_flag=True, help="List every copy of a story (default: one row per story)."
)
@click.option("--json", "as_json", is_flag=True, help='Print {"total", "stories", "hits", "facets", "next"}.')
@click.pass_context
def cli(
    ctx: click.Context,
    query: str,
    groups: tuple[str, ...],
    event_types: tuple[str, ...],
    entities: tuple[str, ...],
    sources: tuple[str, ...],
    places: tuple[str, ...],
    countries: tuple[str, ...],
    near: str,
    bbox: str,
    since: str | None,
    until: str | None,
    lang: str | None,
    sort: str,
    limit: int,
    after: str | None,
    no_collapse: bool,
    as_json: bool,
) -> None:
    """Search indexed articles; an empty QUERY lists them all (newest first with --sort newest).

    \b
    QUERY: words, "exact phrases", AND / OR / NOT (or +word / -word), prefix*, (grouping).
    Adjacent words must all match; words are stemmed, phrases are exact; near:Gao 100km keeps articles
    naming a place within 100 km of Gao. Examples:
      wirewatch search '"Islamic State" (Libya OR Sahel) -Syria' --since 7d --group isis
      wirewatch search 'attack near:Ménaka 150km' --bbox=-5,10,5,20
    """
    from search.errors import InvalidCursor, QuerySyntaxError
    from search.querying.query import SearchRequest, search_articles
    from wirewatch.fieldvalues import FieldValues, indexed_sources
    from wirewatch.groupnames import GroupNames
    from wirewatch.places import describe_place, locate_place

    _check_geo(near, bbox)

    rt = runtime_from(ctx)
    values = FieldValues(GroupNames.of(rt.watchlist()), lambda: indexed_sources(rt.es, rt.names))
    filters = {"group": groups, "event": event_types, "source": sources, "place": places, "country": countries,
               "entity": entities, "lang": (lang,) if lang else ()}  # fmt: skip
    names = values.groups
    request = SearchRequest(
        query=query,
        groups=groups,
        event_types=event_types,
        entities=[names.canonical_entity(e) for e in entities],
        sources=sources,
        places=places,
        countries=countries,
        near=near,
        bbox=bbox,
        locate=locate_place,
        describe_place=describe_place,
        resolve_group=values.groups.resolve,
        since=_when(since, "--since", end_of_day=False),
        until=_when(until, "--until", end_of_day=True),
        lang=lang,
        sort="newest" if sort == "newest" else "relevance",
        limit=limit,
        after=after,
        collapse=not no_collapse,
    )
    try:
        with search_errors(rt.settings.es_url_or_local):  # the generic handler, after the specific ones below
            try:
                values.check_query(query)
                _check_filters(values, filters)
                result = search_articles(rt.es, rt.names, request)
            except QuerySyntaxError as exc:
                _syntax_error(query, exc.position, exc.reason)
            except InvalidCursor as exc:
                fail(escape(str(exc)), hint="pass the cursor printed under the previous page, with the same --sort")
    finally:
        rt.close()
    if as_json:
        print_json(result.as_dict())
        return
    _print_result(result.as_dict(), sort)


# the query-language fields of the filter options
_OPTIONS = {"group": "--group", "event": "--event-type", "source": "--source", "place": "--place",
            "country": "--country", "entity": "--entity", "lang": "--lang"}  # fmt: skip


def _check_filters(values: Any, filters: dict[str, tuple[str, ...]]) -> None:
    """An unknown filter value names its option: "--group: unknown group 'aqmi': did you mean group:aqim?"."""
    found = values.check_filters({name: list(given) for name, given in filters.items() if given})
    if found:
        fail(f"{_OPTIONS[found[0]]}: {escape(found[1])}")


def _check_geo(near: str, bbox: str) -> None:
    """--near and --bbox errors say which option is wrong (a query error points into QUERY)."""
    from search.errors import QuerySyntaxError
    from search.querying.geo import near_filter, parse_bbox
    from wirewatch.places import locate_place

    try:
        if near.strip():
            near_filter(near, locate_place)
    except QuerySyntaxError as exc:
        fail(f"--near: {escape(exc.reason)}")
    try:
        if bbox.strip():
            parse_bbox(bbox)
    except ValueError as exc:
        fail(f"--bbox: {escape(str(exc))}")


def _when(text: str | None, option: str, *, end_of_day: bool) -> datetime | None:
    from search.querying.query import parse_when

    if text is None:
        return None
    try:
        return parse_when(text, end_of_day=end_of_day)
    except ValueError as exc:
        fail(f"{option}: {escape(str(exc))}")


def _syntax_error(query: str, position: int, reason: str) -> NoReturn:
    err_console.print(
        f"[bold red]error:[/] query syntax: {escape(reason)} (at character {position + 1})", highlight=False
    )
    err_console.print(f"  {escape(query)}\n  {' ' * position}^", highlight=False)
    err_console.print(f"[dim]hint:[/] {escape(_SYNTAX_HINT)}", highlight=False)
    sys.exit(2)


def marked(snippet: str) -> Text:
    """A highlighted snippet (HTML-escaped, matches in <em>) as rich text with the matches in bold."""
    text = Text()
    for part in _MARK.split(snippet):
        if part.startswith("<em>") and part.endswith("</em>"):
            text.append(html.unescape(part[4:-5]), style="bold yellow")
        elif part:
            text.append(html.unescape(part))
    return text


def _print_result(result: dict[str, Any], sort: str) -> None:
    stories = (
        f" in [bold]{result['stories']}[/] stor{'y' if result['stories'] == 1 else 'ies'}"
        if result["collapsed"]
        else ""
    )
    console.print(f"[bold]{result['total']}[/] matching article(s){stories}", highlight=False)
    if result["hits"]:
        table = Table("published", "source", "article", show_lines=True)
        for hit in result["hits"]:
            article = Text()
            article.append_text(marked(hit["title_highlight"] or html.escape(hit["title"] or "(no title)")))
            article.append(f"\n{hit['url']}", style="dim")
            if hit["groups"]:
                article.append(f"\ngroups: {', '.join(hit['groups'])}", style="cyan")
            for passage in hit["passages"]:
                article.append("\n… ")
                article.append_text(marked(passage))
                article.append(" …")
            _append_story(article, hit.get("story"))
            table.add_row((hit["published_at"] or "")[:10], hit["source"] or "", article)
        console.print(table)
    _print_facets(result["facets"])
    if result["next"]:
        console.print(f"next page: --after {result['next']} (same query and --sort {sort})", highlight=False)


def _append_story(article: Text, story: dict[str, Any] | None) -> None:
    """A collapsed row: "N sources, first seen ...", then the other matching copies (the row expanded)."""
    if not story:
        return
    sources = len(story["sources"])
    line = f"\nstory: {story['copies']} cop{'y' if story['copies'] == 1 else 'ies'}, {sources} source"
    line += "s" if sources != 1 else ""
    if len(story.get("languages") or ()) > 1:  # reports joined across languages
        line += f" in {', '.join(story['languages'])}"
    if story["first_seen"]:
        line += f", first seen {story['first_seen'][:16].replace('T', ' ')}"
    article.append(line, style="magenta")
    for copy in story["others"]:
        article.append(f"\n  also: {copy['source'] or ''} {copy['url'] or ''}", style="dim")


def _print_facets(facets: dict[str, Any]) -> None:
    def line(label: str, buckets: list[dict[str, Any]]) -> None:
        if buckets:
            shown = ", ".join(f"{escape(str(b['value']))} ({b['count']})" for b in buckets)
            console.print(f"[bold]{label}:[/] {shown}", highlight=False)

    line("groups", facets["groups"])
    line("languages", facets["languages"])
    line("events", facets["event_types"])
    line("sources", facets["sources"])
    for entity_type, buckets in facets["entities"].items():
        line(entity_type.lower(), buckets)
    dates = [b for b in facets["dates"]["buckets"] if b["count"]]
    if dates:
        shown = ", ".join(f"{b['date'][:10]} ({b['count']})" for b in dates)
        console.print(f"[bold]by {facets['dates']['interval']}:[/] {shown}", highlight=False)
