"""Demo seeding: one legal hold on a demo person and one purge run, through the services."""

from __future__ import annotations

from io import StringIO

from caseledger.retention.demo import seed_demo
from caseledger.retention.models import LegalHold, PurgeRun
from tests.retention.conftest import make_checkin


def test_seed_demo_places_a_hold_and_runs_a_purge(enrolled, make_person, users):
    other = make_person("officer_east", "Nadia", "Haddad")
    make_checkin(enrolled.enrolment)  # an expired failed-check image of the participant
    out = StringIO()

    seed_demo(out=out)

    hold = LegalHold.objects.get()
    assert hold.person_id == other.pk and hold.placed_by == users["privacy"] and hold.active
    run = PurgeRun.objects.get()
    assert run.trigger == "demo" and run.summary["failed_check_image"]["deleted"] == 1
    assert "1 deleted" in out.getvalue()
    seed_demo(out=StringIO())  # a second seeding adds no second hold
    assert LegalHold.objects.count() == 1


def test_seed_demo_without_the_demo_users_does_nothing(db):
    out = StringIO()
    seed_demo(out=out)
    assert "nothing seeded" in out.getvalue()
    assert not PurgeRun.objects.exists()
