"""What every request handler needs: settings, the Elasticsearch client and names, the web store, templates."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from elasticsearch import Elasticsearch
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from wirewatch.fieldvalues import FieldValues, indexed_sources
from wirewatch.groupnames import GroupNames
from wirewatch.runtime import ConfigError, Runtime
from wirewatch.settings import Settings
from wirewatch.web.backend import IndexNames
from wirewatch.web.render import language_name, safe_url, snippet, text_attrs
from wirewatch.web.store import User, WebStateError, WebStore
from wirewatch.web.throttle import LoginThrottle

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
    env.filters["text_attrs"] = text_attrs
    env.filters["language_name"] = language_name
    env.filters["day"] = lambda value: (value or "")[:10]
    env.filters["minute"] = minute
    return env


@dataclass
class WebContext:
    runtime: Runtime
    store: WebStore
    templates: jinja2.Environment
    logins: LoginThrottle
    # signs the CSRF tokens; per process, so a restart makes open forms ask for a reload
    csrf_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # the watchlist's names, kept while its file is unchanged: reading it takes ~100 ms, too long for every search
    _groups: tuple[tuple[int, int], GroupNames] | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def es(self) -> Elasticsearch:
        return self.runtime.es

    @property
    def names(self) -> IndexNames:
        return self.runtime.names

    def group_names(self) -> GroupNames:
        """The watchlist's ids, names and aliases, for ``group:`` terms; an unusable watchlist file is a
        WebStateError that says why (a search would otherwise take every name for an id)."""
        try:
            stat = self.settings.watchlist_file.stat()
            version = (stat.st_mtime_ns, stat.st_size)
            if self._groups is None or self._groups[0] != version:
                self._groups = (version, GroupNames.of(self.runtime.watchlist()))
        except (ConfigError, OSError) as exc:
            raise WebStateError(f"the watchlist cannot be used: {exc}") from exc
        return self._groups[1]

    def field_values(self) -> FieldValues:
        """What a query's fields may hold (search/querying/fields.py), for did-you-mean errors."""
        return FieldValues(self.group_names(), lambda: indexed_sources(self.es, self.names))

    def page(
        self,
        request: Request,
        template: str,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
        **values: Any,
    ) -> HTMLResponse:
        """A rendered page; the signed-in user and the CSRF token are always there for the layout."""
        user: User | None = getattr(request.state, "user", None)
        body = self.templates.get_template(template).render(
            request=request,
            user=user,
            auth=self.settings.web_auth,
            csrf_token=getattr(request.state, "csrf", ""),
            **values,
        )
        return HTMLResponse(body, status_code=status_code, headers=headers)


def build_context(runtime: Runtime) -> WebContext:
    settings = runtime.settings
    logins = LoginThrottle(
        concurrency=settings.web_login_concurrency, free=settings.web_login_free_attempts,
        delay_s=settings.web_login_delay_s, max_delay_s=settings.web_login_max_delay_s,
    )  # fmt: skip
    return WebContext(
        runtime=runtime, store=WebStore(runtime.es, runtime.names), templates=_environment(), logins=logins
    )


def get_context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


CTX: Any = Depends(get_context)


def minute(value: str | None) -> str:
    """A stored ISO time to the minute with its zone: "2024-05-01 10:00 UTC" (stored times are UTC; a time
    kept with another offset shows it: "2024-05-01 10:00 +02:00"), so nobody reads a UTC time as local."""
    text = value or ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text.replace("T", " ")[:16]
    offset = moment.utcoffset()
    if offset is None or not offset:
        return f"{moment:%Y-%m-%d %H:%M} UTC"
    sign, seconds = ("-", -offset.total_seconds()) if offset.total_seconds() < 0 else ("+", offset.total_seconds())
    return f"{moment:%Y-%m-%d %H:%M} {sign}{int(seconds // 3600):02d}:{int(seconds % 3600 // 60):02d}"
