"""A check-in from a phone, in real Chromium with a fake camera and a fake location, checked by
the real dlib face verifier and the liveness check; then the officer's review, the only thing
that changes compliance.

The camera shows a head turning: scikit-image's `data.astronaut()` (the face enrolled) or
matplotlib's `grace_hopper.jpg` (someone else), each draped over a generic 3-D head and turned
to its left and to its right by the liveness evaluation's renderer
(`biometrics.liveness_eval.render_turn`), looped as a .y4m video written here in Python (a y4m
is a header and raw YUV planes), so the suite needs no ffmpeg. The loop (at rest 0.2 s, turned
left 0.4 s, turned right 0.4 s) shows "left, then right" in any two seconds the page records;
the server's prompts are made "left, then right" for the test.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import numpy as np
import pytest
from django.utils import timezone
from matplotlib import cbook
from PIL import Image
from playwright.sync_api import Browser, Page, Playwright, expect
from skimage import data

from caseledger.biometrics import liveness
from caseledger.biometrics.liveness_eval import render_turn
from caseledger.biometrics.liveness_frames import DlibBurstReader
from caseledger.biometrics.verifier import DlibResNetVerifier
from caseledger.people.models import Address
from caseledger.supervision import services
from caseledger.supervision.models import CheckIn, Compliance, Enrolment, Review
from tests.browser.conftest import (
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    TIMEOUT_MS,
    check_axe,
    horizontal_overflow,
    sign_in,
)
from tests.conftest import context

pytestmark = pytest.mark.browser

NEWARK = {"latitude": 40.7357, "longitude": -74.1724, "accuracy": 20}
SCREENSHOT_DIR = os.environ.get("CASELEDGER_SCREENSHOT_DIR", "")


def _png(array: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _canvas(photo: Image.Image, width: int = 640, height: int = 480) -> Image.Image:
    """The photo on a `width`x`height` black frame (aspect kept, centred)."""
    image = photo.convert("RGB")
    image.thumbnail((width, height), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (width, height))
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    return canvas


def _y4m(frames: Sequence[Image.Image], out: Path, *, fps: int = 5) -> Path:
    """A video of `frames` (all of one size) at `fps`, for Chromium's fake camera (which loops
    it): YUV4MPEG2, 4:2:0, BT.601 limited range."""
    width, height = frames[0].size

    def subsample(plane: np.ndarray) -> np.ndarray:
        return plane.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3))

    def frame(image: Image.Image) -> bytes:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        y = 16 + 219 * (0.299 * r + 0.587 * g + 0.114 * b)
        cb = 128 + 224 * (-0.168736 * r - 0.331264 * g + 0.5 * b)
        cr = 128 + 224 * (0.5 * r - 0.418688 * g - 0.081312 * b)
        planes = [y, subsample(cb), subsample(cr)]
        return b"FRAME\n" + b"".join(
            np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in planes
        )

    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    out.write_bytes(header + b"".join(frame(f) for f in frames))
    return out


TURN_DEG = 20.0  # each way; the renderer's turns of 12-25 degrees are its bona fide kind


def _turning(photo: Image.Image, reader: DlibBurstReader) -> list[Image.Image]:
    """One loop of the head: at rest (1 frame), turned to its left (2), to its right (2). The
    frames are not mirrored: a turn to the person's left moves the nose to the image's right
    (positive yaw for the renderer)."""
    scene = _canvas(photo)
    landmarks = reader.read([scene], max_side=scene.width)[0].landmarks
    assert landmarks is not None, "the renderer needs the face's landmarks"
    left = render_turn(scene, landmarks, TURN_DEG)
    right = render_turn(scene, landmarks, -TURN_DEG)
    return [scene, left, left, right, right]


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    small = image.copy()
    small.thumbnail((liveness.MAX_FRAME_SIDE, liveness.MAX_FRAME_SIDE))
    small.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("faces")
    verifier = DlibResNetVerifier()
    reader = DlibBurstReader(verifier)
    astronaut = _turning(Image.fromarray(data.astronaut()), reader)
    hopper = _turning(Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)),
                      reader)
    # The video itself passes the check when its frames are sent directly (so a failure
    # below is the page's or the camera's, not the rendering's).
    challenge = liveness.Challenge("video", ("turn_left", "turn_right"),
                                   datetime.now(UTC), datetime.now(UTC) + timedelta(hours=1))
    template = verifier.embed(_png(data.astronaut())).template()
    result = liveness.check_burst([_jpeg(astronaut[k]) for k in (0, 1, 3)], challenge,
                                  template, verifier)
    assert result.verified, result.as_dict()
    wall = Image.fromarray(np.full((480, 640, 3), 180, dtype=np.uint8))  # no face at all
    return {
        "astronaut": _y4m(astronaut, folder / "astronaut.y4m"),
        "grace_hopper": _y4m(hopper, folder / "grace_hopper.y4m"),
        "wall": _y4m([wall] * 5, folder / "wall.y4m"),
    }


@pytest.fixture(autouse=True)
def left_then_right(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """Liveness on, and the server's prompts "left, then right" (what the videos show);
    `Random(1)` makes `new_challenge` choose that order."""
    settings.LIVENESS_REQUIRED = True
    issue = services.issue_challenge
    monkeypatch.setattr(services, "issue_challenge",
                        lambda **kwargs: issue(**kwargs, rng=Random(1)))


@pytest.fixture
def phone_with_camera(
    playwright: Playwright, faces: dict[str, Path]
) -> Iterator[Callable[[str], Page]]:
    """A phone-sized page in its own Chromium whose camera shows `faces[name]`; location is
    allowed and set to Newark."""
    browsers: list[Browser] = []
    errors: list[str] = []

    def open_phone(name: str) -> Page:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-device-for-media-stream",
                "--use-fake-ui-for-media-stream",
                f"--use-file-for-fake-video-capture={faces[name]}",
            ],
        )
        browsers.append(browser)
        ctx = browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="en-US",
            timezone_id="America/New_York",
            geolocation=NEWARK,
            permissions=["geolocation", "camera"],
        )
        ctx.set_default_timeout(TIMEOUT_MS)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield open_phone
    for browser in browsers:
        browser.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _shot(page: Page, name: str) -> None:
    if SCREENSHOT_DIR:
        Path(SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOT_DIR) / f"{name}.png"), full_page=True)


def _enrol(users: dict, make_person: Callable, given: str, family: str) -> tuple[Any, str]:
    """Enrolled with the astronaut's photo, Spanish-speaking, a window open now."""
    person = make_person("officer_east", given, family, languages=["es"])
    result = services.enrol(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        data=services.EnrolmentInput(
            level="standard",
            photo=_png(data.astronaut()),
            language="es",
            acknowledged=True,
            alternatives_offered=["office_visit", "phone_call"],
            conditions=["attend_hearings"],
            first_window_at=timezone.now() - timedelta(hours=1),
        ),
    )
    return result.enrolment, f"{result.username}\n{result.temporary_password}"


def _participant_signs_in(page: Page, live_server: Any, credentials: str) -> None:
    username, password = credentials.split("\n")
    page.goto(f"{live_server.url}/me/")
    page.wait_for_url("**/accounts/login/?next=/me/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/me/")


def _check_in_with_camera(page: Page, shot: str, *, link: str = "Presentarse ahora") -> None:
    """From the home page: open the check-in, press Start, follow the prompt (the camera's
    video turns), and wait for the answer, which takes the keyboard focus."""
    page.get_by_role("link", name=link).click()
    page.wait_for_url("**/me/check-in/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Presentarse")
    _record_burst(page, shot)


def _record_burst(page: Page, shot: str) -> None:
    expect(page.locator("[data-checkin-status]")).to_contain_text("Cámara encendida")
    # A property wait, not wait_for_function: the page's CSP refuses the eval that needs.
    expect(page.locator("[data-burst-camera] video")).not_to_have_js_property("videoWidth", 0)
    assert horizontal_overflow(page) == 0
    check_axe(page)
    _shot(page, shot)
    page.get_by_role("button", name="Empezar").click()
    prompt = page.locator("[data-prompt]")
    # The prompt, in large words, while the burst is recorded (the server chose the order).
    expect(prompt).to_have_text(re.compile(r"Gire la cabeza un poco hacia su (izquierda|derecha)"))
    assert prompt.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 28
    _shot(page, f"{shot}-prompt")
    # The answer page puts the keyboard and the screen reader on its result, not the top.
    expect(page.locator("[data-focus-result]")).to_be_focused(timeout=60_000)


def test_check_in_from_a_phone_and_the_officers_review(
    phone_with_camera, page, live_server, users, make_person, settings
):
    settings.FACE_VERIFIER = "dlib"
    ana, ana_login = _enrol(users, make_person, "Ana", "Ramirez")
    luis, luis_login = _enrol(users, make_person, "Luis", "Fernandez")
    Address.objects.filter(person=ana.person).update(latitude="40.735700", longitude="-74.172400")

    # Ana checks in with her own face: verified.
    phone = phone_with_camera("astronaut")
    _participant_signs_in(phone, live_server, ana_login)
    expect(phone.locator("html")).to_have_attribute("lang", "es")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Mis presentaciones")
    expect(phone.get_by_text("Intentos que le quedan: 3 de 3.")).to_be_visible()
    assert horizontal_overflow(phone) == 0
    check_axe(phone)
    _shot(phone, "phone-1-my-checkins-es")
    _check_in_with_camera(phone, "phone-2-check-in-es")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Presentación completa")
    expect(phone.locator("[data-outcome]")).to_have_attribute("data-outcome", "verified")
    expect(phone.locator("[data-result]")).to_have_text("Verificada: su foto coincidió.")
    checkin = CheckIn.objects.get(enrolment=ana)
    assert checkin.outcome == "verified" and checkin.distance < checkin.threshold
    assert (float(checkin.latitude), float(checkin.longitude)) == (40.7357, -74.1724)
    expect(phone.get_by_role("heading", level=1)).to_be_focused()
    expect(phone.locator("[data-state]")).to_have_attribute("data-state", "verified")
    # Plain words: no receipt number, no ledger event id, no try count once done.
    for hidden in (str(checkin.pk), str(checkin.ledger_event), "Intento"):
        expect(phone.get_by_text(hidden)).to_have_count(0)
    assert horizontal_overflow(phone) == 0
    check_axe(phone)
    _shot(phone, "phone-3-receipt-verified-es")

    # The check recorded the burst: live, the prompts followed, the challenge with it.
    assert (checkin.liveness_outcome, checkin.liveness_reason) == ("live", "ok")
    assert checkin.liveness["challenge"]["prompts"] == ["turn_left", "turn_right"]
    assert 3 <= len(checkin.liveness["frames"]) <= liveness.MAX_FRAMES
    assert all(f["image_size"] and max(f["image_size"]) <= 480 for f in checkin.liveness["frames"])

    # Luis's phone shows someone else turning: asked to try once more, then a person looks.
    phone = phone_with_camera("grace_hopper")
    _participant_signs_in(phone, live_server, luis_login)
    _check_in_with_camera(phone, "phone-4-check-in-other-face")
    expect(phone.locator("[data-retake]")).to_contain_text("inténtelo una vez más")
    expect(phone.locator("[data-retake]")).to_contain_text("incumplimiento")
    assert horizontal_overflow(phone) == 0
    check_axe(phone)
    _shot(phone, "phone-4b-retake-es")
    _record_burst(phone, "phone-4c-check-in-again")
    expect(phone.get_by_role("heading", level=1)).to_have_text("Presentación recibida")
    expect(phone.locator("[data-outcome]")).to_have_attribute("data-outcome", "review")
    expect(phone.locator("[data-state]")).to_contain_text("Un oficial mirará su foto")
    # Sent for review: nothing more to do, so neither this page nor the home page offers a try.
    expect(phone.get_by_text("Intentos que le quedan")).to_have_count(0)
    phone.get_by_role("link", name="Volver a mis presentaciones").click()
    phone.wait_for_url("**/me/")
    expect(phone.locator("[data-state]")).to_have_attribute("data-state", "in_review")
    expect(phone.get_by_role("link", name="Presentarse ahora")).to_have_count(0)
    _shot(phone, "phone-5-receipt-review-es")
    review = Review.objects.get(enrolment=luis)
    assert review.kind == "failed_check"
    assert [c.outcome for c in CheckIn.objects.filter(enrolment=luis).order_by("attempt")] == [
        "retake", "review"]
    assert Enrolment.objects.get(pk=luis.pk).compliance == Compliance.COMPLIANT

    # The officer: the dashboard, the queue, the review; compliance moves only on decision.
    sign_in(page, live_server, users["officer_east"])
    page.goto(f"{live_server.url}/supervision/")
    row = page.locator(f"tr[data-enrolment='{luis.pk}']")
    expect(row.locator("[data-compliance]")).to_have_attribute("data-compliance", "compliant")
    expect(page.locator("figure[data-chart] svg")).to_be_visible()
    expect(page.locator(f"tr[data-enrolment='{ana.pk}'] [data-distance]")).to_have_text(
        "0.0 km from the address of record"
    )
    check_axe(page)
    _shot(page, "desktop-1-dashboard")

    page.get_by_role("link", name="Reviews", exact=True).click()
    page.wait_for_url("**/supervision/reviews/")
    expect(page.locator(f"tr[data-review='{review.pk}']")).to_contain_text("Luis Fernandez")
    check_axe(page)
    page.get_by_role("link", name=re.compile("Review the check-in of Luis Fernandez")).click()
    page.wait_for_url(f"**/supervision/reviews/{review.pk}/")
    photo = page.locator("[data-attempt='1'] [data-key-frame] img")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") > 0
    frames = page.locator("[data-attempt='2'] .cl-frame img")
    assert frames.count() >= 3  # every picture of the burst, while the review needs them
    for k in range(frames.count()):
        assert frames.nth(k).evaluate("img => img.complete && img.naturalWidth") > 0
    expect(page.locator("[data-attempt='2'] [data-liveness]")).to_contain_text("Passed")
    expect(page.locator("[data-distance]").first).not_to_have_text("—")
    check_axe(page)
    _shot(page, "desktop-2-review")

    page.locator("label", has_text="Needs contact").click()  # USWDS hides the radio itself
    page.get_by_label("Note").fill("Photo shows another person; calling the participant")
    page.get_by_role("button", name="Record decision").click()
    page.wait_for_url(f"**/supervision/reviews/{review.pk}/")
    expect(page.get_by_role("status")).to_contain_text("Compliance is now “Needs contact”")
    check_axe(page)
    assert Enrolment.objects.get(pk=luis.pk).compliance == Compliance.NEEDS_CONTACT

    page.goto(f"{live_server.url}/supervision/")
    row = page.locator(f"tr[data-enrolment='{luis.pk}']")
    expect(row.locator("[data-compliance]")).to_have_attribute(
        "data-compliance", "needs_contact"
    )
    expect(page.locator(f"tr[data-enrolment='{ana.pk}'] [data-compliance]")).to_have_attribute(
        "data-compliance", "compliant"
    )

    page.set_viewport_size(PHONE)  # the dashboard's table stacks on a phone
    assert horizontal_overflow(page) == 0
    _shot(page, "phone-6-staff-dashboard")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="Luis Fernandez").click()
    page.wait_for_url(f"**/supervision/enrolments/{luis.pk}/")
    expect(page.locator("[data-compliance]")).to_have_attribute("data-compliance", "needs_contact")
    check_axe(page)
    _shot(page, "desktop-4-enrolment")
    page.goto(f"{live_server.url}/supervision/changes/")
    check_axe(page)
    page.goto(f"{live_server.url}/supervision/enrol/{make_person('officer_east').pk}/")
    expect(page.locator("#notice")).to_have_attribute("lang", "es")
    page.get_by_label("Language of the notice").select_option("en")
    expect(page.locator("#notice")).to_have_attribute("lang", "en")  # swapped in by htmx
    check_axe(page)
    _shot(page, "desktop-3-enrol")


def test_a_refused_burst_puts_focus_on_what_went_wrong(phone_with_camera, live_server, users,
                                                        make_person, settings):
    """A burst without a face: the check-in page answers with the refusal, focus on it, and
    the form to try again (a refused burst costs no try)."""
    settings.FACE_VERIFIER = "dlib"
    _enrolment, login = _enrol(users, make_person, "Marta", "Lopez")
    phone = phone_with_camera("wall")
    _participant_signs_in(phone, live_server, login)
    _check_in_with_camera(phone, "phone-7-refused-es")
    refusal = phone.locator("[data-refusal]")
    expect(refusal).to_have_attribute("data-refusal", "too_few_faces")
    heading = refusal.get_by_role("heading", level=2)
    expect(heading).to_be_focused()
    expect(heading).to_have_text("No pudimos aceptar esta presentación")
    expect(phone.locator("[data-state]")).to_have_attribute("data-state", "open")
    expect(phone.get_by_text("Intentos que le quedan: 3 de 3.")).to_be_visible()
    expect(phone.get_by_role("button", name="Empezar")).to_be_visible()
    assert horizontal_overflow(phone) == 0
    check_axe(phone)
    _shot(phone, "phone-8-refused-focus-es")
