"""The transparency report as JSON, a standalone HTML document, or a PDF."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from . import charts, transparency

PRINT_TEMPLATE = "reports/transparency_print.html"


def with_charts(tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {**t, "svg": mark_safe(charts.bar_chart(f"chart-{t['id']}", t["title"], t["rows"]))}  # noqa: S308
        for t in tables
    ]


def context(data: Any) -> dict[str, Any]:
    return {
        "report": data.report,
        "headline": data.headline,
        "tables": with_charts(data.tables),
        "threshold": transparency.SUPPRESSION_THRESHOLD,
        "suppressed": transparency.SUPPRESSED,
        "withheld": transparency.WITHHELD,
    }


def render(data: Any, fmt: str) -> bytes:
    if fmt == "json":
        return transparency.to_json(data.report)
    if fmt == "html":
        return render_to_string(PRINT_TEMPLATE, context(data)).encode()
    if fmt == "pdf":
        from caseledger.core.pdf import render_pdf

        return render_pdf(PRINT_TEMPLATE, context(data))
    raise ValueError(f"unknown format {fmt!r}")
