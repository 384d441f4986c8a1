"""``wirewatch alerts list``: alerts and their per-channel delivery state; ``wirewatch alerts acknowledge``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from rich.markup import escape
from rich.table import Table

from wirewatch.cli.common import console, err_console, fail, print_json, runtime_from, search_errors

if TYPE_CHECKING:
    from wirewatch.runtime import Runtime
    from wirewatch.web.store import WebStore


@click.group("alerts")
def cli() -> None:
    """Alerts raised by watches, and where each was delivered."""


@cli.command("list")
@click.option("--since", help="Created since: 1d, 24h, 30m, 2w or a date (2024-05-01).")
@click.option("--watch", help="Watch name or id.")
@click.option("--pending", "state", flag_value="pending", help="Only alerts a channel still has to receive.")
@click.option("--failed", "state", flag_value="failed", help="Only alerts a channel rejected for good.")
@click.option("--delivered", "state", flag_value="delivered", help="Only alerts a channel received.")
@click.option("--unconfigured", "state", flag_value="unconfigured", help="Only alerts for a channel not configured.")
@click.option("--suppressed", "state", flag_value="suppressed", help="Only later reports of an alerted story.")
@click.option(
    "--unacknowledged-by", "user", metavar="USER", help="Only alerts neither this user nor the team acknowledged."
)
@click.option("--assigned-to", "assignee", metavar="USER", help="Only alerts assigned to this workbench user.")
@click.option("--by-published", is_flag=True, help="Newest article first (publication date) instead of newest alert.")
@click.option("--after", help="The cursor printed after the previous page: the alerts older than it.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the alert documents as a JSON list.")
@click.pass_context
def list_cmd(
    ctx: click.Context, since: str | None, watch: str | None, state: str | None, user: str | None,
    assignee: str | None, by_published: bool, after: str | None, limit: int, as_json: bool,
) -> None:  # fmt: skip
    """List alerts, newest first: every filter applies before the limit, and the cursor of the next page is
    printed when more follow (on stderr with --json)."""
    from search.alerting.inbox import alert_page, decode_cursor
    from search.alerting.indices import setup_alert_indices
    from search.errors import InvalidCursor
    from search.querying.query import parse_when

    try:
        since_at = parse_when(since) if since else None
    except ValueError as exc:
        fail(f"--since: {escape(str(exc))}")
    try:
        if after:
            decode_cursor(after)
    except InvalidCursor as exc:
        fail(f"--after: {escape(str(exc))}", "pass the cursor exactly as the previous page printed it")
    rt = runtime_from(ctx)
    try:
        with search_errors(rt.settings.es_url_or_local):
            setup_alert_indices(rt.es, rt.names)
            excluded = _acknowledged_by(rt, user) if user else []
            only = _store(rt, assignee, "--assigned-to").assigned_ids(assignee) if assignee else None
            page = alert_page(
                rt.es, rt.names, since=since_at, watch=watch, state=state, exclude_ids=excluded, only_ids=only,  # type: ignore[arg-type]
                after=after, limit=limit, sort="published" if by_published else "created",
            )  # fmt: skip
    finally:
        rt.close()
    alerts = page.alerts
    if page.next:
        more = f"more alerts: --after {page.next}"
        (err_console if as_json else console).print(more, highlight=False)
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


@cli.command("acknowledge")
@click.argument("alert_id")
@click.option("--as", "username", required=True, metavar="USER", help="The workbench user acknowledging it.")
@click.option("--team", is_flag=True, help="For the whole team: every user sees it acknowledged, and by whom.")
@click.option("--json", "as_json", is_flag=True, help="Print the acknowledgement as JSON.")
@click.pass_context
def acknowledge_cmd(ctx: click.Context, alert_id: str, username: str, team: bool, as_json: bool) -> None:
    """Mark an alert as dealt with, for USER (the default) or for the team."""
    from search.alerting.alerts import existing_alert_ids

    rt = runtime_from(ctx)
    try:
        with search_errors(rt.settings.es_url_or_local):
            store = _store(rt, username, "--as")
            if not existing_alert_ids(rt.es, rt.names, [alert_id]):
                fail(f"no alert with id {escape(alert_id[:40])!r}", "`wirewatch alerts list` shows the alert ids")
            ack = store.acknowledge(username, alert_id, team=team)
    finally:
        rt.close()
    if as_json:
        print_json(ack)
        return
    whom = f"for the team by {ack['username']}" if ack.get("team") else f"by {ack['username']}"
    console.print(f"alert {escape(alert_id)} acknowledged {escape(whom)} at {ack['at'][:19]}", highlight=False)


@cli.command("assign")
@click.argument("alert_id")
@click.option("--to", "assignee", required=True, metavar="USER", help="Who deals with it; '' unassigns.")
@click.option("--as", "username", required=True, metavar="USER", help="The workbench user assigning it.")
@click.option("--json", "as_json", is_flag=True, help="Print the assignment as JSON.")
@click.pass_context
def assign_cmd(ctx: click.Context, alert_id: str, assignee: str, username: str, as_json: bool) -> None:
    """Give an alert to a workbench user (every user sees who has it); --to '' takes it back."""
    from search.alerting.alerts import existing_alert_ids
    from wirewatch.web.store import WebStateError

    rt = runtime_from(ctx)
    try:
        with search_errors(rt.settings.es_url_or_local):
            store = _store(rt, username, "--as")
            if not existing_alert_ids(rt.es, rt.names, [alert_id]):
                fail(f"no alert with id {escape(alert_id[:40])!r}", "`wirewatch alerts list` shows the alert ids")
            try:
                assigned = store.assign(alert_id, assignee or None, by=username)
            except WebStateError as exc:
                fail(f"--to: {escape(str(exc))}")
    finally:
        rt.close()
    if as_json:
        print_json(assigned)
        return
    whom = f"assigned to {assigned['assignee']}" if assigned["assignee"] else "unassigned"
    console.print(f"alert {escape(alert_id)} {escape(whom)} by {escape(username)}", highlight=False)


def _store(rt: Runtime, username: str, option: str) -> WebStore:
    from wirewatch.web.store import WebStore, setup_web_indices

    setup_web_indices(rt.es, rt.names)
    store = WebStore(rt.es, rt.names)
    if store.user(username) is None:
        fail(f"{option}: no workbench user {escape(username)!r}", "`wirewatch users list` shows them")
    return store


def _acknowledged_by(rt: Runtime, username: str) -> list[str]:
    return _store(rt, username, "--unacknowledged-by").acknowledged_ids(username)


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
