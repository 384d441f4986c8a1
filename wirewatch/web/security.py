"""Who is asking and may they: sessions, API tokens, CSRF and roles, as FastAPI dependencies.

Every route depends on ``require(role)`` (``tests/test_web_api.py`` checks that none is missing). It finds the
user (an ``Authorization: Bearer`` API token, else the session cookie; with ``web_auth`` off, the one local
admin a loopback-only server has), refuses a role too low, and on any state-changing method checks the CSRF
token unless the request came with an API token (a browser never sends those by itself) or is one another site cannot
make a browser send without a CORS preflight, which this app never grants (a JSON body, PUT, PATCH, DELETE).

The CSRF token is an HMAC, under a secret of the server process, of what the request is bound to: the session
cookie when signed in, else ``ww_client``, a random per-browser cookie. Every form repeats it in a hidden field
(or a script in the ``X-CSRF-Token`` header). It is not a cookie compared with itself: cookies are not isolated
by port, so a page on any other loopback port can plant cookies for this server, but it cannot compute the token
of the session or client cookie it finds or plants without the secret. Signing in makes a new session and a new
client cookie, so a token seen before is worthless after. A second layer refuses a state-changing request that a
browser marks as coming from another origin (``Sec-Fetch-Site`` other than same-origin or none, or an ``Origin``
whose host and port differ from the request's); a sibling port is same-site but not same-origin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.middleware.base import BaseHTTPMiddleware

from wirewatch.web.store import Role, User

SESSION_COOKIE = "ww_session"
CLIENT_COOKIE = "ww_client"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
LOCAL_ADMIN = User(username="local", role="admin")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
DEFAULT_PORTS = {"http": 80, "https": 443}
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


def csrf_token(secret: bytes, binding: str) -> str:
    mac = hmac.new(secret, binding.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _client_id(request: Request) -> str:
    """This browser's ``ww_client`` (made when it has none; the middleware then sets the cookie)."""
    client = getattr(request.state, "client_id", None)
    if client is None:
        existing = request.cookies.get(CLIENT_COOKIE, "")
        client = existing if 32 <= len(existing) <= 64 else secrets.token_urlsafe(32)
        request.state.client_id = client
    return str(client)


def new_client_id(request: Request) -> None:
    """A fresh ``ww_client`` for this browser (at sign-in), set on the response by the middleware."""
    request.state.client_id = secrets.token_urlsafe(32)


def expected_csrf(request: Request) -> str:
    """The one token this request's forms may carry: bound to its session, else to its client cookie."""
    ctx = request.app.state.ctx
    session = request.cookies.get(SESSION_COOKIE, "") if ctx.settings.web_auth else ""
    binding = f"session:{session}" if session else f"client:{_client_id(request)}"
    return csrf_token(ctx.csrf_secret, binding)


class SecurityHeaders(BaseHTTPMiddleware):
    """Headers on every response, the CSRF token for the page, and the client cookie for a browser without one."""

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        existing = request.cookies.get(CLIENT_COOKIE, "")
        _client_id(request)
        request.state.csrf = expected_csrf(request)
        started = time.perf_counter()
        response = await call_next(request)
        # the server's own time to the response headers, for the benchmark and the browser's devtools
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        # article links must not leak analysts' queries; same-origin rather than no-referrer, under which a
        # browser sends "Origin: null" even with the workbench's own forms, and check_origin needs the real one
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        if request.state.client_id != existing:
            set_cookie(response, request, CLIENT_COOKIE, request.state.client_id)
        return response


async def identify(request: Request) -> tuple[User | None, bool]:
    """(the user, whether they came with an API token) for this request; looked up once per request."""
    known: tuple[User | None, bool] | None = getattr(request.state, "identity", None)
    if known is None:
        known = await _lookup(request)
        request.state.identity = known
    return known


async def _lookup(request: Request) -> tuple[User | None, bool]:
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


def login_required_response(request: Request) -> Response:
    """No valid session or token: a page sends the browser to the login form, the API and TAXII answer 401."""
    if request.url.path.startswith(("/api/", "/taxii2/")):
        return JSONResponse(
            {"error": "unauthorized", "message": "sign in, or send Authorization: Bearer <API token>"},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    return RedirectResponse("/login?" + urlencode({"next": login_redirect_target(request)}), status_code=303)


def check_origin(request: Request) -> None:
    """Refuse a state-changing request the browser says comes from another origin (a sibling port included)."""
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if (site is not None and site not in ("same-origin", "none")) or (
        origin is not None and not _same_origin(origin, request.headers.get("host", ""))
    ):
        raise Forbidden("this form was sent from another site or port; use the workbench's own pages")


def _same_origin(origin: str, host: str) -> bool:
    """Whether ``origin`` names this server's host and port (its scheme is not compared: behind a TLS proxy the
    request arrives as plain http)."""
    try:
        theirs, ours = urlsplit(origin), urlsplit(f"//{host}")
        default = DEFAULT_PORTS.get(theirs.scheme)
        return (
            theirs.scheme in DEFAULT_PORTS
            and theirs.hostname is not None
            and theirs.hostname == ours.hostname
            and (theirs.port or default) == (ours.port or default)
        )
    except ValueError:  # a port out of range or a malformed host
        return False


async def check_csrf(request: Request) -> None:
    given = request.headers.get(CSRF_HEADER, "")
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        given = str((await request.form()).get(CSRF_FIELD) or "")
    if not given or not secrets.compare_digest(expected_csrf(request).encode(), given.encode()):
        raise Forbidden("the form's security token is missing or stale: reload the page and try again")


def require(role: Role) -> Callable[[Request], Awaitable[User]]:
    """A dependency: the user of this request, who holds ``role`` or a higher one."""

    async def dependency(request: Request) -> User:
        user, by_token = await identify(request)
        if user is None:
            raise LoginRequired()
        if request.method not in SAFE_METHODS and not by_token:
            check_origin(request)
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
        check_origin(request)
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
