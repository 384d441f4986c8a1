"""``wirewatch stix export``: alerts as a STIX 2.1 bundle on stdout, for threat-intelligence platforms."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from wirewatch.cli.common import err_console, fail, runtime_from, search_errors


@click.group("stix")
def cli() -> None:
    """STIX 2.1 bundles of alerts (reports, intrusion sets, locations, identities)."""


@cli.command("export")
@click.option("--since", help="Alerts created since: 1d, 24h, 30m, 2w or a date (2024-05-01).")
@click.option("--watch", help="Only this watch's alerts (name or id).")
@click.option("--group", help="Only alerts of this tracked group (its id, e.g. islamic-state).")
@click.option("--tlp", help="TLP level for every report (clear, green, amber, red); default: per watch settings.")
@click.pass_context
def export_cmd(ctx: click.Context, since: str | None, watch: str | None, group: str | None, tlp: str | None) -> None:
    """Write one STIX 2.1 bundle of the alerts to stdout, streamed (`> bundle.json`).

    Each alert is a report naming its group's intrusion set, the places, people and organisations of its
    article, and the article as an external reference. Ids are stable: importing a later export updates."""
    from search.alerting.indices import setup_alert_indices
    from search.alerting.scan import AlertFilter
    from search.querying.query import parse_when
    from wirewatch.stix.bundle import BundleStats, stream_bundle
    from wirewatch.stix.export import ExportNotes, TlpPolicy, alert_batches

    try:
        since_at = parse_when(since) if since else None
    except ValueError as exc:
        fail(f"--since: {escape(str(exc))}")
    rt = runtime_from(ctx)
    try:
        policy = TlpPolicy(tlp or rt.settings.stix_tlp, {} if tlp else rt.settings.stix_tlp_by_watch)
    except ValueError as exc:
        fail(f"--tlp: {escape(str(exc))}")
    stats, notes = BundleStats(), ExportNotes()
    try:
        with search_errors(rt.settings.es_url_or_local):
            setup_alert_indices(rt.es, rt.names)
            which = AlertFilter(since=since_at, watch=watch, group=group)
            batches = alert_batches(rt.es, rt.names, which, rt.watchlist(), policy, notes=notes)
            for piece in stream_bundle(batches, stats):
                sys.stdout.write(piece)
            sys.stdout.flush()
    finally:
        rt.close()
    for line in notes.lines():
        err_console.print(f"note: {escape(line)}")
    err_console.print(f"{stats.reports} report(s), {stats.objects} object(s)")
