"""``ReportInput`` records from Wirewatch's documents: an alert with its article, or an article (a story).

The documents' shapes are the contracts of docs/article-document.md and docs/data-model.md; a field that is
missing or of the wrong type (a hostile or old document) is read as absent, never trusted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from enrich.watchlist import Watchlist
from notify.model import HIGHLIGHT_END, HIGHLIGHT_START
from wirewatch.stix.objects import GroupRef, ReportInput
from wirewatch.stix.places import places_from_article

__all__ = ["from_alert", "from_article", "group_refs"]

_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")  # what RFC 5646 allows of what we store (en, fr, ar)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _language(article: Mapping[str, Any]) -> str | None:
    value = _text(article.get("language"))
    return value if _LANGUAGE.fullmatch(value) else None


def _names(article: Mapping[str, Any], kind: str) -> tuple[str, ...]:
    values = (article.get("entity_names") or {}).get(kind) or ()
    return tuple(v for v in values if isinstance(v, str)) if isinstance(values, list) else ()


def group_refs(ids_and_names: list[tuple[str, str]], watchlist: Watchlist) -> tuple[GroupRef, ...]:
    """Each group from the watchlist when it is there (aliases, Wikidata id), else by its id and name."""
    refs: dict[str, GroupRef] = {}
    for group_id, name in ids_and_names:
        if not group_id or group_id in refs:
            continue
        tracked = watchlist.get(group_id)
        refs[group_id] = GroupRef.of(tracked) if tracked else GroupRef(id=group_id, name=name or group_id)
    return tuple(refs.values())


def _article_groups(article: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    for group in article.get("groups") or ():
        if isinstance(group, Mapping) and isinstance(group.get("id"), str):
            out.append((group["id"], _text(group.get("name"))))
    return out


def _plain(passage: str) -> str:
    return passage.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")


def from_alert(alert: Mapping[str, Any], article: Mapping[str, Any] | None, watchlist: Watchlist) -> ReportInput:
    """The report of an alert: its watch's group first, then every tracked group its article names."""
    article = article or {}
    group = alert.get("group") if isinstance(alert.get("group"), Mapping) else None
    named = [(group["id"], _text(group.get("name")))] if group and isinstance(group.get("id"), str) else []
    seen = [s for s in alert.get("also_seen") or () if isinstance(s, Mapping)]
    times = [t for s in seen if (t := _text(s.get("seen_at")))]
    created = _text(alert.get("created_at"))
    return ReportInput(
        key=f"alert:{alert['id']}", title=_text(alert.get("title")) or _text(article.get("title")),
        url=_text(alert.get("url")), source=_text(alert.get("source")) or None,
        published=_text(alert.get("published_at")) or None, language=_language(article),
        created=created, modified=max([created, *times]), description=_plain(_text(alert.get("passage"))),
        groups=group_refs(named + _article_groups(article), watchlist), places=tuple(places_from_article(article)),
        people=_names(article, "person"), organisations=_names(article, "org"), also_seen=tuple(seen),
    )  # fmt: skip


def from_article(article: Mapping[str, Any], watchlist: Watchlist) -> ReportInput:
    """The report of a story found by a search: keyed by its story id, so each story is one report."""
    story = _text(article.get("story_id")) or str(article["id"])
    created = _text(article.get("indexed_at")) or _text(article.get("fetched_at"))
    created = created or _text(article.get("published_at"))
    description = _text(article.get("description"))
    return ReportInput(
        key=f"story:{story}", title=_text(article.get("title")), url=_text(article.get("url")),
        source=_text(article.get("source")) or None, published=_text(article.get("published_at")) or None,
        language=_language(article), created=created or "1970-01-01T00:00:00+00:00",
        description=description, groups=group_refs(_article_groups(article), watchlist),
        places=tuple(places_from_article(article)), people=_names(article, "person"),
        organisations=_names(article, "org"),
    )  # fmt: skip
