"""Stories in the pass: enrich's clustering over search's stored band keys (the two stages meet here).

``story_fields_for`` assigns a story to each article of a batch before it is indexed: the clustering asks
Elasticsearch for earlier articles sharing a band key, and the returned fields go into each article document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from enrich.stories import StoryStore
    from ingest.extract import Article
    from search.names import IndexNames


def story_fields_for(
    es: Elasticsearch,
    names: IndexNames,
    articles: Sequence[Article],
    signatures: Mapping[str, bytes] | None = None,
    *,
    refresh: bool = True,
    unsearchable: StoryStore | None = None,
) -> dict[str, dict[str, Any]]:
    """{article id: story fields of the article document} for ``articles`` (first seen: published, else
    fetched); ``signatures`` are MinHash signatures already made (by article id); ``refresh=False`` when the
    caller made earlier writes searchable itself, or holds the ones a search may not show yet in
    ``unsearchable`` (consulted beside the index)."""
    from enrich.stories import CombinedStore, NewArticle, assign_stories
    from search.stories import EsStoryStore, story_fields

    signatures = signatures or {}
    batch = [
        NewArticle(id=a.id, text=a.text, seen_at=a.published_at or a.fetched_at, signature=signatures.get(a.id))
        for a in articles
    ]
    store: StoryStore = EsStoryStore(es, names, refresh=refresh)
    if unsearchable is not None:
        store = CombinedStore(store, unsearchable)
    assigned = assign_stories(batch, store)
    return {a.article_id: story_fields(a.story_id, a.story_first_seen, a.band_keys, a.signature) for a in assigned}
