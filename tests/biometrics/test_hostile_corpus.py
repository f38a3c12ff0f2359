"""The decode budget against a hostile corpus: every hostile upload is refused with its own
code, as a 422 and never a crash, within a memory budget; genuine photos still load.

Time is not asserted here (no timing assertions in tests): ``bench/decode.py`` measures it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import translation
from PIL import Image, ImageFile

from caseledger.biometrics import containers, decode_budget, images
from caseledger.biometrics.images import load_image
from caseledger.core.errors import ValidationError

# Fixtures of the supervision tests (an enrolled participant, the stub verifier).
from tests.supervision.conftest import enrolled, stub  # noqa: F401

from . import hostile_corpus as corpus
from .hostile_corpus import GENUINE, HOSTILE, measure

#: Memory one upload may add to the process, hostile or not (the budget of the issue).
MEMORY_BUDGET = 200 * 1024 * 1024
SPANISH = Path(images.__file__).resolve().parents[1] / "locale" / "es"


def refusal(data: bytes) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        load_image(data)
    return info.value


@pytest.fixture
def decoded_sizes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, int]]]:
    """(format, size) of every image file Pillow actually decodes during the test."""
    seen: list[tuple[str, tuple[int, int]]] = []
    original = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile):  # type: ignore[no-untyped-def]
        if self.tile:  # not yet decoded
            seen.append((str(self.format), self.size))
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return seen


# --- the corpus -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_upload_is_refused_with_its_code_within_the_memory_budget(
    name: str, decoded_sizes: list[tuple[str, tuple[int, int]]]
) -> None:
    entry = HOSTILE[name]
    data = entry.build()
    measured = measure(lambda: load_image(data))
    error = measured.outcome
    assert isinstance(error, ValidationError), f"{name}: {error!r}"
    assert (error.code, error.status_code, error.field) == (entry.code, 422, "image")
    assert error.message and "Traceback" not in error.message and "Error" not in error.message
    assert measured.rss_growth < MEMORY_BUDGET, f"{name}: {measured.rss_growth >> 20} MiB"
    assert measured.traced_peak < MEMORY_BUDGET
    assert decoded_sizes == []  # refused before any pixel was decoded


@pytest.mark.parametrize("name", sorted(GENUINE))
def test_genuine_photo_loads_within_the_memory_budget(name: str) -> None:
    data = GENUINE[name]()
    measured = measure(lambda: load_image(data))
    image = measured.outcome
    assert isinstance(image, Image.Image), f"{name}: {image!r}"
    assert image.mode == "RGB" and 0 < max(image.size) <= images.MAX_SIDE
    assert measured.rss_growth < MEMORY_BUDGET, f"{name}: {measured.rss_growth >> 20} MiB"


def test_the_corpus_covers_every_refusal_code_and_each_has_its_own_message() -> None:
    codes = {entry.code for entry in HOSTILE.values()}
    # too_large is in test_images.py, busy in test_decodes_at_once_are_limited_per_process
    assert codes | {"too_large", "busy"} == set(images.IMAGE_ERROR_CODES)
    assert set(images.MESSAGES) <= set(images.IMAGE_ERROR_CODES)
    assert len({str(text) for text in images.MESSAGES.values()}) == len(images.MESSAGES)


# --- genuine photos in detail ---------------------------------------------------------------
def test_exif_rotated_photo_is_turned_upright() -> None:
    image = load_image(corpus.exif_rotated_jpeg())
    assert image.size == (200, 300)
    right, left = image.getpixel((190, 150)), image.getpixel((10, 150))
    assert right[0] > 200 and right[2] < 60  # the top edge is now on the right
    assert left[2] > 200 and left[0] < 60


def test_20_mp_jpeg_is_decoded_at_reduced_scale(
    decoded_sizes: list[tuple[str, tuple[int, int]]],
) -> None:
    image = load_image(corpus.jpeg_20mp())
    assert image.size == (1280, 853)
    # libjpeg produced 1/4 scale itself (DCT scaling): 1368 x 912, never the 20 MP.
    assert decoded_sizes == [("JPEG", (1368, 912))]


def test_jpeg_over_the_decode_cap_is_scaled_down_and_other_formats_are_refused(
    decoded_sizes: list[tuple[str, tuple[int, int]]],
) -> None:
    photo = corpus.photo(1200, 800)
    with override_settings(FACE_DECODE_MAX_PIXELS=300_000):
        assert load_image(corpus.encode(photo, "JPEG")).size == (600, 400)
        assert decoded_sizes == [("JPEG", (600, 400))]  # 1/2 scale: 240,000 pixels
        for fmt in ("PNG", "WEBP"):
            error = refusal(corpus.encode(photo, fmt))
            assert error.code == "too_many_pixels" and "1200 x 800" in error.message
    assert len(decoded_sizes) == 1


def test_progressive_jpeg_decodes_like_the_baseline_one() -> None:
    baseline = load_image(corpus.baseline_jpeg())
    progressive = load_image(corpus.progressive_jpeg())
    assert baseline.size == progressive.size == (640, 480)
    assert baseline.getpixel((320, 240)) == pytest.approx(progressive.getpixel((320, 240)), abs=6)


def test_png_with_alpha_is_flattened_over_white() -> None:
    image = load_image(corpus.png_with_alpha())
    assert image.getpixel((10, 10)) == (255, 255, 255)  # transparent half
    assert image.getpixel((300, 10)) == (200, 0, 0)  # opaque half


# --- the limits, one by one -----------------------------------------------------------------
def test_scan_limit_is_exact() -> None:
    at_limit = corpus.many_scans_jpeg(scans=containers.MAX_SCANS, size=64)
    assert load_image(at_limit).size == (64, 64)
    over = corpus.many_scans_jpeg(scans=containers.MAX_SCANS + 1, size=64)
    assert refusal(over).code == "too_many_scans"


def test_small_metadata_is_accepted_but_never_handed_to_the_decoder() -> None:
    png = corpus.small_png()
    comment = corpus.png_chunk(b"zTXt", b"Comment\x00\x00" + corpus._zeros_deflated(1000))
    text = corpus.png_chunk(b"tEXt", b"Author\x00someone")
    image = load_image(corpus._with_chunk_before_idat(png, comment + text))
    assert image.size == (64, 48)
    assert "Comment" not in image.info and "Author" not in image.info


def test_compressed_itxt_over_the_limit_is_refused() -> None:
    payload = b"XML:com.adobe.xmp\x00\x01\x00\x00\x00" + corpus._zeros_deflated(64 * 2**20)
    assert len(payload) > containers.MAX_COMPRESSED_METADATA_BYTES
    png = corpus._with_chunk_before_idat(corpus.small_png(), corpus.png_chunk(b"iTXt", payload))
    assert refusal(png).code == "oversized_metadata"


def test_phone_trailers_after_a_jpeg_pass_but_markup_does_not() -> None:
    jpeg = corpus.baseline_jpeg()
    secondary = corpus.encode(corpus.photo(160, 120), "JPEG")  # an MPF-style second image
    assert load_image(jpeg + secondary).size == (640, 480)
    assert load_image(jpeg + b"\x00" * 64).size == (640, 480)
    assert refusal(jpeg + b"<script>alert(1)</script>").code == "polyglot"
    assert refusal(corpus.small_png() + b"\x01").code == "polyglot"


def test_memory_ceiling_is_checked_before_decoding(
    decoded_sizes: list[tuple[str, tuple[int, int]]],
) -> None:
    data = corpus.baseline_jpeg()
    with override_settings(FACE_DECODE_MAX_BYTES=640 * 480):
        assert refusal(data).code == "too_much_memory"
    assert decoded_sizes == []
    assert load_image(data).size == (640, 480)


def test_decodes_at_once_are_limited_per_process() -> None:
    data = corpus.baseline_jpeg()
    with override_settings(FACE_DECODE_CONCURRENCY=2, FACE_DECODE_WAIT_SECONDS=0):
        with decode_budget.decode_slot():
            assert load_image(data).size == (640, 480)  # one slot left
            with decode_budget.decode_slot():
                error = refusal(data)
                assert error.code == "busy"
        assert load_image(data).size == (640, 480)  # both slots released


# --- messages -------------------------------------------------------------------------------
def test_new_messages_have_spanish_translations_with_their_placeholders() -> None:
    table: dict[str, str] = {}
    for path in sorted(SPANISH.glob("translations*.json")):
        table.update(json.loads(path.read_text(encoding="utf-8")))
    with translation.override("en"):
        english = [str(text) for text in images.MESSAGES.values()]
    missing = [text for text in english if not table.get(text)]
    assert missing == []
    for text in english:
        assert re.findall(r"%\(\w+\)s", text) == re.findall(r"%\(\w+\)s", table[text])


def test_refusals_are_in_the_participants_language() -> None:
    with translation.override("es"):
        assert refusal(corpus.apng()).message.startswith("No se aceptan")
        assert refusal(corpus.many_scans_jpeg()).message.startswith("Esta foto")


# --- through the API ------------------------------------------------------------------------
@pytest.mark.django_db
def test_hostile_photo_posted_to_the_check_in_api_is_a_422(enrolled, client) -> None:  # noqa: F811
    from caseledger.ledger.models import Event
    from caseledger.supervision.models import CheckIn

    user = enrolled.enrolment.person.participant_account
    token = client.post(
        "/api/v1/auth/token",
        {"username": user.username, "password": enrolled.temporary_password},
        content_type="application/json",
    ).json()["token"]
    upload = SimpleUploadedFile("selfie.jpg", corpus.many_scans_jpeg(), "image/jpeg")
    response = client.post(
        "/api/v1/checkins",
        {"latitude": "40.71", "longitude": "-74.00", "accuracy": "20", "image": upload},
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "too_many_scans"
    assert body["detail"].startswith("Esta foto")  # Ana reads Spanish
    assert not CheckIn.objects.exists()
    refused = Event.objects.filter(action="checkin", outcome="failed")
    assert [e.detail.get("reason") for e in refused] == ["too_many_scans"]
