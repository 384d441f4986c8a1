"""Signing in and out, and the users page (admins)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from wirewatch.web.context import CTX, WebContext
from wirewatch.web.schemas import Me, UserRow, ok
from wirewatch.web.security import ADMIN, SESSION_COOKIE, VIEWER, csrf_only, new_client_id, safe_next, set_cookie
from wirewatch.web.store import ROLES, Role, User, WebStateError
from wirewatch.web.throttle import Busy, Ticket, retry_after

log = logging.getLogger("wirewatch.web")
router = APIRouter()


@router.get("/login", include_in_schema=False, dependencies=[Depends(csrf_only)])
def login_page(request: Request, next: str = "/", ctx: WebContext = CTX) -> Response:
    return ctx.page(request, "login.html", next=safe_next(next), failed=False)


@router.post("/login", include_in_schema=False, dependencies=[Depends(csrf_only)])
async def login(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    next: str = Form("/"),
    ctx: WebContext = CTX,
) -> Response:
    """Async on purpose: an attempt waiting for its turn to check a password waits on the event loop, not in
    a worker thread other users' requests need (``throttle.py``)."""
    name, client = username.strip(), request.client.host if request.client else "unknown"
    ticket = ctx.logins.admit(name, client)
    if not isinstance(ticket, Ticket):
        log.warning("sign-in throttled: user %r from %s, next attempt in %.0f s", name[:64], client, ticket)
        return _throttled(request, ctx, next, ticket)
    try:
        async with ctx.logins.checking():
            user = await run_in_threadpool(ctx.store.check_password, name, password)
    except Busy:
        log.warning("sign-in refused: too many password checks waiting (user %r from %s)", name[:64], client)
        return _throttled(request, ctx, next, 1.0)
    if user is None:
        ctx.logins.failed(ticket)
        log.info("sign-in failed: user %r from %s", name[:64], client)
        return ctx.page(request, "login.html", status_code=401, next=safe_next(next), failed=True)
    ctx.logins.succeeded(ticket)
    token = await run_in_threadpool(ctx.store.create_session, user, ctx.settings.web_session_hours)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_cookie(response, request, SESSION_COOKIE, token, max_age=int(ctx.settings.web_session_hours * 3600))
    new_client_id(request)  # with the new session, every CSRF token seen before signing in is worthless
    return response


def _throttled(request: Request, ctx: WebContext, next: str, wait_s: float) -> Response:
    seconds = retry_after(wait_s)
    return ctx.page(request, "login.html", status_code=429, headers={"Retry-After": seconds}, next=safe_next(next),
                    failed=False, wait=seconds)  # fmt: skip


@router.post("/logout", include_in_schema=False)
def logout(request: Request, user: User = VIEWER, ctx: WebContext = CTX) -> Response:
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        ctx.store.end_session(session)
    response = RedirectResponse("/login", status_code=303)
    # deleted with the flags it was set with (Path, HttpOnly, SameSite=Strict, Secure over https): the stock
    # deletion goes out as SameSite=Lax without Secure or HttpOnly, weaker than the cookie it replaces
    set_cookie(response, request, SESSION_COOKIE, "", max_age=0)
    return response


@router.get("/users", include_in_schema=False)
def users_page(request: Request, user: User = ADMIN, ctx: WebContext = CTX) -> Response:
    return ctx.page(request, "users.html", rows=ctx.store.list_users(), roles=ROLES, error=None)


@router.post("/users", include_in_schema=False)
def add_user_form(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    role: str = Form("viewer"),
    user: User = ADMIN,
    ctx: WebContext = CTX,
) -> Response:
    try:
        chosen: Role = role if role in ROLES else "viewer"  # type: ignore[assignment,unused-ignore]
        ctx.store.add_user(username.strip(), password, chosen)
    except WebStateError as exc:
        return ctx.page(request, "users.html", status_code=400, rows=ctx.store.list_users(), roles=ROLES,
                        error=str(exc))  # fmt: skip
    return RedirectResponse("/users", status_code=303)


@router.post("/users/remove", include_in_schema=False)
def remove_user_form(username: str = Form(...), user: User = ADMIN, ctx: WebContext = CTX) -> Response:
    ctx.store.remove_user(username)
    return RedirectResponse("/users", status_code=303)


@router.get("/api/v1/me", summary="Who you are", tags=["users"], responses=ok(Me))
def me(user: User = VIEWER) -> dict[str, Any]:
    return {"username": user.username, "role": user.role}


@router.get("/api/v1/users", summary="List users (admin)", tags=["users"], responses=ok(list[UserRow]))
def users_api(user: User = ADMIN, ctx: WebContext = CTX) -> list[dict[str, Any]]:
    return ctx.store.list_users()
