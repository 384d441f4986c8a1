"""Tags and story signatures made in the extraction processes (``wirewatch.early``), on real worker processes:
the same result as the writer would make itself, and a failing step costs the article nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from enrich.stories import encode_signature, signature
from enrich.tagger import Tagger
from enrich.watchlist import load_watchlist
from ingest.extract import Article, PageInput
from ingest.pool import ExtractPool
from seeds.server import render
from wirewatch.early import Early, EarlyTagging

ROOT = Path(__file__).resolve().parent.parent
WATCHLIST = load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml")
BASE = "http://news.example.org"


def _seed_page() -> PageInput:
    html = render("article.html", BASE).decode("utf-8")
    return PageInput(html=html, url=BASE + "/news/story.html", source="test", fetched_at=datetime.now(UTC))


class BrokenStep:
    """An ``after`` step with a bug."""

    def __call__(self, article: Article) -> object:
        raise RuntimeError("a bug in the step")


def test_the_extraction_process_tags_and_signs_as_the_writer_would() -> None:
    with ExtractPool(workers=1, deadline_s=30, after=EarlyTagging(WATCHLIST)) as pool:
        (outcome,) = pool.run([_seed_page()])
    article, early = outcome.article, outcome.extra
    assert article is not None and isinstance(early, Early)
    here = Tagger(watchlist=WATCHLIST, ner=False).tag_groups([article.text], [article.language])[0]
    assert early.tags == here
    assert {g.id for g in early.tags.groups} >= {"islamic-state", "al-qaeda"}
    assert early.signature == encode_signature(signature(article.text))


def test_a_failing_step_leaves_the_article_for_the_writer() -> None:
    with ExtractPool(workers=1, deadline_s=30, after=BrokenStep()) as pool:
        (outcome,) = pool.run([_seed_page()])
    assert outcome.article is not None and outcome.error is None
    assert outcome.extra is None  # the writer tags and signs this one itself
