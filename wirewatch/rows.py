"""The rows the CLI and the workbench both show (``wirewatch feeds``/the feeds page, ``wirewatch watch list``/
the watches page and their JSON), below both: the CLI and the web each import these, never each other."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wirewatch.settings import masked_url

if TYPE_CHECKING:
    from ingest.feedlist import FeedSpec
    from search.alerting.watches import Watch


def feed_rows(feeds: list[FeedSpec], states: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per feed, for `feeds --json`, the table, the workbench page and its API. A feed URL (and an
    error quoting it) may carry ``user:pass@`` or a key in its query: shown masked, to every reader."""
    rows = []
    for feed in feeds:
        state = states.get(feed.id) or {}
        failures = int(state.get("consecutive_failures") or 0)
        gone = bool(state.get("gone")) and failures > 0
        health = "never polled" if not state else ("gone" if gone else "failing" if failures else "ok")
        rows.append({
            "id": feed.id, "name": feed.name, "url": masked_url(feed.url), "health": health,
            # Whether retrying may mend the last failure; a gone feed (410, 404s in a row) will not soon.
            "transient": failures > 0 and not gone,
            "last_success_at": state.get("last_success_at"), "last_error": _masked(state.get("last_error")),
            "last_error_at": state.get("last_error_at"), "consecutive_failures": failures,
            "next_poll_at": state.get("next_poll_at"), "entries_last_pass": state.get("entries_last_pass"),
        })  # fmt: skip
    return rows


def _masked(text: str | None) -> str | None:
    return masked_url(text) if text else text


def watch_row(w: Watch) -> dict[str, Any]:
    """One watch, for `watch list --json`, the workbench's watches page and its API."""
    return {
        "id": w.id, "name": w.name, "kind": w.kind, "query": w.query_text, "group_id": w.group_id,
        "channels": list(w.channels), "enabled": w.enabled, "created_at": w.created_at,
        "snoozed_until": w.snoozed_until,
    }  # fmt: skip
