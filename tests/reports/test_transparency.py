"""The transparency report: figures recounted from the events, identical runs, suppression."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from caseledger.core.errors import ValidationError
from caseledger.ledger.models import Event
from caseledger.reports import transparency
from caseledger.reports.periods import parse_period
from caseledger.reports.selectors import transparency_report
from caseledger.supervision import services as supervision
from caseledger.supervision.models import Review
from tests.conftest import context
from tests.reports.conftest import write
from tests.supervision.conftest import (  # noqa: F401 - fixtures
    ANA_SELFIE,
    BLANK,
    STRANGER,
    enrolled,
    stub,
)

Q4_START = datetime(2026, 10, 1, tzinfo=UTC)
Q4_END = datetime(2027, 1, 1, tzinfo=UTC)
#: When the supervision activity happens: inside 2026-Q4 whenever the tests run (the
#: wall clock leaves the quarter on 1 January 2027), and after 2026-11.
IN_Q4 = datetime(2026, 12, 2, 15, tzinfo=UTC)


def check_in(result, image):
    user = result.enrolment.person.participant_account
    try:
        return supervision.submit_check_in(
            user=user,
            image=image,
            latitude="40.7",
            longitude="-74.0",
            accuracy="20",
            submission_id=None,
            request_id="",
        )
    except Exception:  # a refused check-in writes its event and raises
        return None


@pytest.fixture
def in_q4(clock_from):
    """The clock at `IN_Q4`, set before anything is written."""
    return clock_from(IN_Q4)


@pytest.fixture
def activity(in_q4, enrolled, users):  # noqa: F811
    """Real supervision activity at `IN_Q4` (inside 2026-Q4), and disclosure, retention and
    break-glass events written as their apps write them, some just outside the quarter."""
    check_in(enrolled, STRANGER)  # face did not match: sent to review
    check_in(enrolled, BLANK)  # refused: no face
    check_in(enrolled, ANA_SELFIE)  # verified
    review = Review.objects.get(enrolment=enrolled.enrolment)
    supervision.dispose_review(
        ctx=context(users["officer_east"]), review_id=review.pk, disposition="technical_problem"
    )
    privacy = users["privacy"]
    day = datetime(2026, 11, 2, 15, tzinfo=UTC)
    for i in range(12):
        write(
            privacy,
            day + timedelta(hours=i),
            action="disclose",
            category="disclosure",
            purpose="privacy_review",
            detail={
                "authority": "b7",
                "agency": "CBP" if i < 10 else "FBI",
                "categories": ["identity"],
                "request_id": f"r{i}",
            },
        )
    for i in range(3):
        write(
            privacy,
            day + timedelta(days=1, hours=i),
            action="decline",
            category="disclosure",
            purpose="privacy_review",
            detail={"authority": "b3", "agency": "DOS", "categories": [], "request_id": f"d{i}"},
        )
    write(
        None,
        day,
        action="purge",
        category="retention",
        purpose="retention",
        detail={"data_class": "checkin_location", "count": 40, "schedule": "loc-90"},
    )
    write(
        None,
        day + timedelta(days=7),
        action="purge",
        category="retention",
        purpose="retention",
        detail={"data_class": "checkin_location", "count": 15},
    )
    write(
        None,
        day,
        action="purge",
        category="retention",
        purpose="retention",
        detail={"data_class": "failed_check_image", "count": 4},
    )
    for i in range(11):
        write(
            users["officer_east"],
            day + timedelta(minutes=i),
            action="break_glass",
            category="access",
            purpose="break_glass",
            detail={"flagged": True},
        )
    # just outside the quarter: not counted
    write(
        privacy,
        Q4_START - timedelta(microseconds=1),
        action="disclose",
        category="disclosure",
        purpose="privacy_review",
        detail={"authority": "b7", "agency": "CBP", "categories": [], "request_id": "x"},
    )
    write(
        None,
        Q4_END,
        action="purge",
        category="retention",
        purpose="retention",
        detail={"data_class": "checkin_location", "count": 1000},
    )
    return enrolled


def recount() -> dict:
    """The figures recounted here, in Python over the quarter's events, without the app's
    queries."""
    events = [e for e in Event.objects.all() if Q4_START <= e.time < Q4_END]
    checkins = [e for e in events if e.action == "checkin"]
    accepted = [e for e in checkins if e.outcome == "allowed"]
    refused = [e for e in checkins if e.outcome == "failed"]
    failed_reviews = {
        e.record_id
        for e in Event.objects.filter(action="create", record_type="supervision.review")
        if e.detail.get("kind") in ("failed_check", "uncertain", "not_live")
    }
    decided = [e for e in events if e.action == "decide" and e.record_id in failed_reviews]
    disclosed = [e for e in events if e.action == "disclose"]
    purged: Counter = Counter()
    for e in events:
        if e.action == "purge" and e.data_category == "retention" and e.outcome == "allowed":
            purged[e.detail["data_class"]] += e.detail["count"]
    return {
        "enrolments": sum(
            1 for e in events if e.action == "create" and e.record_type == "supervision.enrolment"
        ),
        "accepted": len(accepted),
        "by_outcome": Counter(e.detail["outcome"] for e in accepted),
        "refused": len(refused),
        "refused_by_reason": Counter(e.detail["reason"] for e in refused),
        "failed": sum(1 for e in accepted if e.detail["outcome"] in ("review", "retake")),
        "decisions": Counter(e.detail["disposition"] for e in decided),
        "disclosed": len(disclosed),
        "by_agency": Counter(e.detail["agency"] for e in disclosed),
        "by_authority": Counter(e.detail["authority"] for e in disclosed),
        "declined": sum(1 for e in events if e.action == "decline"),
        "purged": purged,
        "glass": sum(1 for e in events if e.action == "break_glass" and e.outcome == "allowed"),
    }


def shown(counter: Counter) -> dict:
    return {k: transparency.suppress(v) for k, v in sorted(counter.items())}


def test_figures_equal_the_events_recounted(activity):
    expected = recount()
    raw = transparency.raw_figures(parse_period("2026-Q4"))
    assert raw["enrolments"] == expected["enrolments"] == 1
    assert raw["checkins"]["accepted"] == expected["accepted"] == 2
    assert (
        raw["checkins"]["by_outcome"]
        == dict(expected["by_outcome"])
        == {"review": 1, "verified": 1}
    )
    assert raw["checkins"]["refused"] == expected["refused"] == 1
    assert raw["checkins"]["refused_by_reason"] == dict(expected["refused_by_reason"])
    assert raw["failed_verifications"]["total"] == expected["failed"] == 1
    assert (
        raw["failed_verifications"]["review_decisions_by_disposition"]
        == dict(expected["decisions"])
        == {"technical_problem": 1}
    )
    assert raw["disclosures"]["disclosed"] == expected["disclosed"] == 12
    assert (
        raw["disclosures"]["disclosed_by_agency"]
        == dict(expected["by_agency"])
        == {"CBP": 10, "FBI": 2}
    )
    assert raw["disclosures"]["disclosed_by_authority"] == dict(expected["by_authority"])
    assert raw["disclosures"]["declined"] == expected["declined"] == 3
    assert (
        raw["deletions"]["records_by_data_class"]
        == dict(expected["purged"])
        == {"checkin_location": 55, "failed_check_image": 4}
    )
    assert raw["break_glass"]["granted"] == expected["glass"] == 11

    published = transparency.build(parse_period("2026-Q4"))["figures"]
    assert published["enrolments"] == "fewer than 10"
    assert published["disclosures"]["disclosed"] == 12
    # 12 = CBP 10 + FBI 2: with only FBI suppressed, 12 - 10 would give it away, so the
    # smallest other cell of the group (CBP) is withheld too
    assert shown(expected["by_agency"]) == {"CBP": 10, "FBI": "fewer than 10"}
    assert published["disclosures"]["disclosed_by_agency"] == {
        "CBP": "withheld",
        "FBI": "fewer than 10",
    }
    assert published["deletions"]["records_by_data_class"] == {
        "checkin_location": "withheld",
        "failed_check_image": "fewer than 10",
    }
    assert published["break_glass"] == {"granted": 11, "refused": 0}
    assert_no_cell_recoverable(published)


def assert_no_cell_recoverable(published):
    """No group of cells adding up to a published figure has exactly one hidden cell."""
    hidden = (transparency.SUPPRESSED, transparency.WITHHELD)
    for group in transparency.groups(published):
        values = [transparency._get(published, path) for path in group]
        assert sum(1 for v in values if v in hidden) != 1, group


def test_complementary_suppression_of_a_single_small_cell():
    raw = {
        "checkins": {
            "accepted": 12,
            "by_outcome": {"review": 2, "verified": 10},
            "refused": 40,
            "refused_by_reason": {"bad_location": 25, "no_face": 15},
        },
        "failed_verifications": {
            "total": 2,
            "by_face_result": {"no_match": 2},
            "reviews_opened_by_kind": {"failed_check": 2},
            "review_decisions": 30,
            "review_decisions_by_disposition": {"a": 3, "b": 11, "c": 16},
        },
        "disclosures": {
            "disclosed": 0,
            "declined": 0,
            "disclosed_by_authority": {},
            "disclosed_by_agency": {},
            "declined_by_authority": {},
        },
        "deletions": {"records_deleted": 0, "records_by_data_class": {}},
    }
    published = transparency.published(raw)
    assert_no_cell_recoverable(published)
    # accepted 12 = verified 10 + review "fewer than 10": verified is withheld
    assert published["checkins"]["by_outcome"] == {
        "review": "fewer than 10",
        "verified": "withheld",
    }
    assert published["checkins"]["accepted"] == 12
    # no suppressed cell: nothing withheld
    assert published["checkins"]["refused_by_reason"] == {"bad_location": 25, "no_face": 15}
    # 30 = a 3 + b 11 + c 16: the smallest other nonzero cell (b) is withheld
    assert published["failed_verifications"]["review_decisions_by_disposition"] == {
        "a": "fewer than 10",
        "b": "withheld",
        "c": 16,
    }
    assert transparency.published(raw) == published  # deterministic


def test_suppression_rule():
    assert [transparency.suppress(n) for n in (0, 1, 5, 9, 10, 11, 1234)] == [
        0,
        "fewer than 10",
        "fewer than 10",
        "fewer than 10",
        10,
        11,
        1234,
    ]


def test_two_runs_give_byte_identical_json(activity, tmp_path, capsys):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    call_command(
        "report", "transparency", "--period", "2026-Q4", "--format", "json", "--out", str(first)
    )
    call_command(
        "report", "transparency", "--period", "2026-Q4", "--format", "json", "--out", str(second)
    )
    assert first.read_bytes() == second.read_bytes()
    document = json.loads(first.read_bytes())
    assert document["period"] == "2026-Q4"
    assert document["from"] == "2026-10-01T00:00:00+00:00"
    assert document["figures"]["disclosures"]["disclosed"] == 12
    capsys.readouterr()
    call_command("report", "transparency", "--period", "2026-Q4", "--format", "json")
    assert capsys.readouterr().out.encode() == first.read_bytes()


def test_html_and_pdf(activity, tmp_path):
    html, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    call_command(
        "report", "transparency", "--period", "2026-11", "--format", "html", "--out", str(html)
    )
    text = html.read_text()
    assert "Transparency report 2026-11" in text
    assert 'role="img"' in text and "<title id=" in text and "<desc id=" in text
    assert "fewer than 10" in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    call_command(
        "report", "transparency", "--period", "2026-11", "--format", "pdf", "--out", str(pdf)
    )
    reader = PdfReader(str(pdf))
    body = " ".join(page.extract_text() for page in reader.pages)
    assert "Transparency report 2026-11" in body and "Disclosures by receiving agency" in body


def test_bad_periods_are_refused(db, users):
    for bad in ("2026-Q5", "Q4", "yesterday", "2026-Q4 "):
        with pytest.raises(CommandError, match="quarter"):
            call_command("report", "transparency", "--period", bad + "x", "--format", "json")
    with pytest.raises(CommandError, match="month must be 01 to 12"):
        call_command("report", "transparency", "--period", "2026-13", "--format", "json")
    with pytest.raises(CommandError, match="needs --out"):
        call_command("report", "transparency", "--period", "2026", "--format", "pdf")
    with pytest.raises(ValidationError) as exc:
        transparency_report(context(users["officer_east"]), "2026/Q4")
    assert exc.value.code == "bad_period"
