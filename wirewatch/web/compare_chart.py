"""The comparison chart: grouped bars, one colour per series, drawn on the server as SVG.

Presentation attributes only (no script, no inline style), so the content security policy needs nothing
extra. Both axes are labelled (what is counted, per what; the dates at regular steps), every bar is a link to
the search it counts, and a bucket without any article draws no share bar (a share of nothing is not 0 %).
At phone width the chart keeps a legible size and scrolls sideways (app.css); the table under it has the figures.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from markupsafe import Markup

from wirewatch.web.backend import Comparison

# Okabe-Ito: told apart by readers with the common colour-vision deficiencies
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9")
WIDTH, HEIGHT = 760, 330
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 64, 12, 14, 58
MAX_DATE_LABELS = 8


def compare_svg(
    comparison: Comparison, labels: Sequence[str], link: Callable[[int, int], str], *, share: bool
) -> Markup:
    """Bars per bucket for each series (counts, or share of all articles with ``share``); ``link(series,
    bucket)`` is the search a bar stands for."""
    buckets = len(comparison.dates)
    if not buckets:
        return Markup("")
    values = [[_value(comparison, s, b, share) for b in range(buckets)] for s in range(len(labels))]
    peak = max((v for row in values for v in row if v is not None), default=0.0) or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM
    step = plot_w / buckets
    bar_w = max(step * 0.85 / len(labels), 0.5)
    what = "share of all articles" if share else "articles"
    per = comparison.interval
    parts = [
        # a group, not an img: an img's children are presentational, and every bar is a link to its search
        f'<svg class="compare" viewBox="0 0 {WIDTH} {HEIGHT}" role="group" xmlns="http://www.w3.org/2000/svg" '
        f'aria-label="{html.escape(what)} per {per} for {len(labels)} series, by publication date">',
        *_y_axis(peak, plot_h, share, f"{what} per {per}"),
        *_x_axis(comparison.dates, step, plot_w, plot_h, per),
    ]
    for s, row in enumerate(values):
        for b, value in enumerate(row):
            if value is None:
                continue
            h = plot_h * value / peak
            x = PAD_LEFT + b * step + step * 0.075 + s * bar_w
            shown = f"{value:.1%}" if share else str(int(value))
            tip = f"{labels[s]} · {comparison.dates[b]}: {shown} ({comparison.counts[s][b]} of {comparison.totals[b]})"
            parts.append(
                f'<a href="{html.escape(link(s, b))}"><rect class="bar s{s}" x="{x:.1f}" '
                f'y="{PAD_TOP + plot_h - h:.1f}" width="{bar_w:.1f}" height="{max(h, 0.0):.1f}" fill="{COLOURS[s]}">'
                f"<title>{html.escape(tip)}</title></rect></a>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _value(comparison: Comparison, series: int, bucket: int, share: bool) -> float | None:
    return comparison.share(series, bucket) if share else float(comparison.counts[series][bucket])


def _y_axis(peak: float, plot_h: float, share: bool, title: str) -> list[str]:
    bottom = PAD_TOP + plot_h
    out = [f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{bottom}" stroke="#888"/>']
    for fraction in (0.0, 0.5, 1.0):
        y = bottom - plot_h * fraction
        value = peak * fraction
        text = f"{value:.0%}" if share else (f"{value:.0f}" if value == int(value) else f"{value:.1f}")
        out.append(f'<line x1="{PAD_LEFT - 4}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="#333">{text}</text>'
        )
    middle = PAD_TOP + plot_h / 2
    out.append(
        f'<text x="14" y="{middle:.1f}" transform="rotate(-90 14 {middle:.1f})" text-anchor="middle" '
        f'font-size="12" fill="#333">{html.escape(title)}</text>'
    )
    return out


def _x_axis(dates: Sequence[str], step: float, plot_w: float, plot_h: float, per: str) -> list[str]:
    bottom = PAD_TOP + plot_h
    out = [f'<line x1="{PAD_LEFT}" y1="{bottom}" x2="{PAD_LEFT + plot_w}" y2="{bottom}" stroke="#888"/>']
    every = max(1, -(-len(dates) // MAX_DATE_LABELS))  # ceiling: at most MAX_DATE_LABELS dates
    for i in range(0, len(dates), every):
        x = PAD_LEFT + i * step + step / 2
        out.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="#888"/>')
        out.append(
            f'<text class="date" x="{x:.1f}" y="{bottom + 18}" text-anchor="middle" font-size="12" fill="#333">'
            f"{html.escape(dates[i])}</text>"
        )
    out.append(
        f'<text x="{PAD_LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="12" fill="#333">'
        f"publication date (UTC), one bar per series per {html.escape(per)}</text>"
    )
    return out
