"""Matching under a node that sheds search load: a real HTTP proxy in front of the real node answers 429 to the
searches of one watch inside each ``_msearch`` (tests/support/proxy.py). The other watch still alerts on every
article as it lands, only the refused searches are retried, the health line says matching is refused, what
waits in memory for the matcher and the writer's story lookup stays bounded, and once the node accepts again
the next pass's reconcile raises the alerts that were refused (the checkpoint never moved past them)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from search.alerting.watches import add_query_watch
from tests.support.alerting import Receiver
from tests.support.flow import feed_list, page, rss, serve
from tests.support.ingest_servers import FaultServer
from tests.support.proxy import MsearchRefusingProxy
from tests.test_engine_flow import make_runtime
from wirewatch.engine.core import Engine
from wirewatch.engine.options import EngineOptions
from wirewatch.engine.passes import run_engine
from wirewatch.pipeline import ensure_indices, run_pass

RSS = "application/rss+xml"
_WORDS = (
    "tanker tugboat grain store fire strike crane driver fuel spill ferry quay pier collapse customs officer cargo "
    "container manifest inspection dredging channel lighthouse beacon storm surge mooring anchor vessel captain crew "
    "salary dispute minister visit budget tender contract warehouse forklift diesel generator outage schedule delay "
    "fishermen catch market price auction boat engine repair insurance claim court hearing witness statement police"
)
VOCABULARY = _WORDS.split(" ")


def _text(n: int) -> str:
    """A text of its own (no two articles are one story), naming the harbour and Zanzibar."""
    rng = random.Random(n)
    sentences = [" ".join(rng.choice(VOCABULARY) for _ in range(14)).capitalize() + "." for _ in range(12)]
    sentences.insert(3, "The harbour of Zanzibar was named in the report.")
    return " ".join(sentences)


SENTENCES = [_text(n) for n in range(6)]


def passage_of_blocked(body: dict[str, Any]) -> bool:
    """The passage search of the watch on 'zanzibar' (not the named search that asks which watches match)."""
    text = json.dumps(body)
    return "zanzibar" in text.lower() and '"_name"' not in text


@pytest.fixture()
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        links = [(f"Port news {n}", server.url(f"/p{n}.html")) for n in range(len(SENTENCES))]
        server.routes["/feed.xml"] = serve(rss(links), RSS)
        for n, sentence in enumerate(SENTENCES):
            server.routes[f"/p{n}.html"] = serve(page(f"Port news {n}", sentence), "text/html")
        yield server


@pytest.fixture()
def proxy(es_url: str) -> Iterator[MsearchRefusingProxy]:
    server = MsearchRefusingProxy(es_url, refuse=passage_of_blocked)
    yield server
    server.stop()


def _alerts(es: Elasticsearch, index: str, watch: str) -> int:
    es.indices.refresh(index=index)
    return int(es.count(index=index, query={"term": {"watch.name": watch}})["count"])


def test_one_refused_watch_does_not_hold_back_the_others_and_is_alerted_once_the_node_accepts(
    es: Elasticsearch, index_prefix: str, site: FaultServer, proxy: MsearchRefusingProxy, receiver: Receiver,
    tmp_path: Path,
) -> None:  # fmt: skip
    feeds = feed_list(tmp_path / "feeds.yaml", {"port": site.url("/feed.xml")})
    rt = make_runtime(proxy.url, index_prefix, feeds, receiver.url, tmp_path, es_outage_patience_s=20)
    ensure_indices(rt)
    for name, query in (("open", "harbour"), ("blocked", "zanzibar")):
        add_query_watch(rt.es, rt.names, name, query, channels=["hook"])
    lines: list[str] = []
    proxy.refusing.set()
    try:
        with rt.tools() as tools:
            first = run_pass(rt, tools, on_progress=lambda p: lines.append(p.line()))
            assert proxy.refused > 0
            # the watch the node would search was alerted on every article, though the other was refused
            assert _alerts(es, rt.names.alerts, "open") == len(SENTENCES), first.to_dict()
            assert _alerts(es, rt.names.alerts, "blocked") == 0
            assert any("MATCHING REFUSED" in line for line in lines), lines[-3:]
            assert first.fatal is None and first.exit_status == 3
            assert any("refused matching" in f.reason and f.transient for f in first.failures), first.failures
            proxy.refusing.clear()
            second = run_pass(rt, tools)  # nothing new to poll: its reconcile matches what was refused
        assert _alerts(es, rt.names.alerts, "blocked") == len(SENTENCES), second.to_dict()
        assert _alerts(es, rt.names.alerts, "open") == len(SENTENCES)
    finally:
        rt.es.close()


def test_what_waits_for_a_refused_or_held_matcher_is_bounded(
    es: Elasticsearch, es_url: str, index_prefix: str, receiver: Receiver, tmp_path: Path
) -> None:
    feeds = feed_list(tmp_path / "feeds.yaml", {})
    rt = make_runtime(es_url, index_prefix, feeds, receiver.url, tmp_path)
    ensure_indices(rt)
    opts = EngineOptions.from_settings(rt.settings, match_waiting_max=50)
    try:
        with rt.tools() as tools:
            engine = Engine(rt, tools, options=opts)
            for batch in range(20):  # the matcher thread is not running: as when it is held by an outage
                engine.matcher.enqueue([f"a{batch}-{n}" for n in range(10)])
            refused, left = engine.matcher.held_back()
            assert (refused, left) == (0, 150)  # 50 kept for the matcher, the rest left to the reconcile
            line = engine.snapshot().line()
            assert "150 left to the reconcile" in line, line
    finally:
        rt.es.close()


def test_the_writers_story_store_stays_bounded_while_the_matcher_is_held(
    es: Elasticsearch, index_prefix: str, site: FaultServer, proxy: MsearchRefusingProxy, receiver: Receiver,
    tmp_path: Path,
) -> None:  # fmt: skip
    """The matcher refreshes the index after each write; held by a node refusing every ``_msearch`` (429), it
    does not, and the writer's in-memory story store would keep every article written meanwhile."""
    feeds = feed_list(tmp_path / "feeds.yaml", {"port": site.url("/feed.xml")})
    rt = make_runtime(proxy.url, index_prefix, feeds, receiver.url, tmp_path, es_outage_patience_s=3, es_max_retries=0)
    ensure_indices(rt)
    add_query_watch(rt.es, rt.names, "open", "harbour", channels=["hook"])
    opts = EngineOptions.from_settings(rt.settings, unsearchable_max=2, flush_docs=1, fetch_ahead=1)
    stored: list[int] = []
    proxy.whole_request = True
    proxy.refusing.set()
    try:
        with rt.tools() as tools:
            summary = run_engine(
                rt, tools, rt.feeds(), options=opts, on_progress=lambda p: stored.append(p.unsearchable)
            )
    finally:
        rt.es.close()
    assert proxy.msearches > 0
    assert summary.entries["indexed"] == len(SENTENCES)  # written while matching was held
    # never more than the bound and the one write over it that makes the writer refresh
    assert max(stored) <= 2 + 1, stored
