"""What every request handler needs: settings, the Elasticsearch client and names, the web store, templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from elasticsearch import Elasticsearch
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from wirewatch.runtime import Runtime
from wirewatch.settings import Settings
from wirewatch.web.backend import IndexNames
from wirewatch.web.render import safe_url, snippet
from wirewatch.web.store import User, WebStore

HERE = Path(__file__).resolve().parent


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every template, whatever its extension: page text is hostile
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["snippet"] = snippet
    env.filters["safe_url"] = safe_url
    env.filters["day"] = lambda value: (value or "")[:10]
    env.filters["minute"] = lambda value: (value or "").replace("T", " ")[:16]
    return env


@dataclass
class WebContext:
    runtime: Runtime
    store: WebStore
    templates: jinja2.Environment

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def es(self) -> Elasticsearch:
        return self.runtime.es

    @property
    def names(self) -> IndexNames:
        return self.runtime.names

    def page(self, request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        """A rendered page; the signed-in user and the CSRF token are always there for the layout."""
        user: User | None = getattr(request.state, "user", None)
        body = self.templates.get_template(template).render(
            request=request,
            user=user,
            auth=self.settings.web_auth,
            csrf_token=getattr(request.state, "csrf", ""),
            **values,
        )
        return HTMLResponse(body, status_code=status_code)


def build_context(runtime: Runtime) -> WebContext:
    return WebContext(runtime=runtime, store=WebStore(runtime.es, runtime.names), templates=_environment())


def get_context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


CTX: Any = Depends(get_context)
