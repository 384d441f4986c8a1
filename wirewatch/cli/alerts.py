"""``wirewatch alerts list``: alerts and their per-channel delivery state."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from wirewatch.cli.common import console, fail, print_json, runtime_from, search_errors


@click.group("alerts")
def cli() -> None:
    """Alerts raised by watches, and where each was delivered."""


@cli.command("list")
@click.option("--since", help="Created since: 1d, 24h, 30m, 2w or a date (2024-05-01).")
@click.option("--watch", help="Watch name or id.")
@click.option("--pending", "state", flag_value="pending", help="Only alerts a channel still has to receive.")
@click.option("--failed", "state", flag_value="failed", help="Only alerts a channel rejected for good.")
@click.option("--unconfigured", "state", flag_value="unconfigured", help="Only alerts for a channel not configured.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the alert documents as a JSON list.")
@click.pass_context
def list_cmd(
    ctx: click.Context, since: str | None, watch: str | None, state: str | None, limit: int, as_json: bool
) -> None:
    """List alerts, newest first."""
    from search.alerting.alerts import list_alerts
    from search.alerting.indices import setup_alert_indices
    from search.querying.query import parse_when

    try:
        since_at = parse_when(since) if since else None
    except ValueError as exc:
        fail(f"--since: {escape(str(exc))}")
    rt = runtime_from(ctx)
    try:
        with search_errors(rt.settings.es_url_or_local):
            setup_alert_indices(rt.es, rt.names)
            alerts = list_alerts(rt.es, rt.names, since=since_at, watch=watch, state=state, limit=limit)  # type: ignore[arg-type]
    finally:
        rt.close()
    if as_json:
        print_json(alerts)
        return
    if not alerts:
        console.print("no alerts match")
        return
    table = Table("created", "watch", "title", "source", "deliveries", title="Alerts")
    for alert in alerts:
        table.add_row(
            str(alert["created_at"])[:19], escape(alert["watch"]["name"]), escape(alert.get("title") or ""),
            escape(alert.get("source") or "-"), escape(_deliveries(alert)),
        )  # fmt: skip
    console.print(table)


def _deliveries(alert: dict[str, Any]) -> str:
    parts = []
    for d in alert.get("deliveries") or ():
        text = f"{d['channel']}: {d['state']}"
        if d["state"] == "unconfigured":
            text += f" ({d.get('last_error') or 'no such channel'}; configure it to deliver)"
        elif d["state"] != "delivered" and d.get("attempts"):
            text += f" ({d['attempts']} tries: {d.get('last_error') or '?'})"
        parts.append(text)
    copies = len(alert.get("also_seen") or ())
    if copies:
        parts.append(f"+{copies} same-story cop{'y' if copies == 1 else 'ies'}")
    return "\n".join(parts) or "-"
