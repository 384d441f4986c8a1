"""Feeds through the streaming engine pass after pass, its clock moved forward between passes: what the feed
tests observe is what a pass leaves (the summary, the feed states and the articles in the index)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from ingest.feedlist import FeedSpec
from ingest.fetch import Fetcher
from ingest.pool import ExtractPool
from ingest.state import FeedState, load_states
from search.feedstate import EsFeedStateStore
from wirewatch.engine import EngineOptions, run_engine
from wirewatch.pipeline import ensure_indices
from wirewatch.runtime import PassTools, Runtime, build_runtime
from wirewatch.settings import load_settings
from wirewatch.summary import PassSummary


class EnginePasses:
    """``run`` is one pass of the engine over ``specs`` (the due ones unless ``only_due`` is False) at ``now``."""

    def __init__(self, rt: Runtime, tools: PassTools, specs: Sequence[FeedSpec], options: EngineOptions) -> None:
        self.rt, self.tools, self.specs, self.options = rt, tools, list(specs), options

    def run(self, now: datetime, *, only_due: bool = True, fatal: bool = False) -> PassSummary:
        summary = run_engine(self.rt, self.tools, self.specs, only_due=only_due, options=self.options, now=lambda: now)
        assert (summary.fatal is not None) == fatal, summary.fatal
        return summary

    def state(self, feed_id: str) -> FeedState:
        return load_states(EsFeedStateStore(self.rt.es, self.rt.names), [feed_id])[feed_id]

    def committed(self, feed_id: str) -> bool:
        return feed_id in EsFeedStateStore(self.rt.es, self.rt.names).load([feed_id])

    def articles(self) -> list[dict[str, Any]]:
        es, index = self.rt.es, self.rt.names.articles
        es.indices.refresh(index=index)
        hits = es.search(index=index, size=1000, query={"match_all": {}})["hits"]["hits"]
        return [hit["_source"] for hit in hits]


@contextmanager
def engine_passes(
    es_url: str,
    tmp_path: Path,
    specs: Sequence[FeedSpec],
    *,
    fetcher: Fetcher,
    pool: ExtractPool,
    prefix: str | None = None,
    **options: Any,
) -> Iterator[EnginePasses]:
    """Passes over ``specs`` in indices under ``prefix`` (a fresh one, deleted at the end, when None), NER off,
    alerts to a file; ``options`` override the ``EngineOptions``."""
    own = prefix is None
    prefix = prefix or f"t{uuid.uuid4().hex[:10]}-"
    settings = load_settings(
        es_url=es_url, es_index_prefix=prefix, ner_enabled=False, places_enabled=False,
        alerts_file=tmp_path / "alerts.jsonl",
    )  # fmt: skip
    rt = build_runtime(settings)
    try:
        ensure_indices(rt)
        with rt.tagger(ner=False) as tagger:
            tools = PassTools(fetcher=fetcher, pool=pool, tagger=tagger)
            yield EnginePasses(rt, tools, specs, EngineOptions.from_settings(settings, **options))
    finally:
        if own:
            _drop(rt.es, prefix)
        rt.es.close()


def _drop(es: Elasticsearch, prefix: str) -> None:
    es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
