"""One article: metadata, the text with mentions highlighted, the original link, copies, the reports of its story
in other languages, the alerts it raised."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from search.stories import other_language_reports
from wirewatch.web import backend
from wirewatch.web.context import CTX, WebContext
from wirewatch.web.render import MENTION_KINDS, annotated_text
from wirewatch.web.schemas import Article, ok
from wirewatch.web.security import VIEWER
from wirewatch.web.store import User

router = APIRouter()


def _load(ctx: WebContext, article_id: str) -> dict[str, Any]:
    doc = backend.get_article(ctx.es, ctx.names, article_id)
    if doc is None:
        raise HTTPException(404, f"no article with id {article_id!r}")
    return doc


def _other_languages(ctx: WebContext, doc: dict[str, Any]) -> list[dict[str, Any]]:
    story_id = doc.get("story_id")
    return other_language_reports(ctx.es, ctx.names, story_id, doc.get("language")) if story_id else []


@router.get("/articles/{article_id}", include_in_schema=False)
def article_page(article_id: str, request: Request, user: User = VIEWER, ctx: WebContext = CTX) -> Response:
    doc = _load(ctx, article_id)
    return ctx.page(
        request, "article.html", doc=doc, text=annotated_text(doc), kinds=MENTION_KINDS,
        copies=backend.same_content(ctx.es, ctx.names, doc), other_languages=_other_languages(ctx, doc),
        alerts=backend.alerts_for_article(ctx.es, ctx.names, article_id),
    )  # fmt: skip


@router.get("/api/v1/articles/{article_id}", summary="One article", tags=["articles"], responses=ok(Article))
def article_api(article_id: str, user: User = VIEWER, ctx: WebContext = CTX) -> dict[str, Any]:
    """The stored article document (docs/article-document.md), with `copies` (same content from other
    sources), `other_languages` (the reports of its story in other languages: id, title, url, source, language,
    published_at) and `alerts` (the alert documents it raised)."""
    doc = _load(ctx, article_id)
    return {
        **doc,
        "copies": backend.same_content(ctx.es, ctx.names, doc),
        "other_languages": _other_languages(ctx, doc),
        "alerts": backend.alerts_for_article(ctx.es, ctx.names, article_id),
    }
