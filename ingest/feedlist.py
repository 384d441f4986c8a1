"""The YAML feed list: one ``FeedSpec`` per feed, every mistake one line naming the file, the feed and the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ingest.errors import FeedListError
from ingest.urls import InvalidURLError, canonical_url

__all__ = ["FeedSpec", "load_feed_list"]


@dataclass(frozen=True, kw_only=True)
class FeedSpec:
    """One feed of the feed list."""

    id: str
    url: str
    name: str | None = None
    interval_s: int = 900
    tags: tuple[str, ...] = ()



def load_feed_list(path: Path | str, *, base_url: str | None = None, default_interval_s: int = 900) -> list[FeedSpec]:
    """Read the YAML feed list (``feeds: [{id, url, name?, interval_s?, tags?}]``).

    A ``{base}`` in a URL is replaced by ``base_url`` (the seed server's address, for the demo feeds).
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise FeedListError(f"cannot read feed list {path}: {exc}") from exc
    rows = data.get("feeds") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise FeedListError(f"feed list {path} must be a mapping with a 'feeds' list")
    specs = [_spec(row, base_url, default_interval_s, path) for row in rows]
    ids = [s.id for s in specs]
    if len(set(ids)) != len(ids):
        raise FeedListError(f"feed list {path} repeats a feed id: {sorted({i for i in ids if ids.count(i) > 1})}")
    return specs


def _spec(row: Any, base_url: str | None, default_interval_s: int, path: Path | str) -> FeedSpec:
    if not isinstance(row, dict) or not row.get("id") or not row.get("url"):
        raise FeedListError(f"feed list {path}: every feed needs an id and a url, got {row!r}")
    url = str(row["url"])
    if "{base}" in url:
        if not base_url:
            raise FeedListError(
                f"feed list {path}: feed {row['id']!r}: field 'url' uses {{base}}: give a base_url (the seed server)"
            )
        url = url.replace("{base}", base_url.rstrip("/"))
    try:
        canonical_url(url)
    except InvalidURLError as exc:
        raise FeedListError(f"feed list {path}: feed {row['id']!r}: field 'url': {exc}") from exc
    return FeedSpec(
        id=str(row["id"]),
        url=url,
        name=row.get("name"),
        interval_s=_interval(row, default_interval_s, path),
        tags=_tags(row, path),
    )


def _interval(row: dict[str, Any], default_interval_s: int, path: Path | str) -> int:
    # YAML gives whatever was written: a bare int() would end the run in a traceback that names no feed
    value = row.get("interval_s") or default_interval_s
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or int(text) < 1:
        where = f"feed list {path}: feed {row['id']!r}: field 'interval_s'"
        raise FeedListError(f"{where} must be a whole number of seconds (1 or more), got {value!r}")
    return int(text)


def _tags(row: dict[str, Any], path: Path | str) -> tuple[str, ...]:
    value = row.get("tags") or ()
    if isinstance(value, str) or not isinstance(value, list | tuple) or not all(isinstance(t, str) for t in value):
        where = f"feed list {path}: feed {row['id']!r}: field 'tags'"
        raise FeedListError(f"{where} must be a list of words, got {value!r}")
    return tuple(value)
