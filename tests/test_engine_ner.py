"""NER in the engine with the real model, the real node and a real site: several consumers share a queue too
small for the pass, the overflow is read back from the index, and every article gets its entities once; the
NER processes run at a lower CPU priority than the rest of the pass."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.support.flow import feed_list, page, rss, serve
from tests.support.ingest_servers import FaultServer
from tests.test_engine_flow import make_runtime
from wirewatch.engine import run_engine
from wirewatch.engine.options import EngineOptions
from wirewatch.pipeline import ensure_indices
from wirewatch.runtime import Runtime

ARTICLES = 20
PEOPLE = ("Khalifa Haftar", "Fayez al-Sarraj", "Ghassan Salame", "Aguila Saleh", "Abdul Hamid Dbeibah")


def story(n: int) -> str:
    person = PEOPLE[n % len(PEOPLE)]
    return (
        f"Report {n}: {person} met officials in Tripoli on day {n} to discuss the harbour of Benghazi. "
        f"The talks in Misrata were the {n}th round this year, the United Nations said. " * 4
    )


@pytest.fixture()
def site() -> Iterator[FaultServer]:
    with FaultServer() as server:
        items = [(f"Report {n}", server.url(f"/{n}.html")) for n in range(ARTICLES)]
        server.routes["/feed.xml"] = serve(rss(items), "application/rss+xml")
        for n in range(ARTICLES):
            server.routes[f"/{n}.html"] = serve(page(f"Report {n}", story(n)), "text/html")
        yield server


@pytest.fixture()
def ner_rt(es_url: str, index_prefix: str, site: FaultServer, receiver_url: str, tmp_path: Path) -> Iterator[Runtime]:
    feeds = feed_list(tmp_path / "feeds.yaml", {"reports": site.url("/feed.xml")})
    rt = make_runtime(
        es_url, index_prefix, feeds, receiver_url, tmp_path, ner_enabled=True, ner_workers=2, ner_batch_size=2
    )
    ensure_indices(rt)
    yield rt
    rt.es.close()


@pytest.fixture()
def receiver_url() -> str:
    return "http://127.0.0.1:9/unused"  # no watch matches these stories: nothing is delivered


@pytest.mark.slow
def test_consumers_tag_an_overflowing_pass_once_each(ner_rt: Runtime) -> None:
    rt = ner_rt
    # a queue of 4 for 20 articles: most of them overflow and are read back from the index
    options = EngineOptions.from_settings(rt.settings, ner_queue=4)
    assert options.ner_batch == 2 and options.ner_consumers == 3
    with rt.tools() as tools:
        summary = run_engine(rt, tools, rt.feeds(), only_due=False, options=options)
    assert summary.entries["indexed"] == ARTICLES, summary.to_dict()
    # each article's entities written once: no consumer tagged an article another had in hand
    assert summary.entities_added == ARTICLES and summary.failures == []
    rt.es.indices.refresh(index=rt.names.articles)
    docs = [h["_source"] for h in rt.es.search(index=rt.names.articles, size=50)["hits"]["hits"]]
    assert len(docs) == ARTICLES and all(d["ner_done"] for d in docs)
    people = {e["canonical"] for d in docs for e in d["entities"] if e["type"] == "PERSON"}
    assert "Khalifa Haftar" in people


@pytest.mark.slow
def test_ner_processes_yield_the_cpu_to_the_rest_of_the_pass(ner_rt: Runtime) -> None:
    base = os.nice(0)
    with ner_rt.tools() as tools:
        tools.tagger.warm_up()
        children = psutil.Process().children(recursive=True)
        nice = sorted(c.nice() for c in children if c.is_running())
    # the two NER processes run at the settings' offset; the extraction processes keep the pass's priority
    assert nice.count(base + ner_rt.settings.ner_nice) == 2, nice
    assert ner_rt.settings.ner_nice == 10
