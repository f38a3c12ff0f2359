"""Cases migration 0004 gives the deadline rows already kept their court's time zone."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from caseledger.cases import services
from caseledger.cases.models import OpenDeadline
from tests.conftest import context, seed_reference_data

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("cases", "0003_open_deadlines_hearing_time")
AFTER = ("cases", "0004_open_deadline_time_zone")


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


def _columns() -> set[str]:
    with connection.cursor() as cur:
        return {c.name for c in connection.introspection.get_table_description(
            cur, "cases_open_deadline")}


def test_rows_kept_before_get_their_courts_zone(users, make_person):
    seed_reference_data()  # the courts, gone if a transactional test ran before in this process
    ctx = context(users["officer_west"])
    made = {}
    for court in ("LOS", "NYC"):
        case = services.open_case(ctx=ctx, person_id=make_person("officer_west").pk,
                                  case_type="removal", court_code=court,
                                  opened_on=date(2026, 6, 1))
        services.record_decision(ctx=ctx, case_id=case.pk, kind="removal_ordered",
                                 decided_on=date(2026, 11, 16))
        services.transition_case(ctx=ctx, case_id=case.pk, to_status="decided")
        made[case.pk] = court
    try:
        _migrate(BEFORE)
        assert "time_zone" not in _columns()
        with connection.cursor() as cur:  # the rows as migration 0003's code kept them
            cur.execute("SELECT count(*) FROM cases_open_deadline")
            assert cur.fetchone()[0] == 2
    finally:
        _migrate(AFTER)
    zones = {"LOS": "America/Los_Angeles", "NYC": "America/New_York"}
    assert {row.case_id: row.time_zone for row in OpenDeadline.objects.all()} == {
        pk: zones[court] for pk, court in made.items()}
