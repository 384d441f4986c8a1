"""One article: metadata, the text with mentions highlighted, the original link, copies, the alerts it raised."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

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


@router.get("/articles/{article_id}", include_in_schema=False)
def article_page(article_id: str, request: Request, user: User = VIEWER, ctx: WebContext = CTX) -> Response:
    doc = _load(ctx, article_id)
    return ctx.page(
        request, "article.html", doc=doc, text=annotated_text(doc), kinds=MENTION_KINDS,
        copies=backend.same_content(ctx.es, ctx.names, doc),
        alerts=backend.alerts_for_article(ctx.es, ctx.names, article_id),
    )  # fmt: skip


@router.get("/api/v1/articles/{article_id}", summary="One article", tags=["articles"], responses=ok(Article))
def article_api(article_id: str, user: User = VIEWER, ctx: WebContext = CTX) -> dict[str, Any]:
    """The stored article document (docs/article-document.md), with `copies` (same content from other
    sources) and `alerts` (the alert documents it raised)."""
    doc = _load(ctx, article_id)
    return {
        **doc,
        "copies": backend.same_content(ctx.es, ctx.names, doc),
        "alerts": backend.alerts_for_article(ctx.es, ctx.names, article_id),
    }
