"""Readable terminal rendering of a pass summary."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wirewatch.settings import masked_url
from wirewatch.summary import ENTRY_STATES


def render_summary(console: Console, data: dict[str, Any]) -> None:
    """Print a pass summary (``PassSummary.to_dict()``) as a few small tables."""
    status = data["status"]
    colour = {"ok": "green", "partial": "yellow"}.get(status, "red")
    console.print(f"[bold]Pass {status}[/] in {data['duration_s']:.1f}s", style=colour, highlight=False)
    if data.get("fatal"):
        console.print(f"[red]could not run:[/] {escape(masked_url(data['fatal']))}", highlight=False)

    counts = Table(title="Entries", show_header=True)
    for state in ENTRY_STATES:
        counts.add_column(state, justify="right")
    counts.add_column("offered", justify="right")
    counts.add_row(*(str(data["entries"][s]) for s in ENTRY_STATES), str(data["offered"]))
    console.print(counts)

    feeds = ", ".join(f"{k} {v}" for k, v in sorted(data["feeds"].items())) or "none"
    alerts = ", ".join(f"{k} {v}" for k, v in sorted(data["alerts"].items())) or "none"
    deliveries = ", ".join(f"{k} {v}" for k, v in sorted(data["deliveries"].items())) or "none"
    console.print(f"feeds: {feeds}\nalerts: {alerts}\ndeliveries: {deliveries}", highlight=False)
    if data.get("entities_added"):
        console.print(f"entities added to {data['entities_added']} article(s)", highlight=False)

    stages = Table(title="Time per stage (s)")
    for stage in data["stage_seconds"]:
        stages.add_column(stage, justify="right")
    stages.add_row(*(f"{v:.2f}" for v in data["stage_seconds"].values()))
    console.print(stages)

    if data["failures"]:
        table = Table(title=f"Failures ({len(data['failures'])})")
        for column in ("stage", "subject", "reason", "retry"):
            table.add_column(column, overflow="fold")
        for failure in data["failures"][:50]:
            table.add_row(
                failure["stage"],
                escape(failure["subject"]),
                escape(failure["reason"]),
                "later" if failure["transient"] else "no",
            )
        console.print(table)
        if len(data["failures"]) > 50:
            console.print(f"... and {len(data['failures']) - 50} more (use --json for all)")
