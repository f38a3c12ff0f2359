"""The weekly anomaly rules: each flags its seeded pattern, and ordinary work is not flagged."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command

from caseledger.access.context import Purpose
from caseledger.access.gate import grant_break_glass
from caseledger.accounts.models import Office
from caseledger.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from caseledger.ledger.models import Event
from caseledger.people.selectors import get_person
from caseledger.reports import anomalies
from caseledger.reports.models import AnomalyItem, AnomalyReport, HouseholdMember, Rule
from caseledger.reports.services import build_anomaly_report, declare_household_member
from caseledger.reports.tasks import build_weekly_anomaly_report
from tests.conftest import context, last_event_id
from tests.reports.conftest import MONDAY, WEEK, at, random_subjects, write

TUESDAY_10_ET = MONDAY + timedelta(days=1, hours=15)  # 10:00 in New York
WEDNESDAY_23_ET = MONDAY + timedelta(days=3, hours=4)  # Wednesday 23:00 in New York

pytestmark = pytest.mark.usefixtures("fixed_now")


def read_caseload(user, persons, start, *, every=timedelta(minutes=5), times=1):
    """The officer opens each person's record through the real selector (the gate)."""
    moment = start
    for _ in range(times):
        for person in persons:
            with at(moment):
                get_person(ctx=context(user), person_id=person.pk)
            moment += every
    return moment


def items(report, rule=None):
    qs = AnomalyItem.objects.filter(report=report)
    return list(qs.filter(rule=rule) if rule else qs)


def test_ordinary_caseload_work_is_not_flagged(users, caseload):
    east = caseload("officer_east", 60)
    east2 = caseload("officer_east2", 12)
    # a large caseload read in full, twice, in office hours: 60 distinct persons > 50
    read_caseload(users["officer_east"], east, TUESDAY_10_ET, every=timedelta(minutes=2), times=2)
    read_caseload(users["officer_east2"], east2, TUESDAY_10_ET + timedelta(days=1), times=3)
    # a supervisor reads a few persons of the office
    read_caseload(users["supervisor_east"], east[:15], TUESDAY_10_ET + timedelta(days=2))
    # and a few minutes of evening work (below the burst threshold)
    read_caseload(users["officer_east"], east[:5], WEDNESDAY_23_ET)
    result = build_anomaly_report(WEEK)
    assert result.created
    assert result.report.events_scanned >= 60 * 2 + 12 * 3 + 15 + 5
    assert items(result.report) == []


def test_bulk_viewing_is_flagged_relative_to_the_caseload(users, caseload):
    caseload("officer_west", 5)
    subjects = random_subjects(200)
    for i, subject in enumerate(subjects):
        write(
            users["officer_west"],
            TUESDAY_10_ET + timedelta(seconds=20 * i),
            subject_id=subject,
            record_type="people.person",
            record_id=subject,
        )
    report = build_anomaly_report(WEEK).report
    [item] = items(report, Rule.BULK_VIEWING)
    assert item.actor_id == str(users["officer_west"].pk)
    assert (item.measure, item.threshold, item.event_count) == (200, 50, 200)
    assert item.detail["caseload"] == 5
    assert {e.subject_id for e in anomalies.item_events(item)} == set(subjects)


def test_bulk_threshold_follows_the_usual_weekly_volume(users):
    usual = random_subjects(100)
    # 100 distinct persons a week for as long as the window looks back (12 weeks): a volume
    # older than the window is taken as the usual one
    for back in range(1, 13):
        for i, subject in enumerate(usual):
            write(
                users["supervisor_east"],
                TUESDAY_10_ET - timedelta(days=7 * back, seconds=i),
                subject_id=subject,
                purpose=Purpose.OFFICE_SUPERVISION,
            )
    for i, subject in enumerate(random_subjects(250)):  # this week: 250, under 3 x 100
        write(
            users["supervisor_east"],
            TUESDAY_10_ET + timedelta(seconds=i),
            subject_id=subject,
            purpose=Purpose.OFFICE_SUPERVISION,
        )
    assert items(build_anomaly_report(WEEK).report) == []
    # the next week's usual volume is the mean of 250, 100, 100, 100 = 138 (rounded up)
    for i, subject in enumerate(random_subjects(500)):  # 500 > 3 x 138
        write(
            users["supervisor_east"],
            TUESDAY_10_ET + timedelta(days=7, seconds=i),
            subject_id=subject,
            purpose=Purpose.OFFICE_SUPERVISION,
        )
    [item] = items(build_anomaly_report("2026-W48").report)
    assert item.rule == Rule.BULK_VIEWING
    assert (item.measure, item.threshold, item.detail["usual_weekly"]) == (500, 414, 138)


def test_a_new_volume_is_not_learnt_from_weeks_that_were_over_their_limit(users):
    """A supervisor (no caseload) who starts reading 200 persons a week: every such week was
    over its own limit, so it never becomes the usual volume."""
    for back in range(0, 6):  # W42 to W47; nothing before
        for i, subject in enumerate(random_subjects(200)):
            write(
                users["supervisor_east"],
                TUESDAY_10_ET - timedelta(days=7 * back, seconds=i),
                subject_id=subject,
                purpose=Purpose.OFFICE_SUPERVISION,
            )
    [item] = items(build_anomaly_report(WEEK).report)
    assert (item.measure, item.threshold, item.detail["usual_weekly"]) == (200, 50, 0)
    assert item.detail["weeks_left_out"] == 4


def test_habitual_bulk_viewing_is_flagged_every_week(users, caseload):
    """An officer with a 5-person caseload reading 400 new persons every week is flagged
    every week: the abuse does not raise its own threshold."""
    caseload("officer_west", 5)
    weeks = ["2026-W42", "2026-W43", "2026-W44", "2026-W45", "2026-W46", "2026-W47"]
    for back in range(len(weeks)):
        for i, subject in enumerate(random_subjects(400)):
            write(
                users["officer_west"],
                TUESDAY_10_ET - timedelta(days=7 * back, seconds=i),
                subject_id=subject,
                record_type="people.person",
                record_id=subject,
            )
    for week in weeks:  # built week by week, as the weekly task does
        [item] = items(build_anomaly_report(week).report, Rule.BULK_VIEWING)
        assert (item.actor_id, item.measure, item.threshold) == (
            str(users["officer_west"].pk),
            400,
            50,
        ), week


def test_history_allowance_is_capped_by_the_caseload(users, caseload):
    """Weeks under their limit still raise the allowance only up to
    bulk_history_caseload_factor x the caseload."""
    caseload("officer_west", 30)
    for back in range(0, 5):  # 85 a week (under 3 x 30) for four weeks, then 200
        for i, subject in enumerate(random_subjects(200 if back == 0 else 85)):
            write(
                users["officer_west"],
                TUESDAY_10_ET - timedelta(days=7 * back, seconds=i),
                subject_id=subject,
            )
    [item] = items(build_anomaly_report(WEEK).report, Rule.BULK_VIEWING)
    # usual = min(85, 2 x 30) = 60: limit 3 x 60 = 180 < 200 (uncapped it would be 255)
    assert (item.measure, item.threshold, item.detail["usual_weekly"]) == (200, 180, 60)
    assert item.detail["weeks_left_out"] == 0


def test_thresholds_can_be_set_per_build_and_are_kept(users):
    for i, subject in enumerate(random_subjects(30)):
        write(users["officer_east"], TUESDAY_10_ET + timedelta(seconds=i), subject_id=subject)
    report = build_anomaly_report(WEEK, overrides={"bulk_min_persons": 20}).report
    assert report.thresholds["bulk_min_persons"] == 20
    assert [i.rule for i in items(report)] == [Rule.BULK_VIEWING]


def test_reads_outside_the_caseload_are_flagged(users, caseload, make_person):
    mine = caseload("officer_east", 3)
    others = [make_person("officer_west", "Other", f"Person{i}") for i in range(3)]
    read_caseload(users["officer_east"], mine, TUESDAY_10_ET)
    for i, person in enumerate(others):  # three refused reads of persons not on the caseload
        with at(TUESDAY_10_ET + timedelta(hours=1, minutes=i)), pytest.raises(NotFound):
            get_person(ctx=context(users["officer_east"]), person_id=person.pk)
    # one refused attempt by another officer stays below the threshold of 3
    with at(TUESDAY_10_ET), pytest.raises(NotFound):
        get_person(ctx=context(users["officer_east2"]), person_id=others[0].pk)
    # reads declared under a purpose that is not the role's own
    for subject in random_subjects(3):
        write(
            users["officer_west"],
            TUESDAY_10_ET,
            subject_id=subject,
            purpose=Purpose.OFFICE_SUPERVISION,
        )
    report = build_anomaly_report(WEEK).report
    flagged = {i.actor_id: i for i in items(report, Rule.OUTSIDE_POLICY)}
    assert set(flagged) == {str(users["officer_east"].pk), str(users["officer_west"].pk)}
    east = flagged[str(users["officer_east"].pk)]
    assert (east.measure, east.detail["denied"], east.detail["unusual_purpose"]) == (3, 3, 0)
    assert {e.subject_id for e in anomalies.item_events(east)} == {p.pk for p in others}
    assert all(e.outcome == "denied" for e in anomalies.item_events(east))
    west = flagged[str(users["officer_west"].pk)]
    assert west.detail == {"denied": 0, "unusual_purpose": 3, "persons": 3}


def test_after_hours_bursts_in_the_office_time_zone(users, caseload):
    Office.objects.filter(code="west").update(time_zone="America/Los_Angeles")
    east, west = caseload("officer_east", 25), caseload("officer_west", 25)
    # 02:00-02:48 UTC Thursday: 21:00 in New York (after hours), 18:00 in Los Angeles (open)
    thursday_02_utc = MONDAY + timedelta(days=3, hours=2)
    read_caseload(users["officer_east"], east, thursday_02_utc, every=timedelta(minutes=2))
    read_caseload(users["officer_west"], west, thursday_02_utc, every=timedelta(minutes=2))
    # 25 reads in the daytime are ordinary
    read_caseload(users["officer_east"], east, TUESDAY_10_ET, every=timedelta(minutes=1))
    # Saturday morning is outside office hours all day
    saturday_11_et = MONDAY + timedelta(days=5, hours=16)
    read_caseload(
        users["officer_east2"],
        caseload("officer_east2", 20),
        saturday_11_et,
        every=timedelta(minutes=1),
    )
    report = build_anomaly_report(WEEK).report
    flagged = sorted(items(report, Rule.AFTER_HOURS), key=lambda i: i.window_start)
    assert [(i.actor_id, i.detail["local_hour"]) for i in flagged] == [
        (str(users["officer_east"].pk), 21),
        (str(users["officer_east2"].pk), 11),
    ]
    night = flagged[0]
    assert night.measure == 25 and night.detail["time_zone"] == "America/New_York"
    assert night.window_end - night.window_start == timedelta(hours=1)
    assert anomalies.item_events(night).count() == 25
    assert not items(report, Rule.BULK_VIEWING) and not items(report, Rule.OUTSIDE_POLICY)


def test_every_break_glass_is_an_item_with_its_reads(users, make_person):
    person = make_person("officer_west", "Lucia", "Perez")
    officer = users["officer_east"]
    with at(TUESDAY_10_ET):
        grant_break_glass(
            user=officer,
            person_id=person.pk,
            reason="Detention facility called about a medical emergency",
        )
    with at(TUESDAY_10_ET + timedelta(minutes=2)):
        get_person(ctx=context(officer, Purpose.BREAK_GLASS), person_id=person.pk)
    with at(TUESDAY_10_ET + timedelta(hours=1)), pytest.raises(PermissionDenied):
        grant_break_glass(
            user=users["admin"],
            person_id=person.pk,
            reason="An administrator has no business here at all",
        )
    report = build_anomaly_report(WEEK).report
    glass = sorted(items(report, Rule.BREAK_GLASS), key=lambda i: i.window_start)
    assert [(i.actor_id, i.detail["outcome"]) for i in glass] == [
        (str(officer.pk), "allowed"),
        (str(users["admin"].pk), "denied"),
    ]
    used = glass[0]
    assert used.subject_id == person.pk and used.measure == 1
    assert [anomalies.item_events(i).count() for i in glass] == [i.event_count for i in glass]
    assert [i.event_count for i in glass] == [2, 1]
    assert sorted(e.action for e in anomalies.item_events(used)) == ["break_glass", "read"]


def test_reads_of_a_declared_household_name_are_flagged(users, make_person, caseload):
    officer = users["officer_east"]
    declare_household_member(user=officer, full_name="Rosa Díaz", relationship="sibling")
    sister = make_person("officer_east", "Rosa", "Diaz")  # the same search key
    stranger = make_person("officer_east", "Rosa", "Dominguez")
    read_caseload(officer, [sister, stranger], TUESDAY_10_ET)
    report = build_anomaly_report(WEEK).report
    [item] = items(report, Rule.HOUSEHOLD)
    member = HouseholdMember.objects.get(user=officer)
    assert (item.actor_id, item.subject_id) == (str(officer.pk), sister.pk)
    assert item.detail == {"declarations": [str(member.pk)], "match": "exact"}
    assert [e.subject_id for e in anomalies.item_events(item)] == [sister.pk]


def test_household_names_match_across_spellings_and_middle_names(users, make_person):
    officer = users["officer_east"]
    declare_household_member(user=officer, full_name="Rosa Díaz", relationship="sibling")
    member = HouseholdMember.objects.get(user=officer)
    variants = {
        "spelling": make_person("officer_east", "Rosa", "Dias"),
        "words": make_person("officer_east", "Rosa Maria", "Diaz"),
        "both": make_person("officer_east", "Rosa Maria", "Dias"),
    }
    others = [
        make_person("officer_east", "Rosa", "Dominguez"),
        make_person("officer_east", "Maria", "Diaz"),
    ]
    unread = make_person("officer_east", "Rosa", "Diaz")  # not read: not flagged
    read_caseload(officer, [*variants.values(), *others], TUESDAY_10_ET)
    report = build_anomaly_report(WEEK).report
    flagged = {i.subject_id: i for i in items(report, Rule.HOUSEHOLD)}
    assert set(flagged) == {p.pk for p in variants.values()}
    assert unread.pk not in flagged
    assert flagged[variants["spelling"].pk].detail["match"] == "spelling"
    assert flagged[variants["words"].pk].detail["match"] == "words"
    assert flagged[variants["both"].pk].detail["match"] == "words"
    assert all(i.detail["declarations"] == [str(member.pk)] for i in flagged.values())


def test_household_match_rules():
    from caseledger.people.names import search_key, skeleton

    def match(declared: str, name: str) -> str:
        return anomalies.household_match(
            search_key(declared), skeleton(declared), search_key(name), skeleton(name)
        )

    assert match("Rosa Díaz", "ROSA DIAZ") == "exact"
    assert match("Rosa Diaz", "Rosa Dias") == "spelling"
    assert match("Rosa Diaz", "Rosa Maria Diaz") == "words"
    assert match("Rosa Diaz", "Diaz Rosa") == "words"
    assert match("Rosa Diaz", "Rosa Dominguez") == ""
    assert match("Rosa", "Rosa Diaz") == ""  # one word: exact or spelling only


def test_household_declaration_refusals(users):
    officer = users["officer_east"]
    mark = last_event_id()
    for name, code in (
        ("", "required"),
        ("   ", "required"),
        ("x" * 401, "too_long"),
        ("Ana\x00", "control_characters"),
        ("!!!", "no_letters"),
    ):
        with pytest.raises(ValidationError) as exc:
            declare_household_member(user=officer, full_name=name)
        assert exc.value.code == code and exc.value.field == "full_name"
    with pytest.raises(ValidationError) as exc:
        declare_household_member(user=officer, full_name="Ana Ruiz", relationship="cousin!")
    assert exc.value.field == "relationship"
    with pytest.raises(PermissionDenied):
        declare_household_member(user=users["participant"], full_name="Ana Ruiz")
    # Only the refused role is recorded (the bad names were the officer's own typing).
    [refusal] = Event.objects.filter(id__gt=mark)
    assert (refusal.action, refusal.outcome, refusal.data_category) == (
        "create", "denied", "household")
    assert HouseholdMember.objects.count() == 0
    mark = last_event_id()
    declare_household_member(user=officer, full_name="Ana Ruiz")
    with pytest.raises(Conflict):
        declare_household_member(user=officer, full_name="ANA  RUIZ")
    [event] = Event.objects.filter(id__gt=mark)
    assert (event.action, event.data_category, event.record_type) == (
        "create",
        "household",
        "reports.householdmember",
    )
    assert b"Ana" not in bytes(event.leaf) and b"ana ruiz" not in bytes(event.leaf)


def test_build_once_per_week_records_an_event_and_command_and_task(users, capsys):
    for i, subject in enumerate(random_subjects(60)):
        write(users["officer_west"], TUESDAY_10_ET + timedelta(seconds=i), subject_id=subject)
    mark = last_event_id()
    call_command("report", "anomalies", "--week", WEEK, "--quiet")
    out = capsys.readouterr().out
    assert f"{WEEK} built" in out and "bulk_viewing=1" in out
    [event] = Event.objects.filter(id__gt=mark)
    assert (event.action, event.data_category, event.record_type) == (
        "create",
        "anomaly",
        "reports.anomalyreport",
    )
    assert event.detail["week"] == WEEK and event.detail["items"] == 1
    call_command("report", "anomalies", "--week", WEEK, "--quiet")
    assert "already built" in capsys.readouterr().out
    assert AnomalyReport.objects.count() == 1 and AnomalyItem.objects.count() == 1
    assert Event.objects.filter(id__gt=mark).count() == 1
    result = build_weekly_anomaly_report.enqueue("2026-W46")
    assert result.return_value == {"week": "2026-W46", "created": True, "items": 0}


def test_bad_week_is_refused_by_the_command(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ISO week"):
        call_command("report", "anomalies", "--week", "2026-47", "--quiet")
    assert AnomalyReport.objects.count() == 0


def test_demo_seed_declares_and_builds_the_week_that_has_ended(users, make_person):
    from caseledger.core import clock
    from caseledger.reports.demo import seed_demo
    from caseledger.reports.periods import week_of

    make_person("officer_east", "Rosa", "Diaz")
    seed_demo()
    last_week = week_of(clock.today() - timedelta(days=7))
    assert list(AnomalyReport.objects.values_list("week", flat=True)) == [last_week]
    seed_demo()  # again: nothing new
    assert HouseholdMember.objects.count() == 1 and AnomalyReport.objects.count() == 1
    # the demo read is in this week: the weekly task flags it once the week has ended
    with at(clock.now() + timedelta(days=7)):
        report = build_anomaly_report(week_of(clock.today())).report
    assert [i.rule for i in items(report)] == [Rule.HOUSEHOLD]


def test_a_week_that_has_not_ended_is_refused(users, capsys):
    from django.core.management.base import CommandError

    sunday_night = MONDAY + timedelta(days=7, microseconds=-1)
    for week, moment in (
        (WEEK, sunday_night),  # the current week, one microsecond before it ends
        ("2026-W52", MONDAY),  # a future week
    ):
        mark = last_event_id()
        with at(moment), pytest.raises(ValidationError) as exc:
            build_anomaly_report(week)
        assert (exc.value.code, exc.value.field) == ("week_not_over", "week")
        assert "has not ended yet" in exc.value.message and "UTC" in exc.value.message
        assert Event.objects.filter(id__gt=mark).count() == 0
    assert "Monday 23 November 2026 at 00:00 UTC" in str(
        pytest.raises(ValidationError, lambda: _build_at(WEEK, sunday_night)).value.message
    )
    with at(sunday_night), pytest.raises(CommandError, match="has not ended yet"):
        call_command("report", "anomalies", "--week", WEEK, "--quiet")
    assert AnomalyReport.objects.count() == 0
    with at(MONDAY + timedelta(days=7)):  # Monday 00:00: the week has ended
        assert build_anomaly_report(WEEK).created


def _build_at(week, moment):
    with at(moment):
        return build_anomaly_report(week)


# --- persons reached through searches and list pages (ledger_event_subject) ---------------------
def search(user, moment, subjects, **kwargs):
    """A search event that returned `subjects` (one subject row each, no single subject)."""
    fields = {"action": "search", "record_type": "people.person", "subjects": subjects}
    return write(user, moment, **{**fields, **kwargs})


def test_searches_count_every_person_they_returned_once(users, caseload):
    """Persons a search or list returned count as reached: 40 persons in a search are 40
    persons, and a person returned by several searches (or also opened) counts once."""
    caseload("officer_west", 5)
    officer = users["officer_west"]
    first = random_subjects(40)
    search(officer, TUESDAY_10_ET, first)
    search(officer, TUESDAY_10_ET + timedelta(minutes=1), first)  # the same 40 again
    write(officer, TUESDAY_10_ET + timedelta(minutes=2), action="list", subjects=first[:20])
    for i, subject in enumerate(first[:5]):  # and five of them opened
        write(officer, TUESDAY_10_ET + timedelta(minutes=3, seconds=i), subject_id=subject)
    # 40 distinct persons (105 if each event's persons were added up): under 50
    assert items(build_anomaly_report(WEEK).report) == []

    more = random_subjects(30)
    search(officer, TUESDAY_10_ET + timedelta(days=7), first[:10] + more)
    search(officer, TUESDAY_10_ET + timedelta(days=7, minutes=1), first[10:40])
    [item] = items(build_anomaly_report("2026-W48").report)
    assert item.rule == Rule.BULK_VIEWING and item.actor_id == str(officer.pk)
    assert (item.measure, item.event_count, item.threshold) == (70, 2, 50)
    events = list(anomalies.item_events(item))
    assert [e.action for e in events] == ["search", "search"]
    assert {s for e in events for s in e.detail["subjects"]} == {str(s) for s in first + more}


def test_list_pages_through_the_gate_are_counted(users, caseload):
    """A supervisor (no caseload) pages through the office's list: 60 persons on three pages,
    read through the real selector, which names each returned person in its event."""
    from caseledger.people.selectors import list_caseload

    caseload("officer_east", 60)
    supervisor = users["supervisor_east"]
    with at(TUESDAY_10_ET):
        for page in (1, 2, 3, 1):
            rows, total = list_caseload(ctx=context(supervisor), page=page, per_page=25)
            assert total == 60 and rows
    [item] = items(build_anomaly_report(WEEK).report, Rule.BULK_VIEWING)
    assert item.actor_id == str(supervisor.pk)
    assert (item.measure, item.event_count) == (60, 4)
    assert anomalies.item_events(item).count() == 4


def test_one_search_after_hours_that_shows_many_persons_is_a_burst(users):
    officer = users["officer_east"]
    search(officer, WEDNESDAY_23_ET, random_subjects(25))
    search(officer, TUESDAY_10_ET, random_subjects(25))  # in office hours: ordinary
    [item] = items(build_anomaly_report(WEEK).report, Rule.AFTER_HOURS)
    assert (item.actor_id, item.detail["local_hour"]) == (str(officer.pk), 23)
    assert (item.measure, item.event_count, item.detail["persons"]) == (25, 1, 25)
    assert [e.action for e in anomalies.item_events(item)] == ["search"]


def test_a_declared_name_found_in_a_search_is_flagged(users, make_person):
    officer = users["officer_east"]
    declare_household_member(user=officer, full_name="Rosa Díaz", relationship="sibling")
    sister = make_person("officer_east", "Rosa", "Diaz")
    stranger = make_person("officer_east", "Ana", "Ruiz")
    search(officer, TUESDAY_10_ET, [sister.pk, stranger.pk])
    [item] = items(build_anomaly_report(WEEK).report, Rule.HOUSEHOLD)
    assert (item.actor_id, item.subject_id, item.event_count) == (str(officer.pk), sister.pk, 1)
    [event] = anomalies.item_events(item)
    assert event.action == "search" and str(sister.pk) in event.detail["subjects"]


def test_outside_policy_counts_the_persons_of_refused_and_unusual_lists(users):
    officer = users["officer_west"]
    listed = random_subjects(12)
    for i in range(3):  # lists declared under a purpose that is not the officer's
        write(officer, TUESDAY_10_ET + timedelta(minutes=i), action="list",
              subjects=listed[4 * i: 4 * i + 4], purpose=Purpose.OFFICE_SUPERVISION)
    [item] = items(build_anomaly_report(WEEK).report, Rule.OUTSIDE_POLICY)
    assert item.detail == {"denied": 0, "unusual_purpose": 3, "persons": 12}
    assert (item.measure, item.event_count) == (3, 3)
