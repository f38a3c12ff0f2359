"""Horizontal bar charts as inline SVG, drawn on the server (no JavaScript; fit for PDF).

Deterministic: the same rows give the same bytes. Each chart is `role="img"` with a
<title> and <desc> naming it and listing its numbers; the page puts the same numbers in a
table next to it. A suppressed figure gets no bar (its length would reveal the number),
only its label "fewer than 10" (or "withheld", for complementary suppression).
"""

from __future__ import annotations

from typing import Any

from django.utils.html import escape

BAR_COLOUR = "#005ea2"  # USWDS primary: 7:1 against white
TEXT_COLOUR = "#1b1b1b"
ROW_HEIGHT = 26
LABEL_WIDTH = 260
BAR_WIDTH = 300
VALUE_WIDTH = 110


def bar_chart(chart_id: str, title: str, rows: list[tuple[str, Any, int | None]]) -> str:
    """`rows` are (label, shown value, bar value or None)."""
    height = max(1, len(rows)) * ROW_HEIGHT + 8
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    largest = max([v for _l, _s, v in rows if v] or [1])
    desc = "; ".join(f"{label}: {shown}" for label, shown, _v in rows) or "No events."
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="100%" '
        f'viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" class="cl-chart" '
        'font-family="Source Sans Pro, Helvetica, Arial, sans-serif">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    if not rows:
        parts.append(f'<text x="0" y="20" fill="{TEXT_COLOUR}" font-size="14">No events.</text>')
    for i, (label, shown, value) in enumerate(rows):
        y = 4 + i * ROW_HEIGHT
        text_y = y + ROW_HEIGHT / 2 + 5
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{text_y:.0f}" text-anchor="end" '
            f'fill="{TEXT_COLOUR}" font-size="13">{escape(label)}</text>'
        )
        bar = round(BAR_WIDTH * value / largest) if value else 0
        if bar:
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{bar}" height="{ROW_HEIGHT - 6}" '
                f'fill="{BAR_COLOUR}"/>'
            )
        parts.append(
            f'<text x="{LABEL_WIDTH + bar + 6}" y="{text_y:.0f}" fill="{TEXT_COLOUR}" '
            f'font-size="13">{escape(str(shown))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
