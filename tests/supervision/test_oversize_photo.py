"""An oversize check-in photo is refused like any other unusable photo: in the person's
language, recorded with the person, counted against the upload limits, and only one byte more
than the limit is read (issue 10, item 4: oversize uploads write an event)."""

from __future__ import annotations

import pytest
from django.test import Client

from caseledger.ledger.models import Event, Outcome
from caseledger.supervision.models import CheckIn, UploadAttempt
from tests.conftest import last_event_id
from tests.supervision.test_upload_rate_limit import _api_upload, _token_client

pytestmark = pytest.mark.django_db


def test_an_oversize_photo_is_refused_in_spanish_recorded_and_counted(enrolled, settings):
    client = _token_client(Client, enrolled)
    oversize = b"\xff\xd8\xff" + b"\0" * (settings.FACE_MAX_UPLOAD_BYTES + 100)
    mark = last_event_id()
    response = _api_upload(client, image=oversize)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "too_large"
    assert "demasiado grande" in body["detail"]  # Ana reads Spanish
    refused = Event.objects.get(id__gt=mark, action="checkin")
    assert refused.outcome == Outcome.FAILED
    assert refused.subject_id == enrolled.enrolment.person_id
    assert refused.detail["reason"] == "too_large"
    assert UploadAttempt.objects.count() == 1
    assert not CheckIn.objects.exists()
