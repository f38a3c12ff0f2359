"""The participant's state, said once: `selectors.participant_state` decides where the
participant stands in their check-in window, and the home page, the check-in page and the
receipt all show that one answer (templates/portal/_state.html), in English and Spanish.

A page may never say "nothing more to do" and offer a try in the same breath, and a receipt
never counts tries ("Try 2 (1 left)") after the check-in is done.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from caseledger.access.context import AccessContext, Purpose
from caseledger.core.errors import NotFound
from caseledger.supervision import selectors, services
from caseledger.supervision.models import CheckIn, CheckInOutcome, Schedule
from caseledger.supervision.selectors import CheckInState
from tests.conftest import context, last_event_id
from tests.supervision.conftest import (
    ANA_SELFIE,
    ANA_SELFIE_2,
    BLANK,
    STRANGER,
    STRANGER_2,
    enrolment_input,
)

pytestmark = pytest.mark.django_db

#: What each state says, in each language (the heading of the state box, and a sentence).
WORDS = {
    "en": {
        CheckInState.OPEN: ("Your check-in is open now", "Tries left: 3 of 3."),
        CheckInState.VERIFIED: ("You have checked in. Thank you.",
                                "You do not need to do anything more for this check-in."),
        CheckInState.IN_REVIEW: ("Your check-in was received and sent to an officer",
                                 "You do not need to do anything more for this check-in"),
        CheckInState.CLOSED: ("Your next check-in", "Check-in is not open now."),
    },
    "es": {
        CheckInState.OPEN: ("Su presentación está abierta ahora",
                            "Intentos que le quedan: 3 de 3."),
        CheckInState.VERIFIED: ("Usted ya se presentó. Gracias.",
                                "No necesita hacer nada más para esta presentación."),
        CheckInState.IN_REVIEW: ("Su presentación se recibió y se envió a un oficial",
                                 "No necesita hacer nada más para esta presentación"),
        CheckInState.CLOSED: ("Su próxima presentación", "La presentación no está abierta ahora."),
    },
}
#: Words that offer a try: never on a page whose state asks nothing more.
OFFERS = {
    "en": ("Tries left", "Check in now", "Try 1", "Try 2", "left)"),
    "es": ("Intentos que le quedan", "Presentarse ahora", "Intento 1", "Intento 2"),
}


def _text(response) -> str:
    return response.content.decode()


def _states(html: str) -> list[str]:
    return re.findall(r'data-state="(\w+)"', html)


def _box(html: str) -> str:
    """The state box's words, tags and the check-in button left out."""
    start = html.index("data-state=")
    box = html[start:html.index("</div>\n</div>", start)]
    box = re.sub(r"<a [^>]*>.*?</a>", "", box, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", box.split(">", 1)[1]).split())


def _photo(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("photo.jpg", data, content_type="image/jpeg")


def _post(client, image: bytes, submission_id: str | None = None):
    return client.post("/me/check-in/", {
        "latitude": "40.712800", "longitude": "-74.006000", "accuracy": "25",
        "submission_id": submission_id or str(uuid.uuid4()), "image": _photo(image),
    })


@pytest.fixture(params=["en", "es"])
def language(request) -> str:
    return request.param


@pytest.fixture
def phone(enrolled, web_client, language):
    """Ana's phone, signed in, in the language of the test."""
    client = web_client(enrolled.enrolment.person.participant_account)
    client.cookies["django_language"] = language
    return client


def _ctx(enrolled) -> AccessContext:
    user = enrolled.enrolment.person.participant_account
    return AccessContext(user=user, purpose=Purpose.SELF_SERVICE)


def _assert_said_once(pages: dict[str, str], state: CheckInState, language: str) -> None:
    """Each page shows one state box, the same state in the same words."""
    heading, sentence = WORDS[language][state]
    boxes = {name: _box(html) for name, html in pages.items()}
    for name, html in pages.items():
        assert _states(html) == [state.value], (name, _states(html))
        assert heading in html and sentence in html, name
    assert len(set(boxes.values())) == 1, boxes
    if state is not CheckInState.OPEN:
        for name, html in pages.items():
            offered = [w for w in OFFERS[language] if w in html]
            assert not offered, (name, offered)
            assert "data-checkin-form" not in html, name


# --- the selector -----------------------------------------------------------------------------
def test_open_window_with_nothing_stored_asks_for_a_check_in(enrolled):
    state = selectors.participant_state(ctx=_ctx(enrolled))
    assert state.state is CheckInState.OPEN and state.can_check_in
    assert (state.attempts_used, state.tries_left, state.max_attempts) == (0, 3, 3)
    assert state.next_window == state.window  # the one to check in is the one open now


def test_a_verified_check_in_ends_the_window(enrolled):
    services.submit_check_in(user=enrolled.enrolment.person.participant_account,
                             image=ANA_SELFIE, latitude="40.7", longitude="-74.0", accuracy="20")
    state = selectors.participant_state(ctx=_ctx(enrolled))
    assert state.state is CheckInState.VERIFIED and not state.can_check_in
    assert state.attempts_used == 1
    assert state.next_window[0] == state.window[0] + timedelta(days=7)  # the following one


def test_a_photo_sent_for_review_asks_nothing_more(enrolled):
    user = enrolled.enrolment.person.participant_account
    services.submit_check_in(user=user, image=STRANGER, latitude="40.7", longitude="-74.0",
                             accuracy="20")
    state = selectors.participant_state(ctx=_ctx(enrolled))
    assert state.state is CheckInState.IN_REVIEW and not state.can_check_in
    assert state.next_window[0] == state.window[0] + timedelta(days=7)


def test_a_verified_try_after_a_review_counts_as_checked_in(enrolled):
    """Tries the API took after a review (it still accepts them) count the same way."""
    user = enrolled.enrolment.person.participant_account
    for image in (STRANGER, ANA_SELFIE):
        services.submit_check_in(user=user, image=image, latitude="40.7", longitude="-74.0",
                                 accuracy="20")
    state = selectors.participant_state(ctx=_ctx(enrolled))
    assert state.state is CheckInState.VERIFIED and state.attempts_used == 2
    assert CheckIn.objects.filter(enrolment=enrolled.enrolment).count() == 2


def test_every_try_used_on_reviews_is_still_sent_for_review(enrolled, stub):
    stub.add(b"someone-else-3", person="stranger")
    user = enrolled.enrolment.person.participant_account
    for image in (STRANGER, STRANGER_2, b"someone-else-3"):
        services.submit_check_in(user=user, image=image, latitude="40.7", longitude="-74.0",
                                 accuracy="20")
    state = selectors.participant_state(ctx=_ctx(enrolled))
    assert state.state is CheckInState.IN_REVIEW and state.tries_left == 0


def test_a_refused_photo_costs_no_try(enrolled):
    user = enrolled.enrolment.person.participant_account
    with pytest.raises(Exception):  # noqa: B017,PT011 - the refusal itself is tested elsewhere
        services.submit_check_in(user=user, image=BLANK, latitude="40.7", longitude="-74.0",
                                 accuracy="20")
    state = selectors.participant_state(ctx=_ctx(enrolled))
    assert state.state is CheckInState.OPEN and state.tries_left == 3


def test_no_window_open_names_the_next_one(stub, users, make_person):
    person = make_person("officer_east", "Luis", "Fernandez")
    opens = timezone.now() + timedelta(days=2)
    services.enrol(ctx=context(users["officer_east"]), person_id=person.pk,
                   data=enrolment_input(first_window_at=opens))
    person.refresh_from_db()
    state = selectors.participant_state(
        ctx=AccessContext(user=person.participant_account, purpose=Purpose.SELF_SERVICE))
    assert state.state is CheckInState.CLOSED and state.window is None
    assert state.next_window[0] == opens and not state.can_check_in


def test_the_grace_period_after_closing_still_counts_as_the_window(enrolled):
    schedule = Schedule.objects.get(enrolment=enrolled.enrolment)
    _opens, closes, until = schedule.current_window(timezone.now())
    moment = closes + (until - closes) / 2
    assert selectors.window_state(schedule, [], moment)[0] is CheckInState.OPEN
    after = until + timedelta(minutes=1)
    state, upcoming = selectors.window_state(schedule, [], after)
    assert state is CheckInState.CLOSED and upcoming[0] > after


def test_window_state_puts_verified_before_review():
    schedule = Schedule(first_window_at=timezone.now() - timedelta(hours=1))
    review = CheckIn(outcome=CheckInOutcome.REVIEW)
    verified = CheckIn(outcome=CheckInOutcome.VERIFIED)
    now = timezone.now()
    assert selectors.window_state(schedule, [review, verified], now)[0] is CheckInState.VERIFIED
    assert selectors.window_state(schedule, [review], now)[0] is CheckInState.IN_REVIEW
    assert selectors.window_state(schedule, [], now)[0] is CheckInState.OPEN


def test_someone_who_is_not_enrolled_has_no_state(users):
    with pytest.raises(NotFound):
        selectors.participant_state(ctx=context(users["officer_east"]))


def test_the_state_is_one_read_of_the_persons_own_record(enrolled, events_since):
    mark = last_event_id()
    selectors.participant_state(ctx=_ctx(enrolled))
    events = events_since(mark)
    assert [(e.action, e.subject_id) for e in events] == [
        ("read", enrolled.enrolment.person_id)
    ]


# --- the pages, in both languages ----------------------------------------------------------------
def test_open_window_on_every_page(phone, language):
    home, page = _text(phone.get("/me/")), _text(phone.get("/me/check-in/"))
    _assert_said_once({"home": home, "check-in": page}, CheckInState.OPEN, language)
    assert 'href="/me/check-in/"' in home  # the home page's button
    assert "data-checkin-form" in page  # the check-in page's form


def test_verified_on_the_receipt_the_home_page_and_the_check_in_page(phone, language):
    receipt = _post(phone, ANA_SELFIE)
    assert receipt.status_code == 201
    pages = {"receipt": _text(receipt), "home": _text(phone.get("/me/")),
             "check-in": _text(phone.get("/me/check-in/"))}
    _assert_said_once(pages, CheckInState.VERIFIED, language)


def test_sent_for_review_on_every_page_offers_no_try(phone, language):
    receipt = _post(phone, STRANGER)
    assert receipt.status_code == 201
    pages = {"receipt": _text(receipt), "home": _text(phone.get("/me/")),
             "check-in": _text(phone.get("/me/check-in/"))}
    _assert_said_once(pages, CheckInState.IN_REVIEW, language)
    assert "violation" not in pages["home"].lower()
    assert "incumplimiento" not in pages["home"].lower()


def test_window_closed_on_every_page(stub, users, make_person, web_client, language):
    person = make_person("officer_east", "Luis", "Fernandez")
    services.enrol(ctx=context(users["officer_east"]), person_id=person.pk,
                   data=enrolment_input(first_window_at=timezone.now() + timedelta(days=2)))
    person.refresh_from_db()
    client = web_client(person.participant_account)
    client.cookies["django_language"] = language
    pages = {"home": _text(client.get("/me/")), "check-in": _text(client.get("/me/check-in/"))}
    _assert_said_once(pages, CheckInState.CLOSED, language)


def test_a_window_that_closed_after_checking_in(phone, enrolled, language):
    assert _post(phone, ANA_SELFIE).status_code == 201
    schedule = Schedule.objects.get(enrolment=enrolled.enrolment)
    later = schedule.current_window(timezone.now())[2] + timedelta(hours=1)
    with mock.patch("caseledger.core.clock.now", return_value=later):
        pages = {"home": _text(phone.get("/me/")),
                 "check-in": _text(phone.get("/me/check-in/"))}
    _assert_said_once(pages, CheckInState.CLOSED, language)


def test_a_refused_photo_shows_the_open_state_and_the_form_again(phone, language):
    response = _post(phone, BLANK)
    assert response.status_code == 422
    html = _text(response)
    assert _states(html) == ["open"] and WORDS[language][CheckInState.OPEN][1] in html
    assert "data-checkin-form" in html and 'data-refusal="no_face"' in html


def test_a_repeated_send_after_checking_in_shows_the_verified_state(phone, language):
    submission = str(uuid.uuid4())
    assert _post(phone, ANA_SELFIE, submission).status_code == 201
    again = _post(phone, ANA_SELFIE_2, submission)  # same id, another photo: a replay
    assert again.status_code == 409
    html = _text(again)
    assert _states(html) == ["verified"] and "data-checkin-form" not in html


def test_the_receipt_shows_no_ids_and_no_try_count(phone, enrolled, language):
    receipt = _text(_post(phone, ANA_SELFIE))
    checkin = CheckIn.objects.get(enrolment=enrolled.enrolment)
    assert str(checkin.pk) not in receipt and str(checkin.ledger_event) not in receipt
    assert str(checkin.submission_id) not in receipt
    uuid_like = re.compile(r">[^<]*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    assert not uuid_like.search(receipt)  # nothing id-like in the text a person reads
    for words in (("Receipt number", "ledger event", "Try 1"),
                  ("Número de recibo", "evento del registro", "Intento 1")):
        assert not [w for w in words if w in receipt]
