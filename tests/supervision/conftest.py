from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from caseledger.accounts.models import User
from caseledger.biometrics.liveness_frames import StubBurstReader
from caseledger.biometrics.verifier import StubVerifier
from caseledger.people.models import Person
from caseledger.supervision import services
from tests.conftest import context, last_event_id

ENROL_PHOTO = b"ana-enrolment-photo"
ANA_SELFIE = b"ana-selfie-1"
ANA_SELFIE_2 = b"ana-selfie-2"
ANA_SELFIE_3 = b"ana-selfie-3"
ANA_SELFIE_4 = b"ana-selfie-4"
STRANGER = b"someone-else"
STRANGER_2 = b"someone-else-2"
BLANK = b"black-frame"
TWO_FACES = b"two-faces"

#: The yaw a frame shows when the participant follows each prompt (positive: their left).
PROMPT_YAW = {"turn_left": 20.0, "turn_right": -20.0}


def _knowing_ana(settings: Any, verifier: StubVerifier) -> StubVerifier:
    """`verifier`, knowing ENROL_PHOTO (Ana) and STRANGER (someone else), made the site's."""
    verifier.add(ENROL_PHOTO, person="ana")
    verifier.add(STRANGER, person="stranger")
    settings.FACE_VERIFIER = verifier
    return verifier


@pytest.fixture
def stub(settings):
    """A stub verifier that also reads liveness bursts (frames made by `burst`)."""
    verifier = StubBurstReader()
    for selfie in (ANA_SELFIE, ANA_SELFIE_2, ANA_SELFIE_3, ANA_SELFIE_4):
        verifier.add(selfie, person="ana")
    verifier.add(STRANGER_2, person="stranger")
    verifier.add(BLANK, outcome="no_face")
    verifier.add(TWO_FACES, outcome="multiple_faces")
    return _knowing_ana(settings, verifier)


@pytest.fixture
def faces(settings: Any) -> StubVerifier:
    """A plain stub verifier (no liveness bursts): ENROL_PHOTO is Ana, STRANGER is not."""
    return _knowing_ana(settings, StubVerifier())


@pytest.fixture
def out_of_line_ledger(settings: Any) -> None:
    """Events are placed in the tree out of line, as on PostgreSQL, so that a page's query
    count does not depend on where its events fall in the Merkle tree. Query-count tests use
    it (`pytest.mark.usefixtures`)."""
    settings.LEDGER_INTEGRATE_INLINE = False


def queries_of(client: Client, url: str) -> int:
    """How many queries one GET of `url` runs (it must answer 200)."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(captured.captured_queries)


def get_with_as_many_queries(client: Client, url: str, grow: Callable[[int], Any],
                             sizes: tuple[int, int],
                             django_assert_num_queries: Any) -> tuple[Any, int]:
    """`grow` to the first of `sizes` rows and count the queries of a GET of `url`; grow to
    the second and GET it again, asserting the same count. Returns that response and the id
    of the last event before it (what the page recorded comes after)."""
    few, many = sizes
    grow(few)
    client.get(url)  # the first request of a session fills caches (content types, device)
    measured = queries_of(client, url)
    grow(many - few)
    mark = last_event_id()
    with django_assert_num_queries(measured):
        response = client.get(url)
    assert response.status_code == 200
    return response, mark


def enrolling(make_person: Callable[..., Person], users: dict[str, User],
              image: bytes) -> Callable[[int], None]:
    """`grow(n)`: n more persons on officer_east's caseload enrolled, each with one check-in
    showing `image` (STRANGER does not match: it opens a review). Needs the `faces` stub."""
    officer = context(users["officer_east"])

    def grow(n: int) -> None:
        for _ in range(n):
            person = make_person("officer_east", "Ana", "Ramirez", languages=["es"])
            result = services.enrol(ctx=officer, person_id=person.pk, data=enrolment_input())
            services.submit_check_in(
                user=result.enrolment.person.participant_account, image=image,
                latitude="40.7128", longitude="-74.0060", accuracy="20")

    return grow


def enrolment_input(**overrides):
    values = dict(level="standard", photo=ENROL_PHOTO, language="es", acknowledged=True,
                  alternatives_offered=["office_visit", "phone_call"],
                  conditions=["attend_hearings"],
                  first_window_at=timezone.now() - timedelta(hours=1), every_days=7,
                  window_hours=24, grace_minutes=60, max_attempts=3)
    values.update(overrides)
    return services.EnrolmentInput(**values)


def ana_today() -> date:
    """Today at Ana's office (east: New York), the latest day her departure may be dated;
    UTC's date is a day later there every evening."""
    return timezone.now().astimezone(ZoneInfo("America/New_York")).date()


@pytest.fixture
def enrolled(stub, users, make_person):
    """Ana, on officer_east's caseload, enrolled with a window open now."""
    person = make_person("officer_east", "Ana", "Ramirez", languages=["es"])
    result = services.enrol(ctx=context(users["officer_east"]), person_id=person.pk,
                            data=enrolment_input())
    return result


def burst(stub, prompts, *, person="ana", take=1, planar=False, order=None, still=False):
    """Frames of `person` following `prompts` (a list of prompt codes) and known to `stub`:
    the head at rest, then each prompt's turn; `order` gives the turns to show instead (a
    wrong order), `still` one frame repeated, `planar` a flat picture moved. `take` makes the
    bytes of another burst (a retake is not a replay)."""
    turns = [0.0] + [PROMPT_YAW[p] for p in (order or prompts)]
    if still:
        turns = [0.0] * len(turns)
    frames = []
    for k, yaw in enumerate(turns):
        data = f"{person}-take{take}-frame{k}-yaw{yaw:+.0f}{'-planar' if planar else ''}".encode()
        stub.add_frame(data, person=person, yaw_deg=yaw, planar=planar)
        frames.append(data)
    return frames
