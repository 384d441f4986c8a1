"""The search stage's exceptions: one tree, so callers can catch ``SearchError`` for anything from
``search/`` (modelled on httpx's ``_exceptions.py``).

    SearchError
    ├── LocalNodeError             the local node could not be fetched, started or stopped
    │   ├── PortTakenError             its port is bound by another process
    │   ├── ToolMissingError           java or mvn is missing
    │   └── NodeStartError             it died or was not healthy in time (carries the log tail)
    ├── AnalysisUnavailableError   the cluster has neither the built-in analyzers nor the project's plugin
    ├── SearchUnavailable          the cluster cannot be reached or keeps answering 429/5xx (transient)
    │   └── MatchingRefused            some searches of a matching batch kept being refused (429): the rest matched
    ├── IndexMissing               an index or alias does not exist: run ``wirewatch es setup``
    ├── SetupError                 creating indices, templates or aliases failed
    │   └── MigrationError             a mapping migration failed; the old index still serves
    ├── QuerySyntaxError           the analyst query does not parse (also a ValueError; has a position)
    ├── InvalidCursor              a ``search_after`` cursor cannot be decoded (also a ValueError)
    ├── WatchNotFound              no watch by that name (also a LookupError)
    ├── WatchExists                a watch by that name exists already
    └── InvalidWatch               a watch's name, query or channels are out of bounds (also a ValueError)

Third-party errors (elasticsearch, subprocess, OS) are wrapped at the boundary with ``raise ... from exc``
(``search.client.es_errors`` maps the client's errors in one place).
"""

from __future__ import annotations


class SearchError(Exception):
    """Base of every error raised by the search stage."""


class LocalNodeError(SearchError):
    """The local Elasticsearch node could not be fetched, started or stopped."""


class PortTakenError(LocalNodeError):
    """The node's HTTP (or transport) port is already bound by another process."""

    def __init__(self, port: int) -> None:
        super().__init__(f"port {port} is taken")
        self.port = port


class ToolMissingError(LocalNodeError):
    """A program the local node needs (java, mvn) is not installed or not on PATH."""


class NodeStartError(LocalNodeError):
    """The node died or did not become healthy in time; ``log_tail`` holds the last lines of its log."""

    def __init__(self, message: str, log_tail: str) -> None:
        shown = f"{message}\n--- last lines of the node's log ---\n{log_tail}" if log_tail else message
        super().__init__(shown)
        self.log_tail = log_tail


class AnalysisUnavailableError(SearchError):
    """The cluster offers neither the built-in English analysis nor the Wirewatch analysis plugin."""


class SearchUnavailable(SearchError):
    """Elasticsearch is unreachable or overloaded: transient, try again later (nothing was written)."""

    def __init__(self, message: str, partial: object | None = None) -> None:
        super().__init__(message)
        # when an outage starts mid-batch: the BulkReport of what was durably written before it
        self.partial = partial


class MatchingRefused(SearchUnavailable):
    """Some searches of a matching batch were refused again and again (429: the node sheds load), the others
    answered: ``matches`` holds what they found, ``article_ids`` the articles to match again later."""

    def __init__(self, message: str, *, matches: list[object], article_ids: list[str]) -> None:
        super().__init__(message)
        self.matches = matches
        self.article_ids = article_ids


class IndexMissing(SearchError):
    """An index or alias this stage needs does not exist: run ``wirewatch es setup``."""


class SetupError(SearchError):
    """Index setup cannot proceed without a person (a concrete index where an alias belongs, a conflict)."""


class MigrationError(SetupError):
    """Copying the articles index into its new version failed; the old version is left serving."""


class QuerySyntaxError(SearchError, ValueError):
    """A malformed analyst query; ``position`` is the 0-based character offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} (at character {position + 1})")
        self.reason = message
        self.position = position


class InvalidCursor(SearchError, ValueError):
    """A pagination cursor that this search did not produce (corrupt, or from another sort order)."""


class WatchNotFound(SearchError, LookupError):
    """No watch has that name: ``wirewatch watch list`` shows the existing ones."""


class WatchExists(SearchError):
    """A watch with that name already exists: remove it first, or pick another name."""


class InvalidWatch(SearchError, ValueError):
    """A watch's name, query or channel list is empty, too long or holds control characters: the bounds are
    ``search.alerting.watches.WATCH_BOUNDS``, the same for the CLI, the workbench's forms and its API."""
