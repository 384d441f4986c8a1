"""Who is asking and may they: sessions, API tokens, CSRF and roles, as FastAPI dependencies.

Every route depends on ``require(role)`` (``tests/test_web_api.py`` checks that none is missing). It finds the
user (an ``Authorization: Bearer`` API token, else the session cookie; with ``web_auth`` off, the one local
admin a loopback-only server has), refuses a role too low, and on any state-changing method checks the CSRF
token unless the request came with an API token (a browser never sends those by itself) or is one another site cannot
make a browser send without a CORS preflight, which this app never grants (a JSON body, PUT, PATCH, DELETE).

CSRF uses a double-submit token: a random value in an HttpOnly, SameSite=Strict cookie that every form repeats
in a hidden field (or a script in the ``X-CSRF-Token`` header). Another site can make a browser send the cookie
but cannot read it to repeat it.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware

from wirewatch.web.store import Role, User

SESSION_COOKIE = "ww_session"
CSRF_COOKIE = "ww_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOCAL_ADMIN = User(username="local", role="admin")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class LoginRequired(Exception):
    """No valid session or token: a page sends the browser to the login form, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but the role does not allow this (or the CSRF token is missing or wrong)."""


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(
        name, value, max_age=max_age, httponly=True, secure=is_https(request), samesite="strict", path="/"
    )


class SecurityHeaders(BaseHTTPMiddleware):
    """Headers on every response, and the CSRF cookie for any browser that has none yet."""

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        existing = request.cookies.get(CSRF_COOKIE, "")
        request.state.csrf = existing if len(existing) >= 32 else secrets.token_urlsafe(32)
        started = time.perf_counter()
        response = await call_next(request)
        # the server's own time to the response headers, for the benchmark and the browser's devtools
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # article links must not leak analysts' queries
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        if request.state.csrf != existing:
            set_cookie(response, request, CSRF_COOKIE, request.state.csrf)
        return response


async def identify(request: Request) -> tuple[User | None, bool]:
    """(the user, whether they came with an API token) for this request."""
    ctx = request.app.state.ctx
    if not ctx.settings.web_auth:
        return LOCAL_ADMIN, False
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return await run_in_threadpool(ctx.store.token_user, header[7:].strip()), True
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return await run_in_threadpool(ctx.store.session_user, session), False
    return None, False


async def check_csrf(request: Request) -> None:
    expected = request.cookies.get(CSRF_COOKIE, "")
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        given = str((await request.form()).get(CSRF_FIELD) or "")
    if not expected or not given or not secrets.compare_digest(expected, given):
        raise Forbidden("the form's security token is missing or stale: reload the page and try again")


def require(role: Role) -> Callable[[Request], Awaitable[User]]:
    """A dependency: the user of this request, who holds ``role`` or a higher one."""

    async def dependency(request: Request) -> User:
        user, by_token = await identify(request)
        if user is None:
            raise LoginRequired()
        if _forgeable(request) and not by_token:
            await check_csrf(request)
        if not user.may(role):
            raise Forbidden(f"this needs the {role} role; {user.username} is {user.role}")
        request.state.user = user
        return user

    dependency.required_role = role  # type: ignore[attr-defined]  # read by the every-route-is-guarded test
    return dependency


def _forgeable(request: Request) -> bool:
    """Whether another site could make a browser send this request with our cookies: a POST whose body is
    not JSON. PUT, PATCH, DELETE and JSON bodies need a CORS preflight, which this app never grants."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return request.method == "POST" and content_type != "application/json"


async def csrf_only(request: Request) -> None:
    """For the login form: no user yet, but a forged login is still refused."""
    user, _ = await identify(request)
    request.state.user = user
    if _forgeable(request):
        await check_csrf(request)


def login_redirect_target(request: Request) -> str:
    """Where to come back after logging in: this page's path and query (never another site)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return target if target.startswith("/") and not target.startswith("//") else "/"


def safe_next(value: Any) -> str:
    text = str(value or "/")
    return text if text.startswith("/") and not text.startswith("//") and "\\" not in text else "/"


# The guards, declared once: ``user: User = VIEWER`` in a route's parameters.
VIEWER: Any = Depends(require("viewer"))
ANALYST: Any = Depends(require("analyst"))
ADMIN: Any = Depends(require("admin"))
