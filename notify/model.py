"""What the channels send: an ``Alert`` and a ``Delivery`` (one alert on one channel), built from plain dicts.

The alert documents come from ``search.alerting.alerts`` (its ``pending_deliveries``), but ``notify`` imports nothing
of ours: the shape of the document is the contract, read here with ``alert_from_doc``. In ``passage`` the
matched words are wrapped in ``«`` and ``»`` (HIGHLIGHT_START/END); renderers turn those into bold or <mark>
after escaping the rest."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

HIGHLIGHT_START = "«"
HIGHLIGHT_END = "»"


@dataclass(frozen=True, kw_only=True)
class Alert:
    id: str
    watch_id: str
    watch_name: str
    article_id: str
    title: str
    url: str
    story_id: str | None = None  # the story the alert is about; alerts of one story go out in one message
    source: str | None = None
    published_at: str | None = None
    group_id: str | None = None
    group_name: str | None = None
    surface_forms: tuple[str, ...] = ()
    passage: str = ""
    created_at: str | None = None
    also_seen: tuple[Mapping[str, Any], ...] = field(default=())
    spike: Mapping[str, Any] | None = None  # a spike alert's numbers (count, mean, std, threshold, day...)
    event: Mapping[str, Any] | None = None  # an event watch's event (type, actors, place, fatalities, date...)

    def to_payload(self) -> dict[str, Any]:
        """The JSON object webhooks and the JSON-lines file receive."""
        data = asdict(self)
        data["surface_forms"] = list(self.surface_forms)
        data["also_seen"] = [dict(item) for item in self.also_seen]
        data["spike"] = dict(self.spike) if self.spike is not None else None
        data["event"] = dict(self.event) if self.event is not None else None
        return data


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One alert to send on one channel; ``prior_attempts`` were made on earlier passes."""

    alert: Alert
    channel: str
    prior_attempts: int = 0


def story_of(alert: Alert) -> str:
    """What a message is about: the alert's story, or its article when it has none (a spike alert, about no
    article, is a message of its own)."""
    return alert.story_id or alert.article_id or alert.id


def alert_from_doc(doc: Mapping[str, Any]) -> Alert:
    """An Alert from an alert document (the ``_source`` written by ``search.alerting.alerts``)."""
    watch = doc.get("watch") or {}
    group = doc.get("group") or {}
    return Alert(
        id=str(doc["id"]),
        watch_id=str(watch.get("id", "")),
        watch_name=str(watch.get("name", "")),
        article_id=str(doc.get("article_id", "")),
        story_id=doc.get("story_id"),
        title=str(doc.get("title") or ""),
        url=str(doc.get("url") or ""),
        source=doc.get("source"),
        published_at=doc.get("published_at"),
        group_id=group.get("id"),
        group_name=group.get("name"),
        surface_forms=tuple(doc.get("surface_forms") or ()),
        passage=str(doc.get("passage") or ""),
        created_at=doc.get("created_at"),
        also_seen=tuple(doc.get("also_seen") or ()),
        spike=doc.get("spike"),
        event=doc.get("event"),
    )


def deliveries_from_docs(
    docs: Iterable[Mapping[str, Any]],
    *,
    now: datetime | None = None,
    channels: Collection[str] | None = None,
    claimed_by: str | None = None,
) -> list[Delivery]:
    """Every (alert, channel) pending in ``docs`` and due at ``now`` (every pending one when now is None),
    and every ``unconfigured`` one whose channel is among ``channels`` (configured again since).

    With ``claimed_by``: exactly the entries that runner claimed (state ``sending``), and nothing else."""
    out: list[Delivery] = []
    for doc in docs:
        alert = alert_from_doc(doc)
        for state in doc.get("deliveries") or ():
            if claimed_by is not None:
                wanted = state.get("state") == "sending" and state.get("claimed_by") == claimed_by
            else:
                wanted = _wanted(state, now, channels)
            if not wanted:
                continue
            out.append(Delivery(alert=alert, channel=state["channel"], prior_attempts=int(state.get("attempts", 0))))
    return out


def _wanted(state: Mapping[str, Any], now: datetime | None, channels: Collection[str] | None) -> bool:
    if state.get("state") == "unconfigured":
        return channels is not None and state.get("channel") in channels
    return state.get("state") == "pending" and _due(state.get("next_attempt_at"), now)


def _due(next_attempt_at: str | None, now: datetime | None) -> bool:
    if now is None or not next_attempt_at:
        return True
    return datetime.fromisoformat(next_attempt_at.replace("Z", "+00:00")) <= now
