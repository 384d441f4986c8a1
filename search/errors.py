"""The search stage's exceptions: one tree, so callers can catch ``SearchError`` for anything from ``search/``.

Third-party errors (elasticsearch, subprocess, OS) are wrapped at the boundary with ``raise ... from exc``.
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
        super().__init__(f"{message}\n--- last lines of the node's log ---\n{log_tail}" if log_tail else message)
        self.log_tail = log_tail


class AnalysisUnavailableError(SearchError):
    """The cluster offers neither the built-in English analysis nor the Wirewatch analysis plugin."""
