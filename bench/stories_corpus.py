"""A corpus for story clustering: wire stories, their copies, and other stories on the same events.

Each base story (prose from ``bench/textbank.py``) gets copies the way syndication makes them:

- ``copy``      the same text on another site, in another page layout;
- ``headline``  another headline and a rewritten first sentence;
- ``trimmed``   the ending cut (the last 20-40 % of the paragraphs);
- ``added``     a paragraph of local reaction inserted, and an editor's note at the end;
- ``edited``    copy-editing: a few sentences replaced, house style ("said" -> "told reporters").

and, as hard negatives, ``other`` stories on the same event: new prose that reuses two of the base's
paragraphs (its opening background and one more, a quote), from other sites. These must stay apart.

Every variant is rendered as a full page in one of the bench layouts and extracted with the project's own
extractor, so the texts compared carry whatever boilerplate extraction lets through, as in production.
The textbank's sentences come from a dozen templates, so unrelated stories share many word n-grams too:
a harder setting than real prose for the negatives.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bench.layouts import LAYOUTS, PageParts, render_page
from bench.textbank import PEOPLE, article_paragraphs, headline, sentence
from ingest.extract import PageInput, extract_article

SITES = ("Desert Wire", "Sahel Observer", "Horn Daily", "Lake Chad Monitor", "Maghreb Post", "Levant Desk")
VARIANTS = ("copy", "headline", "trimmed", "added", "edited")
EPOCH = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)
_STYLE = ((" said ", " told reporters "), (" on Monday", " Monday"), (" people ", " residents "))


@dataclass(frozen=True, kw_only=True)
class CorpusArticle:
    id: str
    story: str  # the base story this article copies (the truth the clustering is scored against)
    variant: str  # "original", one of VARIANTS, or "other" (a different story on the same event)
    title: str
    text: str  # as extracted from the rendered page
    seen_at: datetime


def make_story_corpus(stories: int, *, others_per_story: float = 0.5, seed: int = 16) -> list[CorpusArticle]:
    """``stories`` base stories, each with its original and five copies; about ``others_per_story`` other
    stories on the same event per base. Deterministic for a seed."""
    out: list[CorpusArticle] = []
    for index in range(stories):
        rng = random.Random(f"{seed}:{index}")
        base = article_paragraphs(rng, int(rng.triangular(250, 900, 400)), ())
        title = headline(rng, None)
        seen = EPOCH + timedelta(hours=index)
        versions = [("original", title, base)] + [_variant(name, title, base, rng) for name in VARIANTS]
        for others in range(_count(rng, others_per_story)):
            fresh = article_paragraphs(rng, int(rng.triangular(250, 900, 400)), ())
            shared = [base[0], rng.choice(base[1:] or base)]  # background and a quote, reused as reporters do
            versions.append((f"other{others}", headline(rng, None), [shared[0], *fresh[:2], shared[1], *fresh[2:]]))
        for number, (variant, head, paragraphs) in enumerate(versions):
            story = f"s{index}" if not variant.startswith("other") else f"s{index}-{variant}"
            aid = f"a{index:04d}-{number}"
            text = _extracted(aid, head, paragraphs, rng)
            out.append(CorpusArticle(
                id=aid, story=story, variant="other" if variant.startswith("other") else variant,
                title=head, text=text, seen_at=seen + timedelta(minutes=rng.randint(0, 600)),
            ))  # fmt: skip
    return out


def _count(rng: random.Random, mean: float) -> int:
    whole = int(mean)
    return whole + (1 if rng.random() < mean - whole else 0)


def _variant(name: str, title: str, base: list[str], rng: random.Random) -> tuple[str, str, list[str]]:
    paragraphs = list(base)
    if name == "headline":
        first = paragraphs[0].split(". ", 1)
        paragraphs[0] = sentence(rng) + (" " + first[1] if len(first) > 1 else "")
        return name, headline(rng, None), paragraphs
    if name == "trimmed":
        keep = max(2, round(len(paragraphs) * rng.uniform(0.6, 0.8)))
        return name, title, paragraphs[:keep]
    if name == "added":
        local = " ".join(sentence(rng) for _ in range(rng.randint(3, 5)))
        paragraphs.insert(rng.randint(1, len(paragraphs)), local)
        paragraphs.append(f"This article was amended to add reaction from {rng.choice(PEOPLE)}.")
        return name, title, paragraphs
    if name == "edited":
        edited = []
        for paragraph in paragraphs:
            sentences = paragraph.split(". ")
            for at in range(len(sentences)):
                if rng.random() < 0.08:
                    sentences[at] = sentence(rng).rstrip(".")
            text = ". ".join(sentences)
            for old, new in _STYLE:
                text = text.replace(old, new)
            edited.append(text)
        return name, title, edited
    return name, title, paragraphs  # "copy": only the site and layout differ


def _extracted(aid: str, title: str, paragraphs: list[str], rng: random.Random) -> str:
    site = rng.choice(SITES)
    url = f"https://{site.lower().replace(' ', '')}.example/{aid}.html"
    parts = PageParts(
        url=url, site=site, title=title, author=rng.choice(PEOPLE), published=EPOCH.isoformat(),
        paragraphs=tuple(paragraphs), related=tuple(headline(rng, None) for _ in range(4)),
    )  # fmt: skip
    html = render_page(rng.choice(LAYOUTS), parts, rng)
    page = PageInput(html=html, url=url, source=site, fetched_at=EPOCH, min_chars=50)
    return extract_article(page).text


def truth_pairs(articles: list[CorpusArticle]) -> set[tuple[str, str]]:
    """Every pair of articles (ids, sorted) that copy the same story."""
    by_story: dict[str, list[str]] = {}
    for article in articles:
        by_story.setdefault(article.story, []).append(article.id)
    return {(a, b) for ids in by_story.values() for a in ids for b in ids if a < b}


def cluster_pairs(story_of: dict[str, str]) -> set[tuple[str, str]]:
    """Every pair of articles (ids, sorted) that a clustering put in the same story."""
    members: dict[str, list[str]] = {}
    for aid, story in story_of.items():
        members.setdefault(story, []).append(aid)
    return {(a, b) for ids in members.values() for a in ids for b in ids if a < b}
