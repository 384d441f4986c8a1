"""Turns the settings into the objects the stages take: an Elasticsearch client, index names, fetch policy,
feed list, watchlist and alert channels. This is the only place that reads settings for the pipeline."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from search.names import IndexNames
from wirewatch.settings import Settings, masked_url

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from enrich.watchlist import Watchlist
    from ingest.feeds import FeedSpec
    from ingest.fetch import FetchPolicy
    from notify.deliver import Channel


class ConfigError(Exception):
    """A configuration file (feeds, watchlist, channels) cannot be used; the message says which and why."""


@dataclass(frozen=True, kw_only=True)
class EsTarget:
    """Where Elasticsearch is and how to log in; ``repr`` never shows the secrets."""

    url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # the url may carry user:password@ too
        return f"EsTarget(url={masked_url(self.url)!r}, username={self.username!r})"


def es_target(settings: Settings) -> EsTarget:
    return EsTarget(
        url=settings.es_url_or_local,
        username=settings.es_username,
        password=settings.es_password.get_secret_value() if settings.es_password else None,
        api_key=settings.es_api_key.get_secret_value() if settings.es_api_key else None,
    )


@dataclass
class Runtime:
    settings: Settings
    es: Elasticsearch
    names: IndexNames

    def fetch_policy(self) -> FetchPolicy:
        return fetch_policy(self.settings)

    def feeds(self) -> list[FeedSpec]:
        from ingest.errors import IngestError
        from ingest.feeds import load_feed_list

        s = self.settings
        try:
            return load_feed_list(
                s.feeds_file, base_url=s.feeds_base_url, default_interval_s=s.feed_default_interval_s
            )
        except IngestError as exc:
            raise ConfigError(str(exc)) from exc

    def watchlist(self) -> Watchlist:
        from enrich.errors import EnrichError
        from enrich.watchlist import load_watchlist

        try:
            return load_watchlist(self.settings.watchlist_file)
        except EnrichError as exc:
            raise ConfigError(str(exc)) from exc

    def channels(self) -> dict[str, Channel]:
        from notify.config import channels_from_config, default_channels
        from notify.errors import NotifyError

        s = self.settings
        if s.channels_file is None:
            return default_channels(s.alerts_file)
        entries = _read_yaml(s.channels_file)
        secrets = {
            "webhook": s.webhook_secret.get_secret_value() if s.webhook_secret else None,
            "smtp": s.smtp_password.get_secret_value() if s.smtp_password else None,
        }
        try:
            return channels_from_config(
                entries,
                env=os.environ,
                allow_loopback=s.delivery_allow_loopback,
                allow_private=s.delivery_allow_private,
                fallback_secrets=secrets,
                base_dir=Path(s.channels_file).parent,
            )
        except NotifyError as exc:
            raise ConfigError(f"channels file {s.channels_file}: {exc}") from exc


def fetch_policy(s: Settings) -> FetchPolicy:
    """The fetcher's limits and manners from the ``http_*`` settings."""
    from ingest.fetch import FetchPolicy

    return FetchPolicy(
        user_agent=s.http_user_agent,
        connect_timeout_s=s.http_connect_timeout_s,
        read_timeout_s=s.http_read_timeout_s,
        total_deadline_s=s.http_total_deadline_s,
        max_bytes=s.http_max_bytes,
        max_redirects=s.http_max_redirects,
        max_connections=s.http_max_connections,
        max_per_host=s.http_max_per_host,
        retries=s.http_retries,
        backoff_s=s.http_backoff_s,
        allow_loopback=s.http_allow_loopback,
        allow_private=s.http_allow_private,
        respect_robots=s.http_respect_robots,
    )


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def make_es(settings: Settings, target: EsTarget | None = None) -> Elasticsearch:
    from search.client import make_client

    target = target or es_target(settings)
    return make_client(
        url=target.url,
        username=target.username,
        password=target.password,
        api_key=target.api_key,
        ca_certs=settings.es_ca_certs,
        request_timeout=settings.es_request_timeout_s,
        max_retries=settings.es_max_retries,
    )


def build_runtime(settings: Settings, *, target: EsTarget | None = None) -> Runtime:
    return Runtime(
        settings=settings,
        es=make_es(settings, target),
        names=IndexNames(prefix=settings.es_index_prefix),
    )
