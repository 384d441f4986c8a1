"""The composition root: the only place where the settings become objects.

Everything that runs Wirewatch (the CLI commands, the pass, the Airflow tasks, the demo, the bench) builds a
``Runtime`` from the ``Settings`` and asks it for what it needs: the Elasticsearch client and index names, the
fetch policy and fetcher, the extraction pool, the tagger, the feed list, the watchlist and the alert channels.
The stages themselves take plain arguments and never read settings.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from search.names import IndexNames
from wirewatch.settings import Settings, masked_url

if TYPE_CHECKING:
    from elasticsearch import Elasticsearch

    from enrich.tagger import Tagger
    from enrich.watchlist import Watchlist
    from ingest.feedlist import FeedSpec
    from ingest.fetch import Fetcher, FetchPolicy
    from ingest.pool import ExtractPool
    from notify.deliver import Channel
    from notify.taxii_channel import StixRender
    from search.leases import Leases
    from search.localnode import LocalNode


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
class PassTools:
    """The expensive objects of a pass (HTTP pool, extraction and NER processes), kept across passes."""

    fetcher: Fetcher
    pool: ExtractPool
    tagger: Tagger


@dataclass
class Runtime:
    """The settings, and the objects made from them. Nothing connects or loads until it is asked for."""

    settings: Settings
    target: EsTarget

    @classmethod
    def around(cls, settings: Settings, es: Elasticsearch, names: IndexNames) -> Runtime:
        """A runtime around a client and index names the caller already holds (tests, a shared client)."""
        rt = cls(settings=settings, target=es_target(settings))
        rt.__dict__["es"], rt.__dict__["names"] = es, names  # what the cached properties would have made
        return rt

    @cached_property
    def runner_id(self) -> str:
        """This runner's name on the leases and delivery claims it holds: host, pid and a random part (a pid
        is reused after a restart; the random part tells the two runs apart)."""
        return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # --- Elasticsearch ------------------------------------------------------------------------------------
    @cached_property
    def es(self) -> Elasticsearch:
        from search.client import make_client

        s, t = self.settings, self.target
        return make_client(
            url=t.url,
            username=t.username,
            password=t.password,
            api_key=t.api_key,
            ca_certs=s.es_ca_certs,
            request_timeout=s.es_request_timeout_s,
            max_retries=s.es_max_retries,
        )

    @cached_property
    def names(self) -> IndexNames:
        return IndexNames(prefix=self.settings.es_index_prefix)

    def local_node(self, *, port: int | None = None, heap_mb: int | None = None) -> LocalNode:
        """The local node of the ``local_es_*`` settings (``port`` / ``heap_mb`` override them)."""
        from search.localnode import LocalNode

        s = self.settings
        return LocalNode(
            home=s.local_es_home,
            port=s.local_es_port if port is None else port,
            heap_mb=s.local_es_heap_mb if heap_mb is None else heap_mb,
        )

    def close(self) -> None:
        if "es" in self.__dict__:
            self.es.close()

    # --- ingest -------------------------------------------------------------------------------------------
    def fetch_policy(self) -> FetchPolicy:
        """The fetcher's limits and manners from the ``http_*`` settings."""
        from ingest.fetch import FetchPolicy

        s = self.settings
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
            max_backoff_s=s.http_max_backoff_s,
            allow_loopback=s.http_allow_loopback,
            allow_private=s.http_allow_private,
            respect_robots=s.http_respect_robots,
        )

    def fetcher(self) -> Fetcher:
        from ingest.fetch import Fetcher

        return Fetcher(self.fetch_policy())

    def extract_pool(self, *, max_workers: int | None = None, early: bool = False) -> ExtractPool:
        """The extraction processes; ``max_workers`` caps them (no more workers than pages to extract);
        ``early`` also tags groups and signs stories there (``wirewatch.early``; the engine's pool)."""
        from ingest.pool import ExtractPool
        from wirewatch.early import EarlyTagging

        s = self.settings
        workers = s.extract_workers if max_workers is None else max(1, min(s.extract_workers, max_workers))
        after = EarlyTagging(self.watchlist()) if early else None
        return ExtractPool(workers=workers, deadline_s=s.extract_deadline_s, after=after)

    def feeds(self) -> list[FeedSpec]:
        from ingest.errors import IngestError
        from ingest.feedlist import load_feed_list

        s = self.settings
        try:
            return load_feed_list(
                s.feeds_file, base_url=s.feeds_base_url, default_interval_s=s.feed_default_interval_s
            )
        except IngestError as exc:
            raise ConfigError(str(exc)) from exc

    # --- enrich -------------------------------------------------------------------------------------------
    def watchlist(self) -> Watchlist:
        from enrich.errors import EnrichError
        from enrich.watchlist import load_watchlist

        try:
            return load_watchlist(self.settings.watchlist_file)
        except EnrichError as exc:
            raise ConfigError(str(exc)) from exc

    def tagger(self, *, ner: bool | None = None, workers: int | None = None) -> Tagger:
        """The tagger; ``ner=False`` gives one that only matches tracked groups (no model load), ``workers``
        overrides ``ner_workers`` (one process for one text)."""
        from enrich.places.resolve import default_resolver
        from enrich.tagger import Tagger

        s = self.settings
        return Tagger(
            watchlist=self.watchlist(),
            model=s.ner_model,
            batch_size=s.ner_batch_size,
            ner=s.ner_enabled if ner is None else ner,
            workers=s.ner_workers if workers is None else workers,
            worker_nice=s.ner_nice,
            places=default_resolver() if s.places_enabled else None,
        )

    @contextmanager
    def tools(self, *, ner: bool | None = None) -> Iterator[PassTools]:
        """Fetcher, extraction pool and tagger for one or more passes, closed on exit."""
        tagger = self.tagger(ner=ner)
        early = self.settings.extract_early_tags
        with self.fetcher() as fetcher, self.extract_pool(early=early) as pool, tagger:
            yield PassTools(fetcher=fetcher, pool=pool, tagger=tagger)

    def feed_leases(self) -> Leases:
        """This runner's leases on feeds: one runner polls a feed at a time (``with rt.feed_leases().renewing()``:
        renewed while the block runs, released at its end)."""
        from search.leases import Leases

        return Leases(self.es, self.names, kind="feed", owner=self.runner_id, ttl_s=self.settings.feed_lease_ttl_s)

    # --- notify -------------------------------------------------------------------------------------------
    def channels(self) -> dict[str, Channel]:
        """The alert channels of ``channels_file``, or the default JSON-lines file channel."""
        from notify.config import default_channels, load_channels
        from notify.errors import NotifyError

        s = self.settings
        if s.channels_file is None:
            return default_channels(s.alerts_file)
        secrets = {
            "webhook": s.webhook_secret.get_secret_value() if s.webhook_secret else None,
            "smtp": s.smtp_password.get_secret_value() if s.smtp_password else None,
        }
        try:
            return load_channels(
                s.channels_file,
                env=os.environ,
                allow_loopback=s.delivery_allow_loopback,
                allow_private=s.delivery_allow_private,
                fallback_secrets=secrets,
                stix_render=self.stix_render(),
            )
        except NotifyError as exc:
            raise ConfigError(str(exc)) from exc


    def stix_render(self) -> StixRender:
        """What a ``taxii`` channel sends: the STIX reports of alert ids (read when the channel sends)."""
        from wirewatch.stix.export import TlpPolicy
        from wirewatch.stix.push import alert_renderer

        policy = TlpPolicy(self.settings.stix_tlp, self.settings.stix_tlp_by_watch)
        return alert_renderer(self.es, self.names, self.watchlist, policy)


def build_runtime(settings: Settings, *, target: EsTarget | None = None) -> Runtime:
    """The runtime of these settings; ``target`` overrides where Elasticsearch is (the Airflow connection)."""
    return Runtime(settings=settings, target=target or es_target(settings))
