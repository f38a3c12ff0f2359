"""The verifier's record in the field (reports.field): the counting on seeded check-ins,
reviews and refusal events; suppression (no suppressed count recoverable by subtraction);
who may read it (and that every read and refusal is a ledger event); bad periods and offices;
the page, the API and the command."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from caseledger.core.errors import NotFound, PermissionDenied, ValidationError
from caseledger.ledger.models import Event, Outcome
from caseledger.ledger.services import Actor, record_event
from caseledger.ledger.vocabulary import Action, Category
from caseledger.people.models import Person
from caseledger.reports import field, transparency
from caseledger.reports.periods import parse_period
from caseledger.supervision.models import CheckIn, CheckInSubmission, Enrolment, Review
from tests.conftest import context, last_event_id

from .conftest import at

pytestmark = pytest.mark.django_db

IN_Q4 = datetime(2026, 11, 10, 15, tzinfo=UTC)


class Seeder:
    """Check-ins, reviews and refusal events made directly (set-up: the rows the services
    write, without running the face check hundreds of times)."""

    def __init__(self, users: dict[str, Any]) -> None:
        self.users = users
        self.window = 0
        self.enrolments: dict[str, Enrolment] = {}

    def enrolment(self, office: str) -> Enrolment:
        if office not in self.enrolments:
            officer = self.users[f"officer_{office}"]
            person = Person.objects.create(office_id=officer.office_id, languages=["es"])
            self.enrolments[office] = Enrolment.objects.create(
                person=person, officer=officer, level="standard",
                started_at=IN_Q4 - timedelta(days=60),
            )
        return self.enrolments[office]

    def tries(self, n: int, *, office: str = "east", device: str = "phone",
              outcome: str = "verified", face: str = "match", live: str = "",
              disposition: str | None = None, when: datetime = IN_Q4) -> None:
        """`n` tries, each in its own window; a not verified one with a review of that window
        (decided with `disposition`, or left open when it is empty)."""
        enrolment = self.enrolment(office)
        for _ in range(n):
            self.window += 1
            opens = when - timedelta(minutes=self.window)
            nonce = CheckInSubmission.objects.create(
                submission_id=uuid.uuid4(), window_opens_at=opens)
            checkin = CheckIn.objects.create(
                enrolment=enrolment, submission_id=nonce.pk, window_opens_at=opens,
                attempt=1, submitted_at=when, outcome=outcome, face_outcome=face,
                model_id="stub", threshold=0.5, threshold_version="t", accuracy_m=10,
                location_delete_after=date(2027, 1, 1), liveness_outcome=live,
                capture_device=device,
            )
            if disposition is not None:
                Review.objects.create(
                    enrolment=enrolment, checkin=checkin, window_opens_at=opens,
                    kind="failed_check", opened_at=when, due_at=when + timedelta(days=2),
                    disposition=disposition,
                )

    def refusals(self, n: int, reason: str, *, office: str = "east", device: str | None = "phone",
                 when: datetime = IN_Q4) -> None:
        enrolment = self.enrolment(office)
        detail: dict[str, Any] = {"reason": reason}
        if device is not None:
            detail["device"] = device
        with at(when):
            for _ in range(n):
                record_event(actor=Actor("p", "participant", ""), action=Action.CHECKIN,
                             category=Category.SUPERVISION, purpose="supervision",
                             outcome=Outcome.FAILED, subject_id=enrolment.person_id,
                             record_type="supervision.enrolment", record_id=enrolment.pk,
                             detail=detail)


@pytest.fixture
def seeded(users: dict[str, Any]) -> Seeder:
    s = Seeder(users)
    s.tries(30)  # phone: verified at once
    s.tries(12, outcome="review", face="no_match", disposition="verified_by_review")
    s.tries(3, outcome="review", face="match", live="not_live", disposition="verified_by_review")
    s.tries(5, outcome="review", face="no_match", disposition="suspected_impersonation")
    s.tries(2, outcome="review", face="no_match", disposition="")  # review still open
    s.tries(20, device="tablet")
    s.tries(2, device="tablet", outcome="review", face="no_match",
            disposition="verified_by_review")
    s.tries(4, device="", outcome="verified")  # sent before devices were recorded
    s.tries(40, when=datetime(2026, 9, 30, 23, tzinfo=UTC))  # another quarter
    s.tries(25, office="west")  # another office
    s.refusals(15, "no_face")
    s.refusals(4, "multiple_faces")
    s.refusals(11, "poor_quality", device="tablet")
    s.refusals(2, "no_face", device=None)  # refused before devices were recorded
    s.refusals(7, "replay")  # not the verifier's refusal
    s.refusals(13, "no_face", office="west")
    return s


def east(users: dict[str, Any]) -> Any:
    return users["officer_east"].office


# --- the counting ------------------------------------------------------------------------------
def test_counts_genuine_attempts_false_non_matches_and_refusals_by_device(seeded, users):
    raw = field.raw_figures(parse_period("2026-Q4"), east(users))
    phone, tablet = raw["by_device"]["phone"], raw["by_device"]["tablet"]
    assert phone["tries"] == 52 and phone["verified_at_once"] == 30
    assert phone["not_verified"] == 22
    assert phone["not_verified_by_cause"] == {"no_match": 19, "not_live": 3, "not_checked": 0}
    # only tries whose review was disposed "verified by review" are labelled genuine
    assert phone["false_non_matches"] == 15
    assert phone["false_non_matches_by_cause"] == {"no_match": 12, "not_live": 3,
                                                   "not_checked": 0}
    assert phone["genuine_attempts"] == 45
    assert phone["refused"] == 19 and phone["uploads"] == 71
    assert phone["refused_by_reason"]["no_face"] == 15
    assert phone["refused_by_reason"]["multiple_faces"] == 4
    assert "replay" not in phone["refused_by_reason"]
    assert tablet["genuine_attempts"] == 22 and tablet["false_non_matches"] == 2
    assert tablet["refused_by_reason"]["poor_quality"] == 11
    old = raw["by_device"][field.NOT_RECORDED]
    assert (old["tries"], old["verified_at_once"], old["refused"]) == (4, 4, 2)
    assert raw["by_device"]["computer"]["uploads"] == 0
    everything = raw["all"]
    assert everything["tries"] == 52 + 22 + 4
    assert everything["genuine_attempts"] == 45 + 22 + 4
    assert everything["false_non_matches"] == 17
    assert everything["refused"] == 19 + 11 + 2
    assert everything["refused_by_reason"]["no_face"] == 17


def test_the_period_and_the_office_bound_the_counts(seeded, users):
    west = users["officer_west"].office
    raw = field.raw_figures(parse_period("2026-Q4"), west)
    assert raw["all"]["tries"] == 25 and raw["all"]["refused"] == 13
    september = field.raw_figures(parse_period("2026-09"), east(users))
    assert september["all"]["verified_at_once"] == 40
    assert september["all"]["false_non_matches"] == 0
    assert field.raw_figures(parse_period("2025"), east(users))["all"]["uploads"] == 0


# --- suppression ---------------------------------------------------------------------------------
def _get(figures: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        figures = figures[key]
    return figures


def _numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    return [value]


def test_small_counts_are_suppressed_and_cannot_be_subtracted_out(seeded, users):
    raw = field.raw_figures(parse_period("2026-Q4"), east(users))
    shown = field.published(raw)
    assert shown["by_device"]["phone"]["false_non_matches_by_cause"]["not_live"] == "fewer than 10"
    assert shown["by_device"]["tablet"]["false_non_matches"] == "fewer than 10"
    assert shown["by_device"]["phone"]["refused_by_reason"]["multiple_faces"] == "fewer than 10"
    assert all(not (isinstance(n, int) and 0 < n < 10) for n in _numbers(shown))
    # every group that adds up: never exactly one hidden cell (it could be subtracted out)
    for group in field.groups(raw):
        hidden = [p for p in group if not isinstance(_get(shown, p), int)]
        assert len(hidden) != 1, group
        if not hidden:
            total, *parts = (_get(shown, p) for p in group)
            assert total == sum(parts), group
    assert "withheld" in _numbers(shown)
    # the same rule and words as the transparency report
    assert transparency.suppress(3) == "fewer than 10"


def test_a_rate_is_shown_only_when_both_its_counts_are(seeded, users):
    section = field.office_section(parse_period("2026-Q4"), east(users))
    rates = section["rates"]
    assert rates["by_device"]["tablet"]["false_non_match"] is None  # 2 of 22
    assert rates["by_device"]["computer"] == {"false_non_match": None, "refusal": None}
    figures = section["figures"]["by_device"]["phone"]
    if isinstance(figures["refused"], int) and isinstance(figures["uploads"], int):
        assert rates["by_device"]["phone"]["refusal"] == round(19 / 71, 4)


def test_large_counts_are_published_with_their_rates(users):
    s = Seeder(users)
    s.tries(100)
    s.tries(20, outcome="review", face="no_match", disposition="verified_by_review")
    s.refusals(30, "poor_quality")
    section = field.office_section(parse_period("2026-11"), east(users))
    phone = section["figures"]["by_device"]["phone"]
    counts = (phone["genuine_attempts"], phone["false_non_matches"], phone["refused"])
    assert counts == (120, 20, 30)
    assert section["rates"]["by_device"]["phone"] == {"false_non_match": round(20 / 120, 4),
                                                      "refusal": round(30 / 150, 4)}
    assert field.percent(section["rates"]["all"]["refusal"]) == "20.0%"


# --- who may read it -----------------------------------------------------------------------------
def test_reading_is_a_ledger_event_naming_no_person(seeded, users):
    mark = last_event_id()
    report = field.field_report(context(users["privacy"]), "2026-Q4")
    assert [o["code"] for o in report["offices"]] == ["east", "west"]
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.outcome, event.record_type, event.record_id) == (
        "read", "allowed", "supervision.checkin", "field_report")
    assert event.subject_id is None and event.detail["offices"] == ["east", "west"]
    assert event.detail["period"] == "2026-Q4"


def test_a_supervisor_sees_their_own_office_only(seeded, users):
    ctx = context(users["supervisor_east"])
    assert [o["code"] for o in field.field_report(ctx, "2026-Q4")["offices"]] == ["east"]
    assert [o["code"] for o in field.field_report(ctx, "2026-Q4", "east")["offices"]] == ["east"]
    for office in ("west", "nowhere"):  # the same answer: no telling which offices exist
        mark = last_event_id()
        with pytest.raises(PermissionDenied):
            field.field_report(ctx, "2026-Q4", office)
        event = Event.objects.get(id__gt=mark)
        assert (event.outcome, event.record_type, event.record_id) == (
            "denied", "supervision.checkin", office)


@pytest.mark.parametrize("role", ["officer_east", "admin", "participant", "representative"])
def test_other_roles_are_refused_and_recorded(seeded, users, role):
    mark = last_event_id()
    with pytest.raises(PermissionDenied):
        field.field_report(context(users[role]), "2026-Q4", "east")
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.outcome, event.subject_id) == ("read", "denied", None)


@pytest.mark.parametrize("period", ["", "2026-Q5", "2026-13", "1999", "Q4", "2026-W47", "x" * 300])
def test_bad_periods_are_refused(users, period):
    with pytest.raises(ValidationError):
        field.field_report(context(users["privacy"]), period)


def test_unknown_or_malformed_offices_are_refused(users):
    ctx = context(users["privacy"])
    with pytest.raises(NotFound):
        field.field_report(ctx, "2026-Q4", "nowhere")
    for bad in ("east; drop", "x" * 40, "e\x00st"):
        with pytest.raises(ValidationError):
            field.field_report(ctx, "2026-Q4", bad)


# --- the API, the page and the command ---------------------------------------------------------
def test_api(seeded, users, api_client):
    client = api_client(users["supervisor_east"])
    answer = client.get("/api/v1/reports/field", {"period": "2026-Q4"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["report"] == "caseledger field report" and body["period"] == "2026-Q4"
    assert [o["code"] for o in body["offices"]] == ["east"]
    assert client.get("/api/v1/reports/field", {"period": "2026-Q4", "office": "west"}
                      ).status_code == 403
    assert client.get("/api/v1/reports/field", {"period": "2026-Q9"}).status_code in (400, 422)
    assert client.get("/api/v1/reports/field").status_code in (400, 422)
    privacy = api_client(users["privacy"])
    assert privacy.get("/api/v1/reports/field", {"period": "2026", "office": "nowhere"}
                       ).status_code == 404
    assert privacy.get("/api/v1/reports/field", {"period": "2026", "office": "a b"}
                       ).status_code in (400, 422)
    officer = api_client(users["officer_east"])
    assert officer.get("/api/v1/reports/field", {"period": "2026-Q4"}).status_code == 403


def test_page(seeded, users, web_client):
    client = web_client(users["privacy"])
    page = client.get("/reports/field/", {"period": "2026-Q4", "office": "east"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "East office" in text and "fewer than 10" in text and 'role="img"' in text
    assert 'data-device="phone"' in text and 'data-device="computer"' not in text
    assert client.get("/reports/field/", {"period": "2026-Q7"}).status_code == 422
    assert client.get("/reports/field/", {"period": "2026", "office": "nowhere"}).status_code == 404
    download = client.get("/reports/field/", {"period": "2026-Q4", "format": "json"})
    assert json.loads(download.content)["period"] == "2026-Q4"
    assert web_client(users["officer_east"]).get("/reports/field/").status_code == 403
    assert web_client(users["supervisor_west"]).get(
        "/reports/field/", {"office": "east"}).status_code == 403


def test_command(seeded, users):
    out = io.StringIO()
    call_command("report", "field", "--period", "2026-Q4", "--office", "east", "--format",
                 "json", stdout=out)
    report = json.loads(out.getvalue())
    assert report == json.loads(field.to_json(field.field_report(None, "2026-Q4", "east")))
    text = io.StringIO()
    call_command("report", "field", "--period", "2026-Q4", stdout=text)
    assert "Office east" in text.getvalue() and "Office west" in text.getvalue()
    with pytest.raises(CommandError):
        call_command("report", "field", "--period", "2026-Q0", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("report", "field", "--period", "2026", "--office", "nowhere",
                     stdout=io.StringIO())
