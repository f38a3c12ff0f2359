"""Retention fixtures: enrolled persons with check-ins whose retention dates are set directly
(past = due, future = not due), so each test states exactly what should be purged."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from caseledger.core import clock
from caseledger.supervision import services as supervision
from caseledger.supervision.models import CheckIn, CheckInSubmission
from tests.conftest import context
from tests.supervision.conftest import enrolled, enrolment_input, stub  # noqa: F401

PAST = -3  # days from today: due
FUTURE = 30  # not due


def day(offset: int) -> Any:
    return clock.today() + timedelta(days=offset)


def make_checkin(
    enrolment: Any,
    *,
    image: bool = True,
    image_due: int | None = PAST,
    location_due: int = FUTURE,
    outcome: str = "review",
    submitted_days_ago: int = 1,
) -> CheckIn:
    now = clock.now()
    nonce = CheckInSubmission.objects.create(
        submission_id=uuid.uuid4(), window_opens_at=now - timedelta(days=submitted_days_ago))
    return CheckIn.objects.create(
        enrolment=enrolment,
        submission_id=nonce.submission_id,
        window_opens_at=nonce.window_opens_at,
        attempt=1,
        submitted_at=now - timedelta(days=submitted_days_ago),
        outcome=outcome,
        face_outcome="match" if outcome == "verified" else "no_match",
        distance=0.3 if outcome == "verified" else 0.8,
        model_id="stub",
        threshold=0.6,
        threshold_version="test",
        quality={"image_sha256": uuid.uuid4().hex},
        latitude=Decimal("40.712800"),
        longitude=Decimal("-74.006000"),
        accuracy_m=25.0,
        location_delete_after=day(location_due),
        image_encrypted=b"sealed-image-bytes" if image else None,
        image_delete_after=day(image_due) if image and image_due is not None else None,
    )


@pytest.fixture
def privacy_ctx(users):
    return context(users["privacy"])


@pytest.fixture
def second(stub, users, make_person):  # noqa: F811
    """Ben, a second enrolled participant (officer_east's caseload)."""
    stub.add(b"ben-enrolment-photo", person="ben")
    person = make_person("officer_east", "Ben", "Okafor", languages=["en"])
    return supervision.enrol(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        data=enrolment_input(photo=b"ben-enrolment-photo"),
    )
