"""The benchmark's corpus generator and site server, and the keys of a (very small) real benchmark run.

Timings are never asserted: only that the corpus is what it claims to be and that a run reports every figure.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx
from rich.console import Console

from bench.__main__ import run_benchmark
from bench.corpus import SIZES, WATCHLIST, CorpusSpec, feed_path, make_corpus, site_files
from bench.server import CorpusServer
from enrich.tagger import Tagger
from enrich.watchlist import load_watchlist
from ingest.extract import PageInput, extract_article

BASE = "http://127.0.0.1:8999"


def test_the_corpus_is_deterministic_and_within_its_bounds() -> None:
    spec = SIZES["tiny"]
    first, second = make_corpus(spec), make_corpus(spec)
    assert first == second
    assert len(first.articles) == spec.feeds * spec.per_feed == first.stats()["articles"]
    assert len({a.path for a in first.articles}) == len(first.articles)
    full = make_corpus(SIZES["quick"])
    assert all(a.path.isascii() for a in full.articles)  # non-ASCII slugs were served as 404s
    assert {a.layout for a in first.articles} == {"broadsheet", "portal", "wire", "blog"}
    for article in first.articles:
        # the last sentence may overshoot the drawn length a little; mentions swap sentences
        assert 280 <= article.words <= 2100, article.words
    other = make_corpus(CorpusSpec(feeds=spec.feeds, per_feed=spec.per_feed, seed=spec.seed + 1))
    assert [a.paragraphs for a in other.articles] != [a.paragraphs for a in first.articles]
    assert SIZES["full"].articles >= 5000


def test_group_labels_are_exactly_what_the_gazetteer_finds_in_the_extracted_text() -> None:
    spec = CorpusSpec(feeds=4, per_feed=15, mention_share=0.5)
    corpus = make_corpus(spec)
    files = site_files(corpus, BASE)
    tagger = Tagger(watchlist=load_watchlist(WATCHLIST), ner=False)
    now = datetime.now(UTC)
    with_mentions = 0
    for article in corpus.articles:
        html = files[article.path][0].decode("utf-8")
        page = extract_article(PageInput(html=html, url=BASE + article.path, source="t", fetched_at=now))
        assert page.canonical_url == BASE + article.path
        assert page.title == article.title
        found = {g.id for g in tagger.tag_groups([page.text])[0].groups}
        assert found == set(article.group_ids), (article.path, article.surface_forms)
        with_mentions += bool(article.group_ids)
    assert with_mentions == corpus.stats()["with_group_mentions"]
    assert 0.3 * len(corpus.articles) <= with_mentions <= 0.7 * len(corpus.articles)


def test_the_server_serves_feeds_and_pages_and_records_webhooks(tmp_path: Path) -> None:
    spec = SIZES["tiny"]
    with CorpusServer(spec, tmp_path / "receipts.jsonl") as server, httpx.Client() as client:
        for feed in (0, 1):  # one RSS, one Atom
            parsed = feedparser.parse(io.BytesIO(client.get(server.base_url + feed_path(feed)).content))
            assert parsed.version in ("rss20", "atom10") and len(parsed.entries) == spec.per_feed
            page = client.get(parsed.entries[0].link)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert client.get(server.base_url + "/nowhere").status_code == 404
        assert client.post(server.hook_url, content=b"{}", headers={"Idempotency-Key": "a1"}).status_code == 200
        assert set(server.receipts()) == {"a1"}
        server.clear_receipts()
        assert server.receipts() == {}


def test_a_tiny_run_reports_every_figure(es_url: str, tmp_path: Path) -> None:
    out = tmp_path / "latest.json"
    spec = CorpusSpec(feeds=4, per_feed=2, mention_share=1.0)
    console = Console(file=io.StringIO(), width=120)
    results = run_benchmark(spec, size="test", es_url=es_url, workers=1, out=out, console=console)
    assert json.loads(out.read_text(encoding="utf-8")) == results
    for key in (
        "articles_per_s",
        "limit_articles_per_s",
        "fraction_of_limit",
        "naive_articles_per_s",
        "speedup_vs_naive",
        "peak_rss_mb",
        "alert_latency_p50_s",
        "alert_latency_p95_s",
        "alert_latency_from_fetch_p95_s",
    ):
        assert isinstance(results[key], float) and results[key] > 0, key
    assert results["corpus_articles"] == 8
    assert set(results["stage_cpu_s_per_article"]) >= {"fetch", "extract", "tag", "index", "match"}
    assert set(results["scaling"]) == {"1x", "2x", "4x"}
    assert results["scaling_articles"] == {"1x": 2, "2x": 4, "4x": 8}
    assert results["main_pass"]["alerts_created"] >= 8 and results["main_pass"]["failures"] == 0
    for order in ("gazetteer_first", "ner_first"):
        assert results["alert_latency"][order]["alerts_delivered"] >= 2
    assert results["machine"]["cores"] >= 1 and results["machine"]["cpu_model"]
    by_process = results["cpu"]["by_process_s_per_article"]
    assert set(by_process) == {"main", "extraction", "ner"}, by_process
    # with one worker NER runs in the main process (no NER processes); extraction always has its own
    assert by_process["main"] > 0 and by_process["extraction"] > 0 and by_process["ner"] == 0.0, by_process
    top = results["ceilings"]  # the limit's work plus the node's on every core
    assert top["articles_per_s"] > 0 and top["fraction_of_limit"] <= 1.0 and top["speedup_vs_naive"] > 0
    targets = {"fraction_of_limit", "speedup_vs_naive", "peak_rss_mb", "alert_latency_from_fetch_p95_s"}
    assert set(results["targets"]) == targets
    assert "Wirewatch benchmark" in console.file.getvalue()  # type: ignore[attr-defined]
