"""The workbench application: pages and the ``/api/v1`` JSON API over the same Elasticsearch indices.

``create_app(settings)`` builds it; ``wirewatch serve`` runs it with uvicorn. Errors are pages (or JSON under
``/api/``) that say what happened and what to do, never stack traces.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from wirewatch.runtime import Runtime, build_runtime
from wirewatch.settings import Settings, masked_url
from wirewatch.web.backend import IndexMissing, SearchError, SearchUnavailable, WatchNotFound, setup_all
from wirewatch.web.context import CTX, HERE, WebContext, build_context
from wirewatch.web.limits import BodyGuard
from wirewatch.web.routers import (
    alerts,
    articles,
    auth,
    compare,
    entities,
    events,
    eventwatches,
    feeds,
    ops,
    places,
    saved,
    search,
    stix,
    taxii,
    watches,
)
from wirewatch.web.security import VIEWER, Forbidden, LoginRequired, SecurityHeaders, login_required_response
from wirewatch.web.store import User, WebStateError, setup_web_indices

log = logging.getLogger("wirewatch.web")
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def create_app(settings: Settings, *, runtime: Runtime | None = None, setup: bool = True) -> FastAPI:
    """The app for ``settings``; with ``setup`` the indices it reads and writes are created when missing."""
    runtime = runtime or build_runtime(settings)
    ctx = build_context(runtime)
    if setup:
        setup_all(runtime.es, runtime.names)
        setup_web_indices(runtime.es, runtime.names)
    app = FastAPI(
        title="Wirewatch workbench API",
        version="1",
        summary="Search, articles, alerts, watches, feeds and saved searches; JSON shapes match the CLI's --json.",
        docs_url=None,  # the stock pages load scripts from a CDN; /api/docs is rendered here instead
        redoc_url=None,
        openapi_url=None,
    )
    app.state.ctx = ctx
    # innermost first: bodies are bounded and their senders identified before any route reads them
    app.add_middleware(BodyGuard, max_bytes=settings.web_max_body_bytes)
    app.add_middleware(SecurityHeaders)
    hosts = list(LOOPBACK_NAMES) if is_loopback(settings.web_host) else ["*"]
    # a page on another site that rebinds its DNS name to 127.0.0.1 is refused by Host
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (
        search,
        compare,
        articles,
        places,
        entities,
        events,
        alerts,
        watches,
        eventwatches,
        feeds,
        saved,
        auth,
        stix,
        taxii,
        ops,
    ):
        app.include_router(module.router)
    _add_docs(app)
    _add_error_handlers(app)
    return app


def _add_docs(app: FastAPI) -> None:
    @app.get("/api/v1/openapi.json", include_in_schema=False)
    def openapi(user: User = VIEWER) -> dict[str, Any]:
        return app.openapi()

    @app.get("/api/docs", include_in_schema=False)
    def docs(request: Request, user: User = VIEWER, ctx: WebContext = CTX) -> Response:
        spec = app.openapi()
        operations = [
            {"method": method.upper(), "path": path, "summary": op.get("summary", ""),
             "description": op.get("description", ""),
             "params": [p["name"] for p in op.get("parameters", [])]}
            for path, item in spec["paths"].items() for method, op in item.items()
        ]  # fmt: skip
        return ctx.page(request, "api_docs.html", operations=operations)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/taxii2/"))


def _error(request: Request, status: int, title: str, message: str, hint: str = "") -> Response:
    if _wants_json(request):
        return JSONResponse({"error": title, "message": message, "hint": hint}, status_code=status)
    ctx: WebContext = request.app.state.ctx
    return ctx.page(request, "error.html", status_code=status, title=title, message=message, hint=hint)


# Our errors -> (status, title, what to do next); one page or JSON body for each (``_error``). A subclass finds
# its own entry first (SearchUnavailable and IndexMissing are SearchErrors).
ERROR_PAGES: dict[type[Exception], tuple[int, str, str]] = {
    Forbidden: (403, "forbidden", ""),
    WebStateError: (400, "bad request", ""),
    SearchUnavailable: (503, "Elasticsearch unavailable", "try again in a moment"),
    IndexMissing: (503, "indices missing", "run `wirewatch es setup` once"),
    WatchNotFound: (404, "not found", ""),
    SearchError: (400, "request refused", ""),
}


def _error_page(status: int, title: str, hint: str) -> Callable[[Request, Exception], Response]:
    def handler(request: Request, exc: Exception) -> Response:
        message = str(exc)
        if isinstance(exc, SearchError):
            # the stage's errors quote the client's, which name the node (host, port, URL): those are for the
            # server's log, never for the page a viewer reads
            shown = without_addresses(message, request.app.state.ctx.settings.es_url)
            if shown != message:
                log.warning("%s %s: %s", request.method, request.url.path, masked_url(message))
            message = shown
        return _error(request, status, title, message, hint)

    return handler


HIDDEN = "(address hidden)"
_ADDRESSES = (
    re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+"),  # any URL
    re.compile(r"\b(?:host|port)=(?:'[^']*'|\"[^\"]*\"|[^\s,)]+)"),  # urllib3's HTTPConnection(host=..., port=...)
    re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?\b"),  # IPv4, with a port
    re.compile(r"\[[0-9A-Fa-f]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.%\w]*\](?::\d{1,5})?"),  # [IPv6] (2+ colons), a port
)


def without_addresses(message: str, es_url: str | None) -> str:
    """``message`` without any address of the Elasticsearch node: URLs, ``host=``/``port=``, IP addresses,
    and the configured node's host name and port."""
    for pattern in _ADDRESSES:
        message = pattern.sub(HIDDEN, message)
    parts = urlsplit(es_url or "")
    if parts.hostname:
        port = f"(?::{parts.port})?" if parts.port else ""
        message = re.sub(rf"(?i)\b{re.escape(parts.hostname)}{port}\b", HIDDEN, message)
    if parts.port:
        message = re.sub(rf"(?<![\d.]){parts.port}(?![\d.])", HIDDEN, message)
    return message


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    def login_required(request: Request, exc: LoginRequired) -> Response:
        return login_required_response(request)

    for error, (status, title, hint) in ERROR_PAGES.items():
        app.add_exception_handler(error, _error_page(status, title, hint))

    @app.exception_handler(taxii.TaxiiError)
    def taxii_error(request: Request, exc: taxii.TaxiiError) -> Response:
        return taxii.error_response(exc)

    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return _error(request, 422, "invalid request", problems)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(request, exc.status_code, "not found" if exc.status_code == 404 else "error", str(exc.detail))

    @app.exception_handler(Exception)
    def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(request, 500, "internal error", "something went wrong on the server; its log has the details")
