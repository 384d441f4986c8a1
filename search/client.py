"""An Elasticsearch client built from plain arguments (the CLI and the pipeline pass them from settings).

The transport retries connection errors, timeouts and the overload statuses 429/502/503/504 immediately (it
has no backoff of its own); callers that need backoff between attempts (bulk indexing) add it on top.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, Elasticsearch

from search.errors import SearchError, SearchUnavailable

# Statuses that mean "try again": overloaded (429) or a proxy / node that is restarting (502-504).
RETRY_ON_STATUS = (429, 502, 503, 504)


def make_client(
    *,
    url: str,
    username: str | None = None,
    password: str | None = None,
    api_key: str | None = None,
    ca_certs: str | None = None,
    request_timeout: float = 30,
    max_retries: int = 3,
) -> Elasticsearch:
    """A client for ``url``; basic auth when ``username`` is given, else ``api_key`` when given.

    ``url`` may name several nodes of one cluster, comma-separated: requests go round the nodes and one that
    does not answer is set aside for a while, its requests retried on the others (a node that dies mid-run).
    Credentials go straight to the transport: nothing here logs them.
    """
    if username is not None and api_key is not None:
        raise ValueError("give either username/password or api_key, not both")
    basic_auth = (username, password or "") if username is not None else None
    tls: dict[str, Any] = {"ca_certs": ca_certs} if ca_certs else {}  # unset = the system trust store
    return Elasticsearch(
        node_urls(url),
        basic_auth=basic_auth,
        api_key=api_key,
        **tls,
        request_timeout=request_timeout,
        max_retries=max_retries,
        retry_on_timeout=True,
        retry_on_status=RETRY_ON_STATUS,
    )


@contextmanager
def es_errors(action: str) -> Iterator[None]:
    """Wrap the client's errors at the stage boundary: unreachable or overloaded -> SearchUnavailable
    (transient, try again later), any other refusal -> SearchError with Elasticsearch's reason."""
    try:
        yield
    except (ConnectionError, ConnectionTimeout) as exc:
        raise SearchUnavailable(f"Elasticsearch is unreachable while {action}: {exc.message}") from exc
    except ApiError as exc:
        if exc.status_code in RETRY_ON_STATUS:
            raise SearchUnavailable(f"Elasticsearch is overloaded ({exc.status_code}) while {action}") from exc
        raise SearchError(f"Elasticsearch refused {action}: {exc.status_code} {exc.message}") from exc


def node_urls(url: str) -> list[str]:
    """The node URLs of a comma-separated ``url`` (one URL is a list of one)."""
    urls = [part.strip() for part in url.split(",") if part.strip()]
    if not urls:
        raise ValueError("no Elasticsearch URL given")
    return urls
