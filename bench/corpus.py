"""The benchmark corpus: N feeds x M articles, generated without network, deterministic by seed.

Every article is a full HTML page in one of four layouts (``bench/layouts.py``) with 300-2,000 words of prose
from ``bench/textbank.py``; a known share of them name one or two tracked groups (surface forms taken from the
watchlist: names, aliases, case-sensitive acronyms). Even feeds are RSS 2.0, odd ones Atom. ``site_files``
renders everything for a base URL; ``bench/server.py`` serves it on loopback.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path

import yaml

from bench.layouts import LAYOUTS, PageParts, render_page
from bench.textbank import PEOPLE, article_paragraphs, headline
from enrich.watchlist import Watchlist, load_watchlist

ROOT = Path(__file__).resolve().parent.parent
WATCHLIST = ROOT / "enrich" / "data" / "watchlist.yaml"
SITES = ("The Sahel Observer", "Desert Wire", "Horn Daily", "Lake Chad Monitor", "Maghreb Post", "Levant Desk")
EPOCH = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class CorpusSpec:
    feeds: int
    per_feed: int
    seed: int = 20240301
    mention_share: float = 0.3  # share of articles naming at least one tracked group
    min_words: int = 300
    max_words: int = 2000

    @property
    def articles(self) -> int:
        return self.feeds * self.per_feed

    def scaled(self, feeds: int) -> CorpusSpec:
        """The same corpus with only its first ``feeds`` feeds (its articles are identical)."""
        return CorpusSpec(
            feeds=feeds,
            per_feed=self.per_feed,
            seed=self.seed,
            mention_share=self.mention_share,
            min_words=self.min_words,
            max_words=self.max_words,
        )


SIZES = {
    "tiny": CorpusSpec(feeds=4, per_feed=5),  # the tests
    "quick": CorpusSpec(feeds=8, per_feed=30),  # 240 articles; scaling at 60/120/240
    "full": CorpusSpec(feeds=48, per_feed=105),  # 5,040 articles; scaling at 1,260/2,520/5,040
}


@dataclass(frozen=True, kw_only=True)
class GeneratedArticle:
    feed: int
    index: int
    path: str
    layout: str
    site: str
    title: str
    author: str
    published: datetime
    paragraphs: tuple[str, ...]
    group_ids: tuple[str, ...]  # the tracked groups named in the text
    surface_forms: tuple[str, ...]

    @property
    def words(self) -> int:
        return sum(len(p.split()) for p in self.paragraphs)


@dataclass(frozen=True)
class Corpus:
    spec: CorpusSpec
    articles: tuple[GeneratedArticle, ...]

    def feed_articles(self, feed: int) -> list[GeneratedArticle]:
        return [a for a in self.articles if a.feed == feed]

    def stats(self) -> dict[str, float | int]:
        words = [a.words for a in self.articles]
        return {
            "articles": len(self.articles),
            "feeds": self.spec.feeds,
            "words_mean": round(sum(words) / len(words)),
            "words_min": min(words),
            "words_max": max(words),
            "with_group_mentions": sum(1 for a in self.articles if a.group_ids),
        }


def group_forms(watchlist: Watchlist) -> dict[str, tuple[str, ...]]:
    """Surface forms a text may use for each group (never the ambiguous ones, which need a second form)."""
    return {g.id: (g.name, *g.aliases, *g.case_sensitive) for g in watchlist}


def make_article(spec: CorpusSpec, feed: int, index: int, forms: dict[str, tuple[str, ...]]) -> GeneratedArticle:
    rng = random.Random(f"{spec.seed}:{feed}:{index}")  # a str seed is hashed stably (not PYTHONHASHSEED)
    groups: list[str] = []
    if rng.random() < spec.mention_share:
        groups = rng.sample(sorted(forms), rng.choice((1, 1, 2)))
    chosen = tuple(rng.choice(forms[g]) for g in groups)
    words = int(rng.triangular(spec.min_words, spec.max_words, spec.min_words * 2))
    paragraphs = article_paragraphs(rng, words, chosen)
    title = headline(rng, chosen[0] if chosen else None)
    return GeneratedArticle(
        feed=feed,
        index=index,
        path=f"/f{feed:03d}/2024/{index:04d}-{_slug(title)}.html",
        layout=LAYOUTS[(feed + index) % len(LAYOUTS)],
        site=SITES[feed % len(SITES)],
        title=title,
        author=rng.choice(PEOPLE),
        published=EPOCH + timedelta(hours=feed, minutes=17 * index),
        paragraphs=tuple(paragraphs),
        group_ids=tuple(groups),
        surface_forms=chosen,
    )


def make_corpus(spec: CorpusSpec, *, watchlist: Watchlist | None = None, progress: object = None) -> Corpus:
    """Every article of ``spec``; ``progress`` (a callable taking a count) is told after each feed."""
    forms = group_forms(watchlist or load_watchlist(WATCHLIST))
    articles: list[GeneratedArticle] = []
    for feed in range(spec.feeds):
        articles.extend(make_article(spec, feed, i, forms) for i in range(spec.per_feed))
        if callable(progress):
            progress(spec.per_feed)
    return Corpus(spec, tuple(articles))


def _slug(title: str) -> str:
    # ASCII only: a group name such as "Al-Qaïda" must not put a percent-encoded byte in the URL path
    return "-".join("".join(c for c in w.lower() if c.isascii() and c.isalnum()) for w in title.split()[:6])


# --- rendering ------------------------------------------------------------------------------------------
def feed_path(feed: int) -> str:
    return f"/feeds/f{feed:03d}.{'rss' if feed % 2 == 0 else 'atom'}.xml"


def page_html(article: GeneratedArticle, base_url: str) -> str:
    rng = random.Random(f"layout:{article.path}")
    related = tuple(headline(rng, None) for _ in range(rng.randint(3, 6)))
    parts = PageParts(
        url=base_url + article.path,
        site=article.site,
        title=article.title,
        author=article.author,
        published=article.published.isoformat(),
        paragraphs=article.paragraphs,
        related=related,
    )
    return render_page(article.layout, parts, rng)


def feed_xml(feed: int, articles: Sequence[GeneratedArticle], base_url: str) -> str:
    site = escape(SITES[feed % len(SITES)])
    newest_first = sorted(articles, key=lambda a: a.published, reverse=True)
    if feed % 2 == 0:
        items = "".join(
            f"<item><title>{escape(a.title)}</title><link>{base_url}{a.path}</link>"
            f'<guid isPermaLink="true">{base_url}{a.path}</guid>'
            f"<pubDate>{a.published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate>"
            f"<description>{escape(a.paragraphs[0][:200])}</description></item>"
            for a in newest_first
        )
        return (
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{site}</title>'
            f"<link>{base_url}/</link><description>News from {site}</description>{items}</channel></rss>"
        )
    entries = "".join(
        f'<entry><title>{escape(a.title)}</title><link rel="alternate" href="{base_url}{a.path}"/>'
        f"<id>{base_url}{a.path}</id><updated>{a.published.isoformat()}</updated>"
        f"<summary>{escape(a.paragraphs[0][:200])}</summary></entry>"
        for a in newest_first
    )
    updated = newest_first[0].published.isoformat() if newest_first else EPOCH.isoformat()
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{site}</title>'
        f"<id>{base_url}{feed_path(feed)}</id><updated>{updated}</updated>{entries}</feed>"
    )


def site_files(corpus: Corpus, base_url: str) -> dict[str, tuple[bytes, str]]:
    """URL path -> (body, content type) for every page and feed, plus a robots.txt that allows all."""
    files: dict[str, tuple[bytes, str]] = {"/robots.txt": (b"User-agent: *\nAllow: /\n", "text/plain")}
    for feed in range(corpus.spec.feeds):
        ctype = "application/rss+xml" if feed % 2 == 0 else "application/atom+xml"
        xml = feed_xml(feed, corpus.feed_articles(feed), base_url)
        files[feed_path(feed)] = (xml.encode("utf-8"), ctype + "; charset=utf-8")
    for article in corpus.articles:
        files[article.path] = (page_html(article, base_url).encode("utf-8"), "text/html; charset=utf-8")
    return files


def write_feed_list(path: Path, feeds: int, *, prefix: str = "bench") -> Path:
    """A feed list (``{base}`` URLs) of the first ``feeds`` feeds, for ``feeds_file`` + ``feeds_base_url``."""
    entries = [
        {"id": f"{prefix}-f{i:03d}", "name": SITES[i % len(SITES)], "url": "{base}" + feed_path(i), "interval_s": 60}
        for i in range(feeds)
    ]
    path.write_text(yaml.safe_dump({"feeds": entries}, sort_keys=False), encoding="utf-8")
    return path
