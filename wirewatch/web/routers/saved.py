"""Saved searches, per user: a name for a search's query string."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, Field

from wirewatch.web.context import CTX, WebContext
from wirewatch.web.routers.search import STATE_KEYS
from wirewatch.web.schemas import Deleted, SavedSearch, ok
from wirewatch.web.security import ANALYST, VIEWER
from wirewatch.web.store import User

router = APIRouter()


def clean_params(params: str) -> str:
    """Only the search state keys of a query string (no cursor, nothing else), re-encoded."""
    return urlencode([(k, v) for k, v in parse_qsl(params.lstrip("?"), keep_blank_values=False) if k in STATE_KEYS])


@router.get("/saved", include_in_schema=False)
def saved_page(request: Request, user: User = VIEWER, ctx: WebContext = CTX) -> Response:
    return ctx.page(request, "saved.html", rows=ctx.store.saved_searches(user.username))


@router.post("/saved", include_in_schema=False)
def save_form(
    name: str = Form(...),
    params: str = Form(""),
    user: User = ANALYST,
    ctx: WebContext = CTX,
) -> Response:
    ctx.store.save_search(user.username, name, clean_params(params))
    return RedirectResponse("/saved", status_code=303)


@router.post("/saved/delete", include_in_schema=False)
def delete_form(saved_id: str = Form(...), user: User = ANALYST, ctx: WebContext = CTX) -> Response:
    ctx.store.delete_saved(user.username, saved_id)
    return RedirectResponse("/saved", status_code=303)


class SavedIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    params: str = Field("", max_length=4000, description="The search's query string, e.g. q=Belmokhtar&group=aqim")


@router.get(
    "/api/v1/saved-searches", summary="Your saved searches", tags=["saved searches"], responses=ok(list[SavedSearch])
)
def list_api(user: User = VIEWER, ctx: WebContext = CTX) -> list[dict[str, Any]]:
    """`[{"id", "username", "name", "params", "created_at"}]`; `params` is the query string of /api/v1/search."""
    return ctx.store.saved_searches(user.username)


@router.post(
    "/api/v1/saved-searches",
    summary="Save a search",
    tags=["saved searches"],
    status_code=201,
    responses=ok(SavedSearch, 201),
)
def save_api(body: SavedIn, user: User = ANALYST, ctx: WebContext = CTX) -> Any:
    """Saves (or replaces, by name) a search for the calling user."""
    return ctx.store.save_search(user.username, body.name, clean_params(body.params))


@router.delete(
    "/api/v1/saved-searches/{saved_id}", summary="Delete a saved search", tags=["saved searches"], responses=ok(Deleted)
)
def delete_api(saved_id: str, user: User = ANALYST, ctx: WebContext = CTX) -> Any:
    if not ctx.store.delete_saved(user.username, saved_id):
        raise HTTPException(404, "no saved search with that id")
    return {"deleted": saved_id}
