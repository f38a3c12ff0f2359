"""Charts for supervision pages, drawn on the server as SVG (no JavaScript, fit for PDF too).

Uses matplotlib's object API (a Figure per call, no pyplot state), so it is safe in threads.
The SVG is deterministic for the same data (fixed hash salt, no date in the metadata).
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")

from django.utils.translation import gettext as _  # noqa: E402
from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

# USWDS palette, each at least 3:1 against white and against its neighbours in the stack.
SERIES = (
    ("verified", "#00a91c", ""),
    ("review", "#c05600", "//"),
    ("missed", "#1b1b1b", "\\\\"),
)


def series_labels() -> dict[str, str]:
    return {
        "verified": _("Verified"),
        "review": _("Sent to review"),
        "missed": _("Missed"),
    }


def outcome_rows(weekly: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    """The chart's numbers, one row per week, for the table that goes with it."""
    return [
        (week_label(week), verified, review, missed)
        for week, verified, review, missed in zip(
            weekly["weeks"], weekly["verified"], weekly["review"], weekly["missed"], strict=True
        )
    ]


def week_label(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day:%b} {day.day}"


def outcomes_svg(weekly: dict[str, Any], *, title_id: str = "outcomes-caption") -> str:
    """A stacked bar chart of check-in outcomes per week, as an inline <svg> element.

    `weekly` is `selectors.weekly_outcomes(...)`: {"weeks": [iso dates], "verified": [...],
    "review": [...], "missed": [...]}. The element is labelled by `title_id` (the figcaption
    that the page puts around it); the page also carries the numbers as a table."""
    labels = [week_label(w) for w in weekly["weeks"]]
    names = series_labels()
    figure = Figure(figsize=(7.5, 2.6), dpi=100)
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    bottom = [0] * len(labels)
    for key, colour, hatch in SERIES:
        values = weekly[key]
        axes.bar(
            range(len(labels)),
            values,
            bottom=bottom,
            color=colour,
            hatch=hatch,
            edgecolor="white",
            linewidth=0.6,
            label=names[key],
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_xticks(range(len(labels)), labels)
    axes.set_ylabel(_("Check-ins"))
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_ylim(0, max([*bottom, 1]) * 1.15)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.legend(loc="upper left", frameon=False, ncols=3, fontsize=9)
    axes.tick_params(labelsize=9)
    figure.tight_layout()
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "caseledger", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return _inline(buffer.getvalue(), title_id)


def _inline(svg: str, title_id: str) -> str:
    """Drop the XML prologue, make the drawing scale to its container and label it."""
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, count=1, flags=re.DOTALL)
    # matplotlib's stylesheet is `*{...}`: inline, it would apply to the whole page.
    svg = re.sub(r"<style[^>]*>.*?</style>", "", svg, count=1, flags=re.DOTALL)
    # The page's Content-Security-Policy refuses style attributes; SVG presentation
    # attributes (fill="...", stroke="...") say the same and are not styles.
    svg = re.sub(r'\sstyle="([^"]*)"', _presentation_attributes, svg)
    return re.sub(
        r'<svg[^>]*?(viewBox="[^"]+")[^>]*>',
        lambda m: (
            f'<svg xmlns="http://www.w3.org/2000/svg" {m.group(1)} role="img" '
            f'aria-labelledby="{title_id}" class="cl-chart" '
            'preserveAspectRatio="xMidYMid meet">'
        ),
        svg,
        count=1,
    )


def _presentation_attributes(match: re.Match[str]) -> str:
    """` style="fill: #fff; stroke-width: 0.6"` -> ` fill="#fff" stroke-width="0.6"`."""
    pairs = (part.split(":", 1) for part in match.group(1).split(";") if ":" in part)
    return "".join(f' {name.strip()}="{value.strip()}"' for name, value in pairs)
