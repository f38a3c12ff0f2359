from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from caseledger.biometrics.liveness_frames import StubBurstReader
from caseledger.supervision import services
from tests.conftest import context

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


@pytest.fixture
def stub(settings):
    """A stub verifier that also reads liveness bursts (frames made by `burst`)."""
    verifier = StubBurstReader()
    verifier.add(ENROL_PHOTO, person="ana")
    for selfie in (ANA_SELFIE, ANA_SELFIE_2, ANA_SELFIE_3, ANA_SELFIE_4):
        verifier.add(selfie, person="ana")
    verifier.add(STRANGER, person="stranger")
    verifier.add(STRANGER_2, person="stranger")
    verifier.add(BLANK, outcome="no_face")
    verifier.add(TWO_FACES, outcome="multiple_faces")
    settings.FACE_VERIFIER = verifier
    return verifier


def enrolment_input(**overrides):
    values = dict(level="standard", photo=ENROL_PHOTO, language="es", acknowledged=True,
                  alternatives_offered=["office_visit", "phone_call"],
                  conditions=["attend_hearings"],
                  first_window_at=timezone.now() - timedelta(hours=1), every_days=7,
                  window_hours=24, grace_minutes=60, max_attempts=3)
    values.update(overrides)
    return services.EnrolmentInput(**values)


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
