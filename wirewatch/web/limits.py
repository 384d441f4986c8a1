"""Request bodies: bounded, and read only from someone known.

FastAPI reads and parses a route's body before it runs the route's dependencies, so without this a 300 MB JSON
body was read and parsed before anybody asked who sent it. ``BodyGuard`` sits in front of every route and, for a
request that carries a body:

1. answers 413 at once when ``Content-Length`` is over the cap, reading nothing;
2. finds who is asking (``security.identify``, the same lookup the route's guard then reuses) and answers as the
   guard would (401, or a redirect to the login form) when nobody is signed in, reading nothing; the login form
   is the one exception, its body being the credentials;
3. reads the body, counting bytes whatever the framing (a chunked body has no length to check up front), and
   answers 413 as soon as the count passes the cap; only then hands the body to the route.

An early answer closes the connection (``Connection: close``), so the server does not go on reading a body it
refused. A body held here is at most the cap (``web_max_body_bytes``, 2 MiB by default).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wirewatch.web.security import identify, login_required_response

UNAUTHENTICATED_BODIES = frozenset({("POST", "/login")})  # the credentials themselves


class BodyTooLarge(Exception):
    pass


class BodyGuard:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if (declared is None and "transfer-encoding" not in headers) or declared == "0":
            await self.app(scope, receive, send)  # no body to bound
            return
        request = Request(scope)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(scope, receive, send, self._too_large(request))
            return
        if (scope["method"], scope["path"]) not in UNAUTHENTICATED_BODIES:
            user, _ = await identify(request)
            if user is None:
                await _refuse(scope, receive, send, login_required_response(request))
                return
        try:
            body = await self._read(receive)
        except BodyTooLarge:
            await _refuse(scope, receive, send, self._too_large(request))
            return
        if body is None:
            return  # the client went away
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                raise BodyTooLarge()
            if not message.get("more_body", False):
                return bytes(body)

    def _too_large(self, request: Request) -> Response:
        limit = f"{self.max_bytes:,} bytes"
        message = f"the request body is larger than the workbench accepts ({limit})"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "body too large", "message": message,
                                 "hint": "send less at once"}, status_code=413)  # fmt: skip
        ctx = request.app.state.ctx
        return ctx.page(request, "error.html", status_code=413, title="request too large", message=message, hint="")


async def _refuse(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
    response.headers["Connection"] = "close"  # the unread rest of the body is not read to find the next request
    await response(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read here, as the route would have received it; then the client's own messages (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
