"""Face templates of an older form derived again from the encrypted enrolment photo
(`caseledger supervision templates [--rederive]`), one transaction and one event per photo."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command

from caseledger.biometrics import verifier as v
from caseledger.supervision import services
from caseledger.supervision.models import ReferencePhoto
from caseledger.supervision.sealing import seal, unseal
from caseledger.supervision.services import templates
from tests.conftest import context, last_event_id

from .conftest import ENROL_PHOTO, enrolment_input

OLD_FORM = "dlib-resnet-v1-5pt-mirror"


@pytest.fixture
def enrolled(faces, make_person, users) -> ReferencePhoto:
    """Ana enrolled, her template then made to look like one of the older form."""
    person = make_person("officer_east", "Ana", "Ramirez", languages=["es"])
    result = services.enrol(
        ctx=context(users["officer_east"]), person_id=person.pk, data=enrolment_input()
    )
    photo = ReferencePhoto.objects.get(enrolment=result.enrolment)
    old = v.template_bytes(np.full(v.EMBEDDING_SIZE, 0.05, dtype=np.float32))
    ReferencePhoto.objects.filter(pk=photo.pk).update(
        model_id=OLD_FORM, template_encrypted=seal(old, photo.pk, "face_template")
    )
    photo.refresh_from_db()
    return photo


def _template(photo: ReferencePhoto) -> bytes:
    photo.refresh_from_db()
    return unseal(photo.template_encrypted, photo.pk, "face_template")


def test_counts_say_which_templates_are_stale(enrolled, faces) -> None:
    counts = services.template_counts()
    assert counts.model_id == faces.model_id == "stub-v1"
    assert (counts.current, counts.stale) == (0, 1)
    assert counts.stale_by_model == {OLD_FORM: 1}


def test_a_stale_template_is_derived_again_with_its_event(
    enrolled, faces, events_since
) -> None:
    version = enrolled.row_version
    mark = last_event_id()
    done = services.rederive_templates()
    assert (done.rederived, done.skipped, dict(done.refused)) == (1, 0, {})
    assert _template(enrolled) == faces.embed(ENROL_PHOTO).template()
    assert enrolled.model_id == "stub-v1" and enrolled.row_version == version + 1
    [event] = events_since(mark)
    assert (event.action, event.data_category, event.purpose) == (
        "update", "biometric", "supervision"
    )
    assert event.subject_id == enrolled.enrolment.person_id
    assert event.record_id == str(enrolled.pk) and event.actor_id == ""
    assert event.detail == {"model": "stub-v1", "previous_model": OLD_FORM}
    # Idempotent: nothing stale is left, a second run opens no photo and writes nothing.
    mark = last_event_id()
    again = services.rederive_templates()
    assert (again.stale, again.rederived) == (0, 0) and events_since(mark) == []


def test_a_photo_the_verifier_now_refuses_keeps_its_template_and_leaves_a_read(
    enrolled, faces, events_since
) -> None:
    before = _template(enrolled)
    faces.add(ENROL_PHOTO, outcome="no_face")
    mark = last_event_id()
    done = services.rederive_templates()
    assert done.rederived == 0 and dict(done.refused) == {"no_face": 1}
    assert _template(enrolled) == before and enrolled.model_id == OLD_FORM
    [event] = events_since(mark)
    assert (event.action, event.data_category, event.outcome) == ("read", "biometric", "allowed")
    assert event.subject_id == enrolled.enrolment.person_id
    assert event.detail == {"model": "stub-v1", "template_model": OLD_FORM, "outcome": "no_face"}


def test_an_ended_enrolment_is_left_alone(enrolled, events_since) -> None:
    ReferencePhoto.objects.filter(pk=enrolled.pk).update(active=False)
    mark = last_event_id()
    done = services.rederive_templates()
    assert (done.stale, done.rederived) == (0, 0) and events_since(mark) == []
    assert _template(enrolled) != b"" and ReferencePhoto.objects.get().model_id == OLD_FORM


def test_a_row_that_changes_while_it_is_embedded_is_not_overwritten(
    enrolled, faces, monkeypatch, events_since
) -> None:
    """The enrolment ends between the embedding and the write: the write is refused by the
    row's version and state, and the template and form stay as they were."""
    embed = faces.embed

    def embed_then_end(image: Any) -> v.FaceAnalysis:
        result = embed(image)
        ReferencePhoto.objects.filter(pk=enrolled.pk).update(active=False)
        return result

    monkeypatch.setattr(faces, "embed", embed_then_end)
    before = _template(enrolled)
    mark = last_event_id()
    assert templates.rederive_template(enrolled.pk, faces) == templates.CHANGED_MEANWHILE
    assert _template(enrolled) == before and enrolled.model_id == OLD_FORM
    # No update event; the photo was opened, so its read is recorded with the person.
    [event] = events_since(mark)
    assert (event.action, event.data_category) == ("read", "biometric")
    assert event.subject_id == enrolled.enrolment.person_id
    assert event.detail == {"model": "stub-v1", "template_model": OLD_FORM, "outcome": "changed"}


def test_the_command_counts_and_changes_nothing_without_rederive(enrolled, faces) -> None:
    out = io.StringIO()
    call_command("supervision", "templates", stdout=out)
    text = out.getvalue()
    assert "verifier: stub-v1" in text and "of another form: 1" in text
    assert f"{OLD_FORM}: 1" in text and "--rederive" in text
    assert ReferencePhoto.objects.get().model_id == OLD_FORM
    out = io.StringIO()
    call_command("supervision", "templates", "--rederive", "--quiet", stdout=out)
    assert "derived again: 1" in out.getvalue()
    assert ReferencePhoto.objects.get().model_id == "stub-v1"
    out = io.StringIO()
    call_command("supervision", "templates", "--rederive", "--quiet", stdout=out)
    assert "nothing to derive again" in out.getvalue()


def test_the_command_names_refused_photos(enrolled, faces) -> None:
    faces.add(ENROL_PHOTO, outcome="poor_quality")
    out = io.StringIO()
    call_command("supervision", "templates", "--rederive", "--quiet", stdout=out)
    assert "refused by the current verifier (poor_quality)" in out.getvalue()
    assert "take a new enrolment photo" in out.getvalue()
