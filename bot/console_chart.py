"""Horizontal bar charts for the console, drawn as inline SVG (no script): a visible
title, a value axis with its unit, and a <title>/<desc> pair so that a screen reader
hears what the chart shows and its extremes. The table beside it holds the same
figures; a chart of one bar says nothing the table does not, so none is drawn."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

BAR, WIDTH, LABEL, TOP, AXIS = 22, 680, 200, 24, 34
Shown = Callable[[float], str]


def plain(value: float) -> str:
    return f"{value:g}" if value == int(value) else f"{value:.2f}"


def bars(
    key: str,
    title: str,
    unit: str,
    values: Sequence[tuple[str, float]],
    shown: Shown = plain,
) -> str:
    """One bar per (label, value), in the order given; negative values in red, drawn
    from the same zero. Empty when there are fewer than two bars."""
    if len(values) < 2:
        return ""
    top = max(abs(v) for _, v in values) or 1.0
    span = WIDTH - LABEL - 70
    height = TOP + BAR * len(values) + AXIS
    drawn = []
    for i, (text, amount) in enumerate(values):
        y, size = TOP + i * BAR, max(1.0, abs(amount) / top * span)
        drawn.append(
            f'<text x="{LABEL - 6}" y="{y + 15}" text-anchor="end">{escape(text[:30])}</text>'
            f'<rect x="{LABEL}" y="{y + 3}" width="{size:.1f}" height="{BAR - 6}" '
            f'fill="{"#dc2626" if amount < 0 else "#2563eb"}"></rect>'
            f'<text x="{LABEL + size + 4:.1f}" y="{y + 15}">{escape(shown(amount))}</text>'
        )
    base = TOP + BAR * len(values) + 2
    axis = (
        f'<line x1="{LABEL}" y1="{base}" x2="{LABEL + span}" y2="{base}" stroke="#555"></line>'
        f'<text x="{LABEL}" y="{base + 14}" text-anchor="middle">0</text>'
        f'<text x="{LABEL + span}" y="{base + 14}" text-anchor="middle">'
        f"{escape(shown(top))}</text>"
        f'<text x="{LABEL + span / 2:.0f}" y="{base + 30}" text-anchor="middle" '
        f'class="unit">{escape(unit)}</text>'
    )
    return (
        f'<figure class="chart"><svg role="img" aria-labelledby="{key}-title {key}-desc" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}">'
        f'<title id="{key}-title">{escape(title)}</title>'
        f'<desc id="{key}-desc">{escape(describe(unit, values, shown))}</desc>'
        f'<text x="0" y="15" class="title">{escape(title)}</text>'
        f"{''.join(drawn)}{axis}</svg></figure>"
    )


def describe(unit: str, values: Sequence[tuple[str, float]], shown: Shown) -> str:
    """What a listener needs from the chart: how many bars, the largest and smallest."""
    high = max(values, key=lambda pair: pair[1])
    low = min(values, key=lambda pair: pair[1])
    return (
        f"{len(values)} bars of {unit}: the highest {high[0]} ({shown(high[1])}), "
        f"the lowest {low[0]} ({shown(low[1])}). The table below has every figure."
    )
