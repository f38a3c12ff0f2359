"""Opening cases, scheduling hearings in the court's time, recording decisions, reading a
case through the gate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from caseledger.cases.courts import COURTS
from caseledger.cases.models import Case, Court, Decision, Hearing, Proceeding
from caseledger.cases.selectors import get_case, require_case
from caseledger.cases.services import open_case, record_decision, schedule_hearing
from caseledger.core.errors import NotFound, ValidationError
from caseledger.ledger.models import Event
from tests.conftest import context, last_event_id


def _counts() -> tuple[int, int, int, int, int]:
    return (
        Case.objects.count(),
        Proceeding.objects.count(),
        Hearing.objects.count(),
        Decision.objects.count(),
        Event.objects.count(),
    )


@pytest.fixture
def officer_ctx(users):
    return context(users["officer_east"])


@pytest.fixture
def person(make_person):
    return make_person("officer_east", "Ana", "Ramirez")


@pytest.fixture
def make_case(officer_ctx, person):
    def make(court_code: str = "LOS", **kwargs) -> Case:
        return open_case(
            ctx=officer_ctx,
            person_id=person.pk,
            case_type=kwargs.pop("case_type", "removal"),
            court_code=court_code,
            **kwargs,
        )

    return make


# --- courts ----------------------------------------------------------------------------------


def test_courts_are_seeded_with_their_time_zones(db):
    seeded = {c.code: c.time_zone for c in Court.objects.all()}
    assert set(seeded) == {
        "NYC", "NEW", "BOS", "MIA", "ATL", "CHI", "HOU", "DAL",
        "DEN", "PHO", "LOS", "SFR", "SEA", "HON",
    }  # fmt: skip
    assert seeded == {code: tz for code, _name, tz in COURTS}
    for tz in seeded.values():
        ZoneInfo(tz)  # every zone is a real IANA zone
    assert seeded["LOS"] == "America/Los_Angeles"
    assert seeded["HON"] == "Pacific/Honolulu"


# --- open_case -------------------------------------------------------------------------------


def test_open_case_creates_case_and_removal_proceeding(officer_ctx, person):
    mark = last_event_id()
    case = open_case(
        ctx=officer_ctx,
        person_id=person.pk,
        case_type="removal",
        court_code="NYC",
        opened_on=date(2024, 2, 1),
    )
    assert case.status == "open"
    assert case.person_id == person.pk
    assert case.opened_on == date(2024, 2, 1)
    assert case.reference.startswith("CL-2024-")
    proceeding = case.proceedings.get()
    assert (proceeding.kind, proceeding.court.code) == ("removal", "NYC")
    assert proceeding.started_on == date(2024, 2, 1)
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.data_category, event.subject_id) == ("create", "case", person.pk)
    assert event.detail == {"type": "removal", "proceeding": str(proceeding.pk)}


def test_open_case_defaults_to_today_at_the_court(officer_ctx, person):
    """Today in New York, the court's zone (fixed moments: tests/deadlines/test_courts_day)."""
    case = open_case(ctx=officer_ctx, person_id=person.pk, case_type="removal", court_code="NYC")
    assert case.opened_on == timezone.now().astimezone(ZoneInfo("America/New_York")).date()


@pytest.mark.parametrize(
    ("kwargs", "field", "text"),
    [
        ({"court_code": "XYZ"}, "court", "Unknown court code 'XYZ'"),
        ({"case_type": "deportation"}, "case_type", "Unknown case type 'deportation'"),
        ({"opened_on": "tomorrow"}, "opened_on", "cannot be opened in the future"),
    ],
)
def test_open_case_refusals_leave_nothing(officer_ctx, person, kwargs, field, text):
    if kwargs.get("opened_on") == "tomorrow":
        kwargs["opened_on"] = timezone.now().date() + timedelta(days=1)
    arguments = {"case_type": "removal", "court_code": "LOS", **kwargs}
    before = _counts()
    with pytest.raises(ValidationError) as err:
        open_case(ctx=officer_ctx, person_id=person.pk, **arguments)
    assert err.value.field == field
    assert text in err.value.message
    assert _counts() == before


def test_unknown_case_type_lists_the_known_ones(officer_ctx, person):
    with pytest.raises(ValidationError) as err:
        open_case(ctx=officer_ctx, person_id=person.pk, case_type="x", court_code="LOS")
    assert "removal" in err.value.message and "asylum_affirmative" in err.value.message


def test_open_case_for_another_offices_person_is_not_found(users, make_person):
    other = make_person("officer_west")
    before = Case.objects.count()
    with pytest.raises(NotFound):
        open_case(
            ctx=context(users["officer_east"]),
            person_id=other.pk,
            case_type="removal",
            court_code="LOS",
        )
    assert Case.objects.count() == before


# --- schedule_hearing ------------------------------------------------------------------------


def test_schedule_hearing_in_the_future(officer_ctx, make_case):
    case = make_case("NEW")
    when = timezone.now() + timedelta(days=10)
    mark = last_event_id()
    hearing = schedule_hearing(
        ctx=officer_ctx, case_id=case.pk, calendar="master", scheduled_at=when, judge=" Judge Ruiz "
    )
    hearing.refresh_from_db()
    assert hearing.scheduled_at == when
    assert hearing.judge == "Judge Ruiz"
    assert hearing.court.code == "NEW"
    assert hearing.status == "scheduled"
    assert hearing.proceeding.case_id == case.pk
    event = Event.objects.get(id__gt=mark)
    assert (event.record_type, event.record_id) == ("cases.hearing", str(hearing.pk))
    assert event.detail == {"calendar": "master", "court": "NEW"}
    assert event.subject_id == case.person_id


def test_past_hearing_is_refused_unless_allowed(officer_ctx, make_case):
    case = make_case()
    past = timezone.now() - timedelta(hours=1)
    with pytest.raises(ValidationError) as err:
        schedule_hearing(ctx=officer_ctx, case_id=case.pk, calendar="master", scheduled_at=past)
    assert err.value.field == "scheduled_at"
    assert "in the past" in err.value.message
    assert not Hearing.objects.exists()
    hearing = schedule_hearing(
        ctx=officer_ctx, case_id=case.pk, calendar="master", scheduled_at=past, allow_past=True
    )
    assert hearing.scheduled_at == past


def test_naive_hearing_time_is_court_local_time(officer_ctx, make_case):
    case = make_case()
    zone = ZoneInfo(case.proceedings.get().court.time_zone)
    day = (timezone.now() + timedelta(days=3)).astimezone(zone).date()
    naive = datetime(day.year, day.month, day.day, 9, 30)  # naive on purpose: court time
    hearing = schedule_hearing(
        ctx=officer_ctx, case_id=case.pk, calendar="master", scheduled_at=naive
    )
    local = hearing.scheduled_at.astimezone(zone)
    assert (local.date(), local.hour, local.minute) == (day, 9, 30)
    # A local time that does not exist in the court's zone is refused, naming the field.
    with pytest.raises(ValidationError) as err:
        schedule_hearing(
            ctx=officer_ctx, case_id=case.pk, calendar="master", scheduled_at="2031-02-29 09:00"
        )
    assert err.value.field == "scheduled_at"
    assert "has no day 29" in err.value.message
    assert Hearing.objects.count() == 1


def test_unknown_calendar_and_court_are_refused(officer_ctx, make_case):
    case = make_case()
    when = timezone.now() + timedelta(days=3)
    with pytest.raises(ValidationError) as err:
        schedule_hearing(ctx=officer_ctx, case_id=case.pk, calendar="weekly", scheduled_at=when)
    assert "Unknown calendar type 'weekly'" in err.value.message
    with pytest.raises(ValidationError) as err:
        schedule_hearing(
            ctx=officer_ctx, case_id=case.pk, calendar="master", scheduled_at=when, court_code="ZZZ"
        )
    assert err.value.field == "court"
    assert not Hearing.objects.exists()


def test_hearing_in_another_court(officer_ctx, make_case):
    case = make_case("LOS")
    hearing = schedule_hearing(
        ctx=officer_ctx,
        case_id=case.pk,
        calendar="individual",
        scheduled_at=timezone.now() + timedelta(days=3),
        court_code="SFR",
    )
    assert hearing.court.code == "SFR"
    assert hearing.proceeding.court.code == "LOS"


def test_hearing_in_a_case_without_an_open_proceeding_is_refused(officer_ctx, make_case):
    case = make_case()
    case.proceedings.update(ended_on=date(2024, 5, 1))
    with pytest.raises(ValidationError) as err:
        schedule_hearing(
            ctx=officer_ctx,
            case_id=case.pk,
            calendar="master",
            scheduled_at=timezone.now() + timedelta(days=3),
        )
    assert "no open proceeding" in err.value.message


@pytest.mark.parametrize(
    ("court", "utc", "local"),
    [
        # Los Angeles: PST (UTC-8) in winter, PDT (UTC-7) in summer.
        ("LOS", datetime(2025, 1, 15, 17, 0, tzinfo=UTC), "2025-01-15 09:00 PST"),
        ("LOS", datetime(2025, 7, 15, 17, 0, tzinfo=UTC), "2025-07-15 10:00 PDT"),
        # Either side of the 2025 spring-forward (9 March).
        ("LOS", datetime(2025, 3, 8, 17, 0, tzinfo=UTC), "2025-03-08 09:00 PST"),
        ("LOS", datetime(2025, 3, 10, 17, 0, tzinfo=UTC), "2025-03-10 10:00 PDT"),
        # Phoenix keeps MST all year; Honolulu HST; New York EST/EDT.
        ("PHO", datetime(2025, 1, 15, 17, 0, tzinfo=UTC), "2025-01-15 10:00 MST"),
        ("PHO", datetime(2025, 7, 15, 17, 0, tzinfo=UTC), "2025-07-15 10:00 MST"),
        ("HON", datetime(2025, 7, 15, 17, 0, tzinfo=UTC), "2025-07-15 07:00 HST"),
        ("NYC", datetime(2025, 1, 15, 17, 0, tzinfo=UTC), "2025-01-15 12:00 EST"),
        ("NYC", datetime(2025, 7, 15, 17, 0, tzinfo=UTC), "2025-07-15 13:00 EDT"),
        # Late-evening UTC is the previous day in Honolulu.
        ("HON", datetime(2025, 7, 16, 3, 30, tzinfo=UTC), "2025-07-15 17:30 HST"),
    ],
)
def test_hearing_time_is_shown_in_the_courts_time_zone(officer_ctx, make_case, court, utc, local):
    case = make_case(court)
    hearing = schedule_hearing(
        ctx=officer_ctx, case_id=case.pk, calendar="master", scheduled_at=utc, allow_past=True
    )
    hearing = Hearing.objects.select_related("court").get(pk=hearing.pk)
    assert hearing.scheduled_at == utc
    shown = hearing.local_time()
    assert shown.strftime("%Y-%m-%d %H:%M %Z") == local
    assert shown == utc  # the same instant


def test_upcoming_los_hearing_in_winter_and_summer(officer_ctx, make_case):
    """Without allow_past: next year's January and July hearings at 17:00 UTC."""
    case = make_case("LOS")
    year = timezone.now().year + 1
    winter = schedule_hearing(
        ctx=officer_ctx,
        case_id=case.pk,
        calendar="master",
        scheduled_at=datetime(year, 1, 15, 17, tzinfo=UTC),
    )
    summer = schedule_hearing(
        ctx=officer_ctx,
        case_id=case.pk,
        calendar="master",
        scheduled_at=datetime(year, 7, 15, 17, tzinfo=UTC),
    )
    assert winter.local_time().strftime("%H:%M") == "09:00"
    assert summer.local_time().strftime("%H:%M") == "10:00"


def test_hearing_given_in_the_courts_local_time_is_stored_in_utc(officer_ctx, make_case):
    case = make_case("LOS")
    local = datetime(timezone.now().year + 1, 7, 1, 9, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    hearing = schedule_hearing(
        ctx=officer_ctx, case_id=case.pk, calendar="master", scheduled_at=local
    )
    hearing.refresh_from_db()
    assert hearing.scheduled_at.utcoffset() == timedelta(0)
    assert hearing.scheduled_at.hour == 16 and hearing.scheduled_at.minute == 30
    assert hearing.local_time().hour == 9


# --- record_decision -------------------------------------------------------------------------


def test_record_decision(officer_ctx, make_case):
    case = make_case()
    mark = last_event_id()
    decision = record_decision(
        ctx=officer_ctx,
        case_id=case.pk,
        kind="removal_ordered",
        decided_on=timezone.now().date(),
        oral=False,
        served_on=timezone.now().date(),
    )
    assert decision.proceeding.case_id == case.pk
    assert decision.oral is False
    event = Event.objects.get(id__gt=mark)
    assert (event.record_type, event.detail) == ("cases.decision", {"kind": "removal_ordered"})
    assert event.subject_id == case.person_id


def test_future_decision_is_refused(officer_ctx, make_case):
    case = make_case()
    with pytest.raises(ValidationError) as err:
        record_decision(
            ctx=officer_ctx,
            case_id=case.pk,
            kind="relief_granted",
            decided_on=timezone.now().date() + timedelta(days=1),
        )
    assert err.value.field == "decided_on"
    assert "future" in err.value.message
    assert not Decision.objects.exists()


def test_unknown_decision_kind_is_refused(officer_ctx, make_case):
    case = make_case()
    with pytest.raises(ValidationError) as err:
        record_decision(
            ctx=officer_ctx, case_id=case.pk, kind="pardoned", decided_on=date(2024, 1, 1)
        )
    assert "Unknown decision kind 'pardoned'" in err.value.message
    assert not Decision.objects.exists()


def test_decision_for_another_offices_case_is_not_found(users, make_person):
    person = make_person("officer_west")
    case = open_case(
        ctx=context(users["officer_west"]),
        person_id=person.pk,
        case_type="removal",
        court_code="LOS",
    )
    with pytest.raises(NotFound):
        record_decision(
            ctx=context(users["officer_east"]),
            case_id=case.pk,
            kind="relief_granted",
            decided_on=date(2024, 1, 1),
        )
    assert not Decision.objects.exists()


# --- get_case --------------------------------------------------------------------------------


def test_get_case_reads_the_case_with_one_event(officer_ctx, make_case):
    case = make_case("LOS")
    schedule_hearing(
        ctx=officer_ctx,
        case_id=case.pk,
        calendar="master",
        scheduled_at=timezone.now() + timedelta(days=9),
    )
    schedule_hearing(
        ctx=officer_ctx,
        case_id=case.pk,
        calendar="individual",
        scheduled_at=timezone.now() + timedelta(days=2),
    )
    mark = last_event_id()
    detail = get_case(ctx=officer_ctx, case_id=case.pk)
    assert detail.case.pk == case.pk
    assert detail.next_statuses == ["closed", "decided", "departed"]
    assert [h.calendar for h in detail.hearings] == ["individual", "master"]
    event = Event.objects.get(id__gt=mark)
    assert (event.action, event.outcome, event.subject_id) == ("read", "allowed", case.person_id)
    assert (event.record_type, event.record_id) == ("cases.case", str(case.pk))


def test_supervisor_of_the_office_reads_the_case(users, make_case):
    case = make_case()
    assert get_case(ctx=context(users["supervisor_east"]), case_id=case.pk).case.pk == case.pk


@pytest.mark.parametrize("reader", ["officer_west", "supervisor_west", "officer_east2", "admin"])
def test_get_case_for_others_is_not_found_and_recorded(users, make_case, person, reader):
    case = make_case()
    mark = last_event_id()
    with pytest.raises(NotFound) as err:
        get_case(ctx=context(users[reader]), case_id=case.pk)
    assert "do not have access" in err.value.message
    event = Event.objects.get(id__gt=mark)
    assert event.outcome == "denied"
    assert event.subject_id == person.pk
    assert (event.record_type, event.record_id) == ("cases.case", str(case.pk))
    assert event.actor_id == str(users[reader].pk)


def test_unknown_or_garbled_case_id_is_not_found_without_a_subject(users, db):
    ctx = context(users["officer_east"])
    for case_id in ("00000000-0000-4000-8000-000000000000", "not-a-uuid"):
        mark = last_event_id()
        with pytest.raises(NotFound):
            require_case(ctx, case_id)
        event = Event.objects.get(id__gt=mark)
        assert event.outcome == "denied" and event.subject_id is None
