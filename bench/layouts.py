"""Page layouts of the benchmark corpus: four kinds of news site, each with its own boilerplate.

Real extraction cost depends on the markup around the text as much as on the text, so the layouts differ the
way real sites do: a semantic broadsheet, a div-soup portal with ads, share bars and reader comments, a
bare wire-service page with table navigation, and a blog theme with sidebar widgets. All text is escaped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from html import escape

LAYOUTS = ("broadsheet", "portal", "wire", "blog")


@dataclass(frozen=True, kw_only=True)
class PageParts:
    """What a layout needs to render one article page."""

    url: str
    site: str
    title: str
    author: str
    published: str  # ISO 8601
    paragraphs: tuple[str, ...]
    related: tuple[str, ...]


def render_page(layout: str, parts: PageParts, rng: random.Random) -> str:
    body = {"broadsheet": _broadsheet, "portal": _portal, "wire": _wire, "blog": _blog}[layout](parts, rng)
    meta = [
        f'<meta charset="utf-8"><title>{escape(parts.title)} | {escape(parts.site)}</title>',
        f'<link rel="canonical" href="{escape(parts.url, quote=True)}">',
        f'<meta property="og:title" content="{escape(parts.title, quote=True)}">',
        f'<meta property="og:site_name" content="{escape(parts.site, quote=True)}">',
        f'<meta name="author" content="{escape(parts.author, quote=True)}">',
    ]
    if layout != "wire":  # the wire pages carry their date only in the feed, like many real ones
        meta.append(f'<meta property="article:published_time" content="{parts.published}">')
    scripts = "".join(
        f"<script>window.__cfg{i}={{site:'{i}',ads:[{','.join(str(rng.randint(1, 999)) for _ in range(12))}]}};"
        "</script>"
        for i in range(rng.randint(1, 4))
    )
    return (
        f'<!DOCTYPE html><html lang="en"><head>{"".join(meta)}{scripts}'
        f"<style>body{{font-family:serif}}.ad{{height:250px}}</style></head><body>{body}</body></html>"
    )


def _paras(parts: PageParts) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in parts.paragraphs)


def _nav(rng: random.Random) -> str:
    sections = ["World", "Africa", "Middle East", "Politics", "Business", "Sport", "Culture", "Opinion"]
    rng.shuffle(sections)
    # a mega-menu: real navigation is dozens of links, and the extractor has to walk past all of them
    menus = "".join(
        f'<li><a href="/{s.lower()}/">{s}</a><ul class="sub">'
        + "".join(f'<li><a href="/{s.lower()}/{k}/">{s} {k}</a></li>' for k in range(rng.randint(5, 10)))
        + "</ul></li>"
        for s in sections
    )
    return f'<nav class="menu"><ul>{menus}</ul></nav>'


def _related(parts: PageParts) -> str:
    items = "".join(f'<li><a href="/related/{i}.html">{escape(t)}</a></li>' for i, t in enumerate(parts.related))
    return f'<aside class="related"><h3>Related stories</h3><ul>{items}</ul></aside>'


def _footer(site: str) -> str:
    return (
        f"<footer><p>&copy; 2024 {escape(site)}. All rights reserved.</p>"
        '<p><a href="/privacy">Privacy policy</a> | <a href="/terms">Terms of use</a> | '
        '<a href="/contact">Contact us</a></p></footer>'
    )


def _broadsheet(parts: PageParts, rng: random.Random) -> str:
    return (
        f'<header><div class="logo">{escape(parts.site)}</div>{_nav(rng)}</header><main><article>'
        f"<h1>{escape(parts.title)}</h1>"
        f'<p class="byline">By <span class="author">{escape(parts.author)}</span> · '
        f'<time datetime="{parts.published}">{parts.published[:10]}</time></p>'
        f'<div class="article-body">{_paras(parts)}</div></article>{_related(parts)}</main>{_footer(parts.site)}'
    )


def _portal(parts: PageParts, rng: random.Random) -> str:
    paragraphs = [f'<div class="para"><p>{escape(p)}</p></div>' for p in parts.paragraphs]
    for at in sorted(rng.sample(range(1, max(2, len(paragraphs))), min(2, max(0, len(paragraphs) - 1))), reverse=True):
        paragraphs.insert(at, '<div class="ad"><span>Advertisement</span><iframe src="/ads/slot"></iframe></div>')
    comments = "".join(
        f'<div class="comment"><b>reader{rng.randint(1, 9999)}</b><p>{escape(c)}</p></div>'
        for c in rng.sample(
            [
                "Great reporting.",
                "Who is paying for all this?",
                "Stay safe out there.",
                "This has to stop.",
                "The government knew for months.",
                "Thanks for covering the region.",
            ],
            3,
        )
    )
    return (
        '<div id="cookie-banner">We use cookies to improve your experience. <button>Accept all cookies</button></div>'
        f'<div class="top"><div class="brand">{escape(parts.site)}</div>{_nav(rng)}</div>'
        f'<div class="wrap"><div class="col-main"><div class="headline"><h1>{escape(parts.title)}</h1></div>'
        f'<div class="meta">{escape(parts.author)} | {parts.published[:16].replace("T", " ")}</div>'
        '<div class="share">Share on Facebook · Share on X · Email</div>'
        f'<div class="story-body">{"".join(paragraphs)}</div>'
        f'<div id="comments"><h4>Comments</h4>{comments}</div></div>'
        f'<div class="col-side"><h4>Most read</h4>{_related(parts)}</div></div>{_footer(parts.site)}'
    )


def _wire(parts: PageParts, rng: random.Random) -> str:
    dateline = f"{escape(parts.site.upper())} ({parts.published[:10]}) - "
    first, *rest = parts.paragraphs
    body = f"<p>{dateline}{escape(first)}</p>" + "".join(f"<p>{escape(p)}</p>" for p in rest)
    links = "".join(f'<td><a href="/wire/{i}">Desk {i}</a></td>' for i in range(1, rng.randint(4, 9)))
    return (
        f'<table class="nav"><tr>{links}</tr></table><div id="content"><h2>{escape(parts.title)}</h2>'
        f"{body}<p>(Reporting by {escape(parts.author)}; editing by the desk)</p></div>{_footer(parts.site)}"
    )


def _blog(parts: PageParts, rng: random.Random) -> str:
    tags = "".join(
        f'<a class="tag" href="/tag/{t}">{t}</a> '
        for t in rng.sample(["sahel", "security", "libya", "somalia", "elections", "aid", "borders", "analysis"], 4)
    )
    return (
        f'<div class="site-header"><h1 class="site-title">{escape(parts.site)}</h1>{_nav(rng)}</div>'
        f'<div class="content-area"><div class="post"><h2 class="entry-title">{escape(parts.title)}</h2>'
        f'<div class="entry-meta">Posted on {parts.published[:10]} by {escape(parts.author)}</div>'
        f'<div class="entry-content">{_paras(parts)}</div><div class="entry-footer">Tags: {tags}</div></div>'
        '<div class="widget-area"><section class="widget"><h3>Get the newsletter</h3>'
        '<form><input type="email" placeholder="Your email"><button>Subscribe</button></form></section>'
        f'<section class="widget"><h3>Archives</h3>{_related(parts)}</section></div></div>{_footer(parts.site)}'
    )
