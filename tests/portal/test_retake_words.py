"""A try that asked for a retake reads, on "My record" and in its PDF, as not accepted with a
request to try once more (English and Spanish), never as sent to an officer."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.utils import translation
from pypdf import PdfReader

from caseledger.core import clock
from caseledger.portal import export
from caseledger.supervision import services as supervision
from caseledger.supervision.models import CheckIn
from tests.supervision.conftest import burst

RETAKE = {"en": "Not accepted: asked to try once more.",
          "es": "No aceptada: se pidió intentarlo una vez más."}
REVIEW = {"en": "Sent to an officer to look at.", "es": "Enviada a un oficial para que la revise."}
VERIFIED = {"en": "Checked in: the photo matched.", "es": "Presentación hecha: la foto coincidió."}


def _supervision(*outcomes: str) -> dict:
    return {"level": "Standard", "status": "Active", "started_at": "2026-11-01",
            "ended_at": None, "reviews": [],
            "check_ins": [{"submitted_at": f"2026-11-0{n + 2}T10:00:00Z", "outcome": o}
                          for n, o in enumerate(outcomes)]}


@pytest.mark.parametrize("language", ["en", "es"])
def test_in_words_says_each_outcome_in_the_persons_language(language):
    document = {"supervision": [_supervision("verified", "retake", "review")]}
    with translation.override(language):
        shown = export._supervision_words(document["supervision"][0])["check_ins"]
    assert [c["result"] for c in shown] == [VERIFIED[language], RETAKE[language],
                                            REVIEW[language]]
    assert [c["outcome"] for c in shown] == ["verified", "retake", "review"]  # codes kept


def test_an_unknown_outcome_reads_as_other_never_as_review():
    with translation.override("en"):
        shown = export._supervision_words(_supervision("teleported"))["check_ins"][0]
    assert shown["result"] == "Other"


def _retake_then_review(enrolled, stub, settings) -> list[CheckIn]:
    """Two bursts of someone else: the first asks for a retake, the second goes to review."""
    settings.LIVENESS_REQUIRED = True
    user = enrolled.enrolment.person.participant_account
    outcomes = []
    for take in (1, 2):
        issued = supervision.issue_challenge(user=user)
        frames = burst(stub, list(issued.prompts), person="stranger", take=take)
        receipt = supervision.submit_check_in(user=user, frames=frames, challenge_id=issued.id,
                                              latitude="40.7128", longitude="-74.0060",
                                              accuracy="25")
        outcomes.append(receipt.outcome)
    assert outcomes == ["retake", "review"]
    # a day apart, so the page lists them in a known order
    first = CheckIn.objects.get(outcome="retake")
    CheckIn.objects.filter(pk=first.pk).update(submitted_at=clock.now() - timedelta(days=1))
    return list(CheckIn.objects.order_by("submitted_at"))


def _pdf_text(response) -> str:
    assert response.status_code == 200, response.content[:300]
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_page_and_the_pdf_say_a_retake_was_not_accepted(
    enrolled, stub, settings, users, web_client, language
):
    retake, review = _retake_then_review(enrolled, stub, settings)
    person = enrolled.enrolment.person
    for client, path in (
        (web_client(person.participant_account), "/me/record/"),
        (web_client(users["representative"]), None),
    ):
        if path is None:  # the representative sees the client's record the same way
            from caseledger.people.services import record_representation
            from tests.conftest import context

            record_representation(ctx=context(users["officer_east"]), person_id=person.pk,
                                  representative=users["representative"], form="G-28",
                                  filed_on=clock.today())
            path = f"/me/record/{person.pk}/"
        client.cookies["django_language"] = language
        response = client.get(path)
        assert response.status_code == 200
        html = response.content.decode()
        items = html.split("data-checkin=")[1:]
        assert len(items) == 2
        by_id = {item.split('"')[1]: item.split("</li>")[0] for item in items}
        assert RETAKE[language] in by_id[str(retake.pk)]
        assert REVIEW[language] not in by_id[str(retake.pk)]
        assert REVIEW[language] in by_id[str(review.pk)]
        assert RETAKE[language] not in by_id[str(review.pk)]
        pdf = _pdf_text(client.get(path.rstrip("/") + "/export.pdf"))
        assert RETAKE[language] in pdf and REVIEW[language] in pdf
        assert pdf.count(REVIEW[language]) == 1
