"""``wirewatch feeds import FILE.opml`` and ``wirewatch feeds export [-o FILE]``: the feed list to and from OPML,
as Miniflux, FreshRSS and other readers write it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click
import yaml
from rich.markup import escape

from wirewatch.cli.common import console, fail, print_json, settings_from
from wirewatch.settings import Settings, masked_url


def _rows(settings: Settings) -> list[dict[str, Any]]:
    """The feed list's rows as written (validated first: an import never builds on a broken list)."""
    from ingest.errors import FeedListError
    from ingest.feedlist import load_feed_list

    path = settings.feeds_file
    if not path.exists():
        return []
    try:
        load_feed_list(path, base_url=settings.feeds_base_url or "http://base.invalid")
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (FeedListError, OSError, yaml.YAMLError) as exc:
        fail(str(exc), hint="fix the feed list (WIREWATCH_FEEDS_FILE) first")
    return [dict(row) for row in data.get("feeds", [])]


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """The list rewritten whole (a temporary file renamed: never half a list); the old one kept as ``.bak``."""
    text = yaml.safe_dump({"feeds": rows}, sort_keys=False, allow_unicode=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    if path.exists():
        path.with_name(path.name + ".bak").write_bytes(path.read_bytes())
    os.replace(tmp, path)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would be added; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def import_cmd(ctx: click.Context, file: Path, dry_run: bool, as_json: bool) -> None:
    """Add the feeds of an OPML file (Miniflux, FreshRSS...) to the feed list. Categories become tags;
    feeds already listed and unusable URLs are reported, not added."""
    from ingest.opml import OpmlError, feed_id, read_opml
    from ingest.urls import InvalidURLError, canonical_url

    settings = settings_from(ctx)
    rows = _rows(settings)
    known: dict[str, str] = {}
    for listed in rows:
        try:
            known[canonical_url(str(listed["url"]).replace("{base}", "http://base.invalid"))] = str(listed["id"])
        except InvalidURLError:
            continue
    try:
        read = read_opml(file.read_bytes(), known_urls=known)
    except OpmlError as exc:
        fail(f"{file}: {exc}", hint="export the OPML again from the reader, or check the file is the right one")
    taken = {str(listed["id"]) for listed in rows}
    added = []
    for feed in read.feeds:
        row: dict[str, Any] = {"id": feed_id(feed, taken), "url": feed.url}
        if feed.title:
            row["name"] = feed.title
        if feed.categories:
            row["tags"] = list(feed.categories)
        if feed.html_url:
            row["html_url"] = feed.html_url
        added.append(row)
    if added and not dry_run:
        _write_rows(settings.feeds_file, rows + added)
    report = {"file": str(file), "feeds_file": str(settings.feeds_file), "dry_run": dry_run,
              "added": [{"id": r["id"], "url": masked_url(r["url"])} for r in added],
              "duplicates": read.duplicates, "invalid": read.invalid}  # fmt: skip
    if as_json:
        print_json(report)
        return
    verb = "would add" if dry_run else "added"
    console.print(f"{verb} {len(added)} feed(s) to {escape(str(settings.feeds_file))}", highlight=False)
    for item in read.duplicates:
        console.print(f"  duplicate, line {item['line']}: {escape(masked_url(item['url']))} "
                      f"(already {escape(str(item['same_as']))})", highlight=False)  # fmt: skip
    for item in read.invalid:
        console.print(f"  invalid, line {item['line']}: {escape(masked_url(item['url']))}: "
                      f"{escape(str(item['reason']))}", highlight=False)  # fmt: skip


@click.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
@click.pass_context
def export_cmd(ctx: click.Context, output: Path | None) -> None:
    """Write the feed list as OPML 2.0 (tags as nested categories), for another reader to import."""
    from ingest.opml import write_opml

    settings = settings_from(ctx)
    rows = _rows(settings)
    if settings.feeds_base_url:
        for row in rows:
            row["url"] = str(row["url"]).replace("{base}", settings.feeds_base_url.rstrip("/"))
    text = write_opml(rows)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {len(rows)} feed(s) to {escape(str(output))}", highlight=False)
