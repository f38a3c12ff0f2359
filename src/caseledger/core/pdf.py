"""PDF documents from the same HTML templates as the pages (WeasyPrint).

Nothing is fetched over the network while rendering: stylesheets and images may come only
from the app's own static files (`static:NAME`) or be inline (`data:`). Any other URL is
refused, and the document renders without it.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

PDF_STYLESHEET = "caseledger/print.css"


class OfflineFetchError(ValueError):
    pass


def static_path(url: str) -> str:
    """The local file a `static:NAME` URL names; OfflineFetchError for anything else."""
    name = url.removeprefix("static:") if url.startswith("static:") else ""
    path = finders.find(name) if name and ".." not in name.split("/") else None
    if not path:
        raise OfflineFetchError(f"refusing to fetch {url!r} while rendering a PDF")
    return str(path)


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = static_path(url)
            content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
            with open(path, "rb") as fh:
                return URLFetcherResponse(
                    url, body=fh.read(), headers={"Content-Type": content_type}
                )

    return StaticOnlyFetcher(allowed_protocols={"static", "data"})


def html_to_pdf(html: str) -> bytes:
    from PIL import ImageFile
    from weasyprint import CSS, HTML

    # Importing WeasyPrint turns on Pillow's process-wide LOAD_TRUNCATED_IMAGES; uploads must
    # still be refused when truncated (biometrics.images), so switch it back off. Our PDFs
    # embed only our own static images.
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    fetcher = _fetcher()
    stylesheet = finders.find(PDF_STYLESHEET)
    sheets = [CSS(filename=stylesheet, url_fetcher=fetcher)] if stylesheet else []
    document = HTML(string=html, url_fetcher=fetcher, base_url="static:")
    return document.write_pdf(stylesheets=sheets)


def render_pdf(template_name: str, context: dict[str, Any] | None = None) -> bytes:
    """Render a Django template (a standalone HTML document) to PDF bytes."""
    return html_to_pdf(render_to_string(template_name, context or {}))
