"""The STIX objects a ``taxii`` channel pushes (``notify.taxii_channel``): a function of alert ids and a TLP level,
made here by the composition root because ``notify`` may not import Elasticsearch's stage or this package."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from elasticsearch import Elasticsearch

from enrich.watchlist import Watchlist
from search.alerting.scan import alerts_by_id
from search.names import IndexNames
from wirewatch.stix.bundle import BundleStats, first_time
from wirewatch.stix.export import TlpPolicy, alerts_to_batches

__all__ = ["alert_renderer"]


def alert_renderer(
    es: Elasticsearch, names: IndexNames, watchlist: Callable[[], Watchlist], policy: TlpPolicy
) -> Callable[[Sequence[str], str | None], list[dict[str, Any]]]:
    """``render(alert_ids, tlp)``: the reports of those alerts and what they name, each object once, as JSON
    objects; ``tlp`` (the channel's level) overrides the per-watch policy. Missing alerts are left out."""

    def render(alert_ids: Sequence[str], tlp: str | None) -> list[dict[str, Any]]:
        alerts = alerts_by_id(es, names, alert_ids)
        chosen = TlpPolicy(tlp) if tlp else policy
        stats = BundleStats()
        batches = alerts_to_batches(es, names, alerts, watchlist(), chosen)
        return [json.loads(obj.serialize()) for batch in batches for obj in first_time(batch, stats)]

    return render
