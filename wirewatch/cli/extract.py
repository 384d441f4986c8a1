"""``wirewatch extract PATH_OR_URL... [--json]``: clean text and metadata from pages on disk or on the web.

URLs go through the same safe fetcher as ingestion (the ``http_*`` settings: timeouts, size cap, address
guard, robots.txt); extraction runs in the same process pool with its per-page deadline.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.panel import Panel

from wirewatch.cli.common import console, err_console, print_json, runtime_from

if TYPE_CHECKING:
    from ingest.extract import Article, PageInput
    from wirewatch.runtime import Runtime


@click.command("extract")
@click.argument("inputs", nargs=-1, required=True, metavar="PATH_OR_URL...")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input, one per line.")
@click.option("--min-chars", type=int, default=None, help="Skip pages with less text (default: extract_min_chars).")
@click.pass_context
def cli(ctx: click.Context, inputs: tuple[str, ...], as_json: bool, min_chars: int | None) -> None:
    """Extract the article text, title, author, date and language of each HTML file or http(s) URL."""
    rt = runtime_from(ctx)
    limit = rt.settings.extract_min_chars if min_chars is None else min_chars
    pages, errors = _load_inputs(list(inputs), rt, limit)
    outcomes = {}
    if pages:
        with rt.extract_pool(max_workers=len(pages)) as pool:
            outcomes = dict(zip(pages, pool.run(list(pages.values())), strict=True))
    failed = 0
    for item in inputs:
        outcome = outcomes.get(item)
        reason = errors.get(item) or (outcome.error or outcome.skipped if outcome else None)
        if outcome is not None and outcome.article is not None:
            _show(item, outcome.article, as_json)
        else:
            failed += 1
            _show_failure(item, reason or "no article", as_json)
    if failed:
        sys.exit(1)


def _load_inputs(inputs: list[str], rt: Runtime, min_chars: int) -> tuple[dict[str, PageInput], dict[str, str]]:
    """Read files and fetch URLs; returns the pages to extract and, per input that failed, why."""
    from ingest.charset import decode_html
    from ingest.errors import FetchError
    from ingest.extract import PageInput

    now = datetime.now(UTC)
    pages: dict[str, PageInput] = {}
    errors: dict[str, str] = {}
    with rt.fetcher() as fetcher:
        for item in dict.fromkeys(inputs):
            if "://" in item or item.startswith(("javascript:", "data:")):
                try:
                    result = fetcher.fetch(item, kind="page")
                except FetchError as exc:
                    errors[item] = exc.reason
                    continue
                html, _ = decode_html(result.body, result.charset)
                pages[item] = PageInput(html=html, url=result.url, source="cli", fetched_at=now, min_chars=min_chars)
            else:
                try:
                    body = Path(item).read_bytes()[: rt.settings.http_max_bytes]
                except OSError as exc:
                    errors[item] = f"cannot read file: {exc.strerror or exc}"
                    continue
                html, _ = decode_html(body, None)
                # A file has no URL: a stand-in on localhost, unless the page names its canonical URL.
                url = Path(item).resolve().as_uri().replace("file://", "http://localhost", 1)
                pages[item] = PageInput(
                    html=html, url=url, source="cli", fetched_at=now, min_chars=min_chars, trust_page_canonical=True
                )
    return pages, errors


def _as_dict(item: str, article: Article) -> dict[str, Any]:
    return {
        "input": item,
        "id": article.id,
        "title": article.title,
        "author": article.author,
        "published_at": article.published_at.isoformat() if article.published_at else None,
        "date_source": article.date_source,
        "date_set_aside": list(article.date_set_aside),
        "language": article.language,
        "site_name": article.site_name,
        "description": article.description,
        "url": article.url,
        "canonical_url": article.canonical_url,
        "content_hash": article.content_hash,
        "extraction_method": article.extraction_method,
        "text": article.text,
    }


def _show(item: str, article: Article, as_json: bool) -> None:
    if as_json:
        print_json(_as_dict(item, article))
        return
    published = article.published_at.isoformat() if article.published_at else "unknown"
    header = (
        f"[bold]{article.title or '(no title)'}[/]\n"
        f"by {article.author or 'unknown'} · {published} ({article.date_source}) · language {article.language or '?'}"
        f" · {len(article.text)} characters\n[dim]{article.canonical_url}[/]"
    )
    preview = article.text[:600] + ("…" if len(article.text) > 600 else "")
    console.print(Panel(f"{header}\n\n{preview}", title=item, title_align="left"), highlight=False)


def _show_failure(item: str, reason: str, as_json: bool) -> None:
    if as_json:
        print_json({"input": item, "error": reason})
        return
    err_console.print(f"[bold red]{item}:[/] {reason}", highlight=False)
    if "loopback" in reason or "private" in reason:
        err_console.print(
            "[dim]hint:[/] set WIREWATCH_HTTP_ALLOW_LOOPBACK=true to fetch from this machine (tests, demo)"
        )
    elif "disallowed by robots.txt" in reason:
        err_console.print(
            "[dim]hint:[/] the site asks bots not to fetch this page; WIREWATCH_HTTP_RESPECT_ROBOTS=false overrides"
        )
