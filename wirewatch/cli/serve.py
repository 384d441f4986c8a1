"""``wirewatch serve``: the analysts' workbench (web pages and the /api/v1 HTTP API) until Ctrl-C."""

from __future__ import annotations

import click
from rich.markup import escape

from wirewatch.cli.common import console, fail, settings_from


@click.command("serve")
@click.option("--host", help="Address to bind (default: the web_host setting, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: the web_port setting, 8000).")
@click.pass_context
def cli(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Serve the workbench: search, articles, alerts, watches, feeds, saved searches, and the HTTP API.

    It binds 127.0.0.1 unless told otherwise; any other address needs authentication on (WIREWATCH_WEB_AUTH=true,
    users from `wirewatch users add`), since without it every visitor is the local admin.
    """
    import uvicorn

    from search.errors import SearchError
    from wirewatch.web.app import create_app, is_loopback

    overrides = {k: v for k, v in (("web_host", host), ("web_port", port)) if v is not None}
    settings = settings_from(ctx, **overrides)
    if not is_loopback(settings.web_host) and not settings.web_auth:
        fail(
            f"refusing to serve on {escape(settings.web_host)} without authentication",
            hint="bind 127.0.0.1, or set WIREWATCH_WEB_AUTH=true and add users with `wirewatch users add`",
        )
    try:
        app = create_app(settings)
    except SearchError as exc:
        fail(escape(str(exc)), hint=f"is Elasticsearch running at {settings.es_url_or_local}? `wirewatch es start`")
    shown = f"[{settings.web_host}]" if ":" in settings.web_host else settings.web_host
    mode = "sign-in required" if settings.web_auth else "no sign-in: you are the local admin"
    console.print(f"Workbench at http://{shown}:{settings.web_port} ({mode}); Ctrl-C stops it", highlight=False)
    uvicorn.run(app, host=settings.web_host, port=settings.web_port, log_level="warning", proxy_headers=True)
