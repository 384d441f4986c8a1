"""The events page's chart: events per day (or week) for the most active tracked groups, one line each.

SVG drawn on the server with presentation attributes only, like the attention chart (render.attention_svg):
no script, nothing for the content security policy. The legend and a table under the chart carry the same
figures as text, so the colours are never the only way to read them.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from markupsafe import Markup

COLOURS = ("#3465a4", "#c0392b", "#2e8b57", "#b35900", "#6a3d9a")  # told apart in the legend by name, too


def series_svg(
    days: Sequence[str], groups: Mapping[str, Sequence[int]], names: Mapping[str, str], *, interval: str,
    width: int = 720, height: int = 180,
) -> Markup:  # fmt: skip
    """One polyline per group over ``days`` (bucket starts); empty markup without data."""
    if not days or not groups:
        return Markup("")
    pad_left, pad_right, pad_top, pad_bottom = 36, 12, 10, 24
    plot_w, plot_h = width - pad_left - pad_right, height - pad_top - pad_bottom
    peak = max((max(counts) for counts in groups.values() if counts), default=1) or 1
    step = plot_w / max(1, len(days) - 1)
    label = f"Events per {interval} of the most active tracked groups"
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{pad_left + plot_w}" y2="{pad_top + plot_h}" '
        'stroke="#888"/>',
        f'<text x="{pad_left - 4}" y="{pad_top + 10}" text-anchor="end" font-size="10" fill="#555">{peak}</text>',
    ]
    for (group, counts), colour in zip(groups.items(), COLOURS, strict=False):
        xy = [(pad_left + i * step if len(days) > 1 else pad_left + plot_w / 2, pad_top + plot_h * (1 - c / peak))
              for i, c in enumerate(counts)]  # fmt: skip
        name = html.escape(names.get(group, group))
        parts.append(
            f'<polyline class="series" data-group="{html.escape(group)}" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
            + f'" fill="none" stroke="{colour}" stroke-width="2"><title>{name}</title></polyline>'
        )
        for (x, y), day, count in zip(xy, days, counts, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{name}, {html.escape(day)}: {count}</title></circle>"
            )
    for i in sorted({0, len(days) - 1}):
        anchor = "start" if i == 0 else "end"
        parts.append(
            f'<text x="{pad_left + i * step:.1f}" y="{height - 6}" text-anchor="{anchor}" font-size="10" '
            f'fill="#555">{html.escape(days[i])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
