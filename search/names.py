"""Names of every index and alias, derived from one prefix so tests and tenants never collide."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class IndexNames:
    prefix: str = ""

    @property
    def articles(self) -> str:
        """The alias analysts and the pipeline use; it points at one versioned index."""
        return f"{self.prefix}articles"

    def articles_index(self, version: int) -> str:
        return f"{self.prefix}wirewatch-articles-v{version}"

    @property
    def articles_template(self) -> str:
        return f"{self.prefix}wirewatch-articles"

    @property
    def watches(self) -> str:
        return f"{self.prefix}wirewatch-watches"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}wirewatch-alerts"

    @property
    def feeds(self) -> str:
        return f"{self.prefix}wirewatch-feeds"

    @property
    def leases(self) -> str:
        """Who polls which feed right now (``search.leases``): one runner at a time per feed."""
        return f"{self.prefix}wirewatch-leases"

    @property
    def checkpoints(self) -> str:
        """Small documents that remember how far a background step (percolation) got."""
        return f"{self.prefix}wirewatch-checkpoints"
