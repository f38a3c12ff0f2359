import io

import pytest
from pypdf import PdfReader

from caseledger.core.pdf import OfflineFetchError, html_to_pdf, static_path


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_print_stylesheet_applies():
    # The print stylesheet sets Letter pages: 612 x 792 points.
    page = PdfReader(io.BytesIO(html_to_pdf("<p>x</p>"))).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)


def test_pdf_holds_the_text_including_spanish():
    pdf = html_to_pdf("<h1>Registro de la señora</h1><p>Próxima audiencia</p>")
    assert pdf.startswith(b"%PDF-")
    text = _text(pdf)
    assert "Registro de la se" in text
    assert "audiencia" in text


def test_remote_urls_are_never_fetched():
    with pytest.raises(OfflineFetchError):
        static_path("https://example.com/tracker.png")
    with pytest.raises(OfflineFetchError):
        static_path("static:../settings.py")
    # A document that names a remote image still renders, without it.
    pdf = html_to_pdf('<p>Before</p><img src="https://example.com/x.png" alt=""><p>After</p>')
    assert "After" in _text(pdf)


def test_local_static_files_resolve():
    with open(static_path("static:caseledger/print.css"), "rb") as fh:
        assert b"@page" in fh.read()


def test_rendering_a_pdf_leaves_truncated_uploads_refused():
    """WeasyPrint switches Pillow's process-wide LOAD_TRUNCATED_IMAGES on when imported; a
    truncated photo must still be refused after a PDF was rendered."""
    from PIL import Image, ImageFile

    from caseledger.biometrics.images import load_image
    from caseledger.core.errors import ValidationError

    html_to_pdf("<p>x</p>")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 80, 60)).save(buffer, format="JPEG")
    truncated = buffer.getvalue()[: len(buffer.getvalue()) // 2]
    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as if another import had switched it on
    with pytest.raises(ValidationError):
        load_image(truncated)
