"""Stories end to end: three sites publish the seed story under other layouts and headlines; one pass over
their feeds (real loopback site, real node, real webhook receiver) makes one story with three sources and one
alert per tracked group, delivered once, with the two later copies in the alert's ``also_seen``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from search.stories import story_summaries
from tests.support.alerting import Receiver, sent_alert_ids
from tests.support.stories_site import StoriesSite
from wirewatch.pipeline import run_pass
from wirewatch.runtime import Runtime, build_runtime
from wirewatch.settings import load_settings

PUBLISHED = [datetime(2018, 2, 23, 9, 30, tzinfo=UTC) + timedelta(hours=h) for h in (0, 2, 5)]


@pytest.fixture()
def site() -> Iterator[StoriesSite]:
    with StoriesSite(PUBLISHED) as running:
        yield running


def _runtime(
    es_url: str, prefix: str, site: StoriesSite, receiver: Receiver, tmp: Path, batching: dict[str, Any]
) -> Runtime:
    feeds = tmp / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"feeds": site.feeds}))
    channels = tmp / "channels.yaml"
    channels.write_text(yaml.safe_dump({"channels": [{"name": "hook", "type": "webhook", "url": receiver.url}]}))
    settings = load_settings(
        es_url=es_url, es_index_prefix=prefix, feeds_file=feeds, channels_file=channels,
        http_allow_loopback=True, delivery_allow_loopback=True, http_respect_robots=False,
        extract_workers=1, ner_enabled=False, delivery_backoff_s=0.01, **batching,
    )  # fmt: skip
    return build_runtime(settings)


@pytest.mark.slow
# the engine's bulk writer: one article per micro-batch, or all three in one (it waits 2 s to fill it)
@pytest.mark.parametrize(
    "batching",
    [{"es_bulk_chunk_docs": 1}, {"engine_flush_age_s": 2.0}, {"engine_flush_age_s": 2.0, "extract_early_tags": True}],
    ids=["copies-in-later-batches", "copies-in-one-batch", "tags-and-signatures-made-in-extraction"],
)
def test_three_copies_make_one_story_and_one_alert_per_group(
    es_url: str, index_prefix: str, site: StoriesSite, receiver: Receiver, tmp_path: Path, batching: dict[str, Any]
) -> None:
    if "es_bulk_chunk_docs" in batching:
        # the copies are written in the order they arrive; the server makes that the order of publication, so
        # the first-published copy is also the first written and names the story (fetches run in parallel)
        site.page_delays = {1: 0.6, 2: 1.2}
    rt = _runtime(es_url, index_prefix, site, receiver, tmp_path, batching)
    try:
        with rt.tools(ner=False) as tools:
            summary = run_pass(rt, tools).to_dict()
            assert summary["entries"]["indexed"] == 3, summary

            rt.es.indices.refresh(index=rt.names.articles)
            docs = [h["_source"] for h in rt.es.search(index=rt.names.articles, size=10)["hits"]["hits"]]
            assert len({d["story_id"] for d in docs}) == 1
            first = next(d for d in docs if d["source"] == "site0")
            assert docs[0]["story_id"] == first["id"]  # the first-published copy names the story
            story = story_summaries(rt.es, rt.names, [first["id"]])[first["id"]]
            assert story.copies == 3 and sorted(story.sources) == ["site0", "site1", "site2"]

            alerts = [h["_source"] for h in rt.es.search(index=rt.names.alerts, size=20)["hits"]["hits"]]
            assert sorted(a["group"]["id"] for a in alerts) == ["al-qaeda", "islamic-state"]
            for alert in alerts:
                assert alert["story_id"] == first["id"] and alert["article_id"] == first["id"]
                assert sorted(s["source"] for s in alert["also_seen"]) == ["site1", "site2"]
                assert all(s["url"].startswith(site.base) and s["seen_at"] for s in alert["also_seen"])
            # one message for the story, listing both groups' alerts, each delivered once
            assert len(receiver.requests) == 1
            assert sent_alert_ids(receiver.requests) == {a["id"]: 1 for a in alerts}

            again = run_pass(rt, tools, only_due=False).to_dict()  # re-matching the overlap changes nothing
            assert again["alerts"].get("created", 0) == 0 and len(receiver.requests) == 1
    finally:
        rt.es.close()
