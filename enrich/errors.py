"""The exceptions of the enrich stage.

Everything this package raises on purpose derives from :class:`EnrichError`, so callers can catch one type.
Third-party errors (PyYAML, spaCy, pyahocorasick) are wrapped at the boundary with ``raise ... from exc``.

    EnrichError
    ├── WatchlistError        the watchlist file cannot be read or is malformed (permanent: fix the file)
    ├── ModelNotInstalledError the spaCy model package is missing (permanent: install it)
    └── TaggingError          tagging a batch failed (transient: e.g. a worker process died; retry the batch)
"""

from __future__ import annotations


class EnrichError(Exception):
    """Base class of every error raised by the enrich stage."""

    transient: bool = False


class WatchlistError(EnrichError):
    """The watchlist file is missing, is not valid YAML or does not follow the schema."""


class ModelNotInstalledError(EnrichError):
    """The spaCy model is not installed; the message says how to install it."""


class TaggingError(EnrichError):
    """Tagging failed for reasons outside the text itself (a worker died): the batch can be retried."""

    transient = True
