"""Line charts as inline SVG, with axes and units, for the ops page (no chart library)."""

from __future__ import annotations

import math
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 56, 10, 10, 30
AXIS = "#374151"  # 10:1 on white: tick labels stay readable
GRID = "#e5e7eb"
LINE = "#1a56db"


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least ``value``: a top of
    the y axis whose halves are round numbers."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if value <= m * power * (1 + 1e-9))


def tick(value: float, unit: str) -> str:
    number = f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
    return f"{number} {unit}".strip()


def line_chart(values: list[float], *, label: str, unit: str, minutes: int) -> SafeString:
    """``values``: one a minute, the oldest first, over the last ``minutes``. The y axis is in
    ``unit`` from 0 to a round number above the peak; the x axis runs from ``-minutes`` to now.
    Only numbers and escaped text go into it, so it is safe to mark as such."""
    top = nice_ceiling(max(values, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(1, len(values) - 1)

    def y(v: float) -> float:
        return TOP + plot_h - (v / top) * plot_h

    points = " ".join(f"{LEFT + i * step:.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts = [f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#f8fafc"/>']
    for fraction in (0.0, 0.5, 1.0):
        at = y(top * fraction)
        parts.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{at:.1f}" y2="{at:.1f}" stroke="{GRID}"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{at + 4:.1f}" text-anchor="end" font-size="11" fill="{AXIS}">'
            f"{escape(tick(top * fraction, unit))}</text>"
        )
    for fraction, text in ((0.0, f"−{minutes} min"), (0.5, f"−{minutes // 2} min"), (1.0, "now")):
        at = LEFT + fraction * plot_w
        anchor = "start" if fraction == 0 else "end" if fraction == 1 else "middle"
        parts.append(f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" stroke="{AXIS}"/>')
        parts.append(
            f'<text x="{at:.1f}" y="{HEIGHT - 10}" text-anchor="{anchor}" font-size="11" fill="{AXIS}">{text}</text>'
        )
    parts.append(
        f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="{AXIS}"/>'
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="{AXIS}"/>'
    )
    if values:
        parts.append(f'<polyline fill="none" stroke="{LINE}" stroke-width="2" points="{points}"/>')
    peak = max(values, default=0.0)
    summary = escape(f"{label}, last {minutes} minutes, peak {tick(peak, unit)}")
    return mark_safe(
        f'<svg width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{summary}">'
        f"<title>{summary}</title>{''.join(parts)}</svg>"
    )
