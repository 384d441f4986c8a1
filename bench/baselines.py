"""The two reference points a pass is compared with, measured in the same run.

- **The limit**: the CPU seconds that extraction plus tagging (gazetteer, language, NER) cost per article,
  measured alone in this one process on pages already in memory; ``cores / that`` is the most articles per
  second the machine could push through the unavoidable work, with perfect parallelism and free I/O.
- **The naive baseline**: one process doing, per article, what a first script would: an HTTP GET,
  ``trafilatura.extract``, the full spaCy pipeline ``nlp(text)`` and one ``es.index`` call.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from elasticsearch import Elasticsearch

from enrich.tagger import Tagger
from enrich.watchlist import Watchlist
from ingest.errors import ExtractionError
from ingest.extract import PageInput, extract_article

Tick = Callable[[int], None]


@dataclass(frozen=True, kw_only=True)
class LimitResult:
    articles: int
    extract_cpu_s_per_article: float
    tag_cpu_s_per_article: float
    cores: int

    @property
    def cpu_s_per_article(self) -> float:
        return self.extract_cpu_s_per_article + self.tag_cpu_s_per_article

    @property
    def articles_per_s(self) -> float:
        return self.cores / self.cpu_s_per_article


@dataclass(frozen=True, kw_only=True)
class NaiveResult:
    articles: int
    wall_s: float
    cpu_s: float  # this process only: the loop's own work (Elasticsearch excluded, as for the pass)

    @property
    def articles_per_s(self) -> float:
        return self.articles / self.wall_s


def download(urls: Sequence[str], tick: Tick = lambda n: None) -> list[tuple[str, str]]:
    """(url, html) of every page, fetched before any clock starts."""
    pages = []
    with httpx.Client(timeout=30) as client:
        for url in urls:
            response = client.get(url)
            response.raise_for_status()
            pages.append((url, response.text))
            tick(1)
    return pages


def measure_limit(
    pages: Sequence[tuple[str, str]],
    *,
    watchlist: Watchlist,
    model: str,
    batch_size: int,
    cores: int,
    tick: Tick = lambda n: None,
) -> LimitResult:
    """CPU of extraction and of tagging per article, in this process (``time.process_time``)."""
    import trafilatura  # noqa: F401  (imported before the clock, as the pipeline's workers do)

    now = datetime.now(UTC)
    texts: list[str] = []
    began = time.process_time()
    for url, html in pages:
        with contextlib.suppress(ExtractionError):  # a page that yields nothing still cost its extraction
            texts.append(extract_article(PageInput(html=html, url=url, source="limit", fetched_at=now)).text)
        tick(1)
    extract_cpu = time.process_time() - began
    tagger = Tagger(watchlist=watchlist, model=model, batch_size=batch_size, workers=1)
    tagger.warm_up()
    began = time.process_time()
    for start in range(0, len(texts), batch_size):
        tagger.tag(texts[start : start + batch_size])
        tick(min(batch_size, len(texts) - start))
    tag_cpu = time.process_time() - began
    n = len(pages)
    return LimitResult(
        articles=n,
        extract_cpu_s_per_article=extract_cpu / n,
        tag_cpu_s_per_article=tag_cpu / max(1, len(texts)),
        cores=cores,
    )


def measure_naive(
    urls: Sequence[str], *, es: Elasticsearch, index: str, model: str, tick: Tick = lambda n: None
) -> NaiveResult:
    """Wall time of the one-article-at-a-time loop (model load and index creation excluded)."""
    import spacy
    import trafilatura

    nlp = spacy.load(model)  # the full pipeline: tagger, parser, lemmatizer, NER...
    nlp("warm up")
    es.indices.create(index=index)
    began, began_cpu = time.perf_counter(), time.process_time()
    for url in urls:
        html = httpx.get(url, timeout=30).text
        text = trafilatura.extract(html, url=url) or ""
        doc = nlp(text)
        entities = [{"text": ent.text, "label": ent.label_} for ent in doc.ents]
        es.index(index=index, document={"url": url, "text": text, "entities": entities})
        tick(1)
    return NaiveResult(articles=len(urls), wall_s=time.perf_counter() - began, cpu_s=time.process_time() - began_cpu)
