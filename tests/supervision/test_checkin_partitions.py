"""Check-ins partitioned by month of their window on PostgreSQL (supervision migration 0007,
supervision/partitions.py): a check-in lands in its window's month, the window look-ups read
one partition, the keys and the references of reviews and departures name the window, a client
nonce is used once across windows (`CheckInSubmission`, on SQLite too), the application role's
grants follow to every partition, a month without its partition waits in the default and is
moved, and the migration goes both ways."""

from __future__ import annotations

import importlib
import uuid
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from caseledger.core import partitions as parts
from caseledger.core.errors import Conflict
from caseledger.supervision import services
from caseledger.supervision.models import (
    CheckIn,
    CheckInSubmission,
    Departure,
    Review,
)
from caseledger.supervision.partitions import CHECKINS
from tests.conftest import context, privileges
from tests.supervision.conftest import ana_today

from .conftest import ANA_SELFIE, ANA_SELFIE_2, STRANGER

pytestmark = pytest.mark.django_db

MIGRATION = "caseledger.supervision.migrations.0007_partition_checkins"
APP_ROLE = "caseledger_checkin_partitions_test_app"


def check_in(result, image=ANA_SELFIE, **kw):
    return services.submit_check_in(user=result.enrolment.person.participant_account,
                                    image=image, latitude="40.7128", longitude="-74.0060",
                                    accuracy="25", **kw)


def partition_of(checkin_id) -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT tableoid::regclass::text FROM supervision_checkin WHERE id = %s",
                    [checkin_id])
        return cur.fetchone()[0]


def references() -> dict[str, str]:
    """The foreign keys that point at the check-ins: name -> definition."""
    with connection.cursor() as cur:
        cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE contype = 'f' AND confrelid = 'supervision_checkin'::regclass")
        return dict(cur.fetchall())


def immediately(write) -> None:
    """Run `write` with the deferred constraints checked at once (in a savepoint)."""
    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        write()


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch):
    """Move the clock `days` ahead (the check-in windows and the partitions follow it)."""

    def move(days: int) -> datetime:
        moment = timezone.now() + timedelta(days=days)
        monkeypatch.setattr("caseledger.core.clock.now", lambda: moment)
        return moment

    return move


# --- the table ------------------------------------------------------------------------------


@pytest.mark.postgres_only
def test_table_is_partitioned_by_window_with_keys_and_references_that_name_it():
    with connection.cursor() as cur:
        cur.execute("SELECT pg_get_partkeydef('supervision_checkin'::regclass)")
        assert cur.fetchone()[0] == "RANGE (window_opens_at)"
        cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'supervision_checkin'::regclass AND contype IN ('p', 'u')")
        keys = dict(cur.fetchall())
    assert keys == {
        "supervision_checkin_pkey": "PRIMARY KEY (id, window_opens_at)",
        "supervision_checkin_submission_id_key": "UNIQUE (submission_id, window_opens_at)",
        "supervision_checkin_one_per_attempt":
            "UNIQUE (enrolment_id, window_opens_at, attempt)",
    }
    window_key = "REFERENCES supervision_checkin(id, window_opens_at)"
    assert references() == {
        "supervision_review_checkin_fk": f"FOREIGN KEY (checkin_id, window_opens_at) "
        f"{window_key} DEFERRABLE INITIALLY DEFERRED",
        "supervision_departure_checkin_fk": f"FOREIGN KEY (checkin_id, checkin_window_opens_at) "
        f"{window_key} MATCH FULL DEFERRABLE INITIALLY DEFERRED",
    }
    present = {p.name for p in parts.partitions(CHECKINS)}
    current = parts.month_of(timezone.now())
    assert {CHECKINS.name(parts.add_months(current, n)) for n in range(4)} | {
        CHECKINS.default} <= present


@pytest.mark.postgres_only
def test_a_check_in_lands_in_its_windows_month_and_the_window_reads_one_partition(enrolled):
    checkin = CheckIn.objects.get(pk=check_in(enrolled).id)
    month = parts.month_of(checkin.window_opens_at)
    assert partition_of(checkin.pk) == CHECKINS.name(month)
    window = CheckIn.objects.filter(enrolment=checkin.enrolment_id,
                                    window_opens_at=checkin.window_opens_at)
    plan = window.explain()
    scanned = {p.name for p in parts.partitions(CHECKINS) if p.name in plan}
    assert scanned == {CHECKINS.name(month)}, plan


# --- one nonce, one check-in, across windows (both databases) --------------------------------


def test_a_nonce_is_used_once_across_windows(enrolled, later):
    nonce = uuid.uuid4()
    first = CheckIn.objects.get(pk=check_in(enrolled, submission_id=nonce).id)
    assert CheckInSubmission.objects.get(pk=nonce).window_opens_at == first.window_opens_at
    later(7)  # the next window
    with pytest.raises(Conflict) as refused:
        check_in(enrolled, image=ANA_SELFIE_2, submission_id=nonce)
    assert refused.value.code == "replay"
    assert CheckIn.objects.count() == 1 and CheckInSubmission.objects.count() == 1
    # the same photo with the same nonce is a retry: the earlier receipt, found in its window
    assert check_in(enrolled, submission_id=nonce).id == first.pk
    fresh = CheckIn.objects.get(pk=check_in(enrolled, image=ANA_SELFIE_2).id)
    assert fresh.window_opens_at > first.window_opens_at
    assert CheckInSubmission.objects.get(pk=fresh.submission_id).window_opens_at == (
        fresh.window_opens_at)


@pytest.mark.postgres_only
def test_the_database_refuses_a_check_in_without_its_nonce_or_with_another_windows(enrolled):
    first = CheckIn.objects.get(pk=check_in(enrolled).id)

    def store(**changes):
        twin = CheckIn.objects.get(pk=first.pk)
        twin.pk, twin.attempt = uuid.uuid4(), 2
        for name, value in changes.items():
            setattr(twin, name, value)
        immediately(lambda: twin.save(force_insert=True))

    with pytest.raises(IntegrityError, match="supervision_checkin_submission_fk"):
        store(submission_id=uuid.uuid4())  # no nonce row
    with pytest.raises(IntegrityError, match="supervision_checkin_submission_fk"):
        store(window_opens_at=first.window_opens_at + timedelta(days=7))  # the nonce's, moved
    assert CheckIn.objects.count() == 1


@pytest.mark.postgres_only
def test_a_review_or_a_departure_cannot_name_a_check_in_outside_its_window(enrolled, users):
    checkin = CheckIn.objects.get(pk=check_in(enrolled, image=STRANGER).id)
    review = Review.objects.get(checkin=checkin)
    assert review.window_opens_at == checkin.window_opens_at
    with pytest.raises(IntegrityError, match="supervision_review_checkin_fk"):
        immediately(lambda: Review.objects.filter(pk=review.pk).update(
            window_opens_at=checkin.window_opens_at - timedelta(days=1)))
    departure = Departure(enrolment=enrolled.enrolment, kind="voluntary_departure",
                          evidence_kind="checkin_abroad", checkin=checkin,
                          departed_on=timezone.localdate(), confirmed_by=users["officer_east"],
                          confirmed_at=timezone.now())
    with pytest.raises(IntegrityError, match="supervision_departure_checkin_fk"):
        immediately(lambda: departure.save(force_insert=True))  # no window: MATCH FULL


def test_a_departure_keeps_the_window_of_its_check_in(enrolled, users):
    checkin = CheckIn.objects.get(pk=check_in(enrolled).id)
    departure = services.confirm_departure(
        ctx=context(users["officer_east"]), enrolment_id=enrolled.enrolment.pk,
        kind="voluntary_departure", evidence_kind="checkin_abroad",
        departed_on=ana_today(), checkin_id=checkin.pk)
    departure.refresh_from_db()
    assert (departure.checkin_id, departure.checkin_window_opens_at) == (
        checkin.pk, checkin.window_opens_at)


# --- partitions made ahead, grants, the default partition ------------------------------------


@pytest.fixture
def app_role(db) -> str:
    """The application role as DEPLOY.md grants it on the check-ins (rolled back after)."""
    with connection.cursor() as cur:
        cur.execute(f"CREATE ROLE {APP_ROLE} NOLOGIN")
        cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON supervision_checkin TO {APP_ROLE}")
    return APP_ROLE


@pytest.mark.postgres_only
def test_every_partition_gets_the_parents_grants_and_nothing_more(app_role):
    parts.ensure_partitions(CHECKINS)  # three months ahead of this month (a run may cross one)
    with connection.cursor() as cur:  # a grant wider than the parent's, on a partition
        cur.execute(f"GRANT TRUNCATE ON {CHECKINS.default} TO {APP_ROLE}")
    created = parts.ensure_partitions(CHECKINS, months_ahead=5)
    assert len(created) == 2
    wanted = {"SELECT", "INSERT", "UPDATE", "DELETE"}
    assert privileges(app_role, "supervision_checkin") == wanted
    assert {p.name: privileges(app_role, p.name) for p in parts.partitions(CHECKINS)} == {
        p.name: wanted for p in parts.partitions(CHECKINS)}


@pytest.mark.postgres_only
def test_a_months_check_ins_wait_in_the_default_then_move_to_their_partition(
    enrolled, users, later, capsys
):
    """Check-ins that a review and a departure reference are moved too: the references are
    made again, and checked, in the move's transaction."""
    moment = later(7 * 34)  # about eight months on: past the partitions made ahead
    month = parts.month_of(moment)
    assert CHECKINS.name(month) not in {p.name for p in parts.partitions(CHECKINS)}
    failed = CheckIn.objects.get(pk=check_in(enrolled, image=STRANGER).id)
    verified = CheckIn.objects.get(pk=check_in(enrolled).id)
    services.confirm_departure(
        ctx=context(users["officer_east"]), enrolment_id=enrolled.enrolment.pk,
        kind="voluntary_departure", evidence_kind="checkin_abroad",
        departed_on=ana_today(), checkin_id=verified.pk)
    assert {partition_of(failed.pk), partition_of(verified.pk)} == {CHECKINS.default}
    with pytest.raises(parts.PartitionRefused, match=r"supervision_checkin .*2 check-ins"):
        parts.ensure_partitions(CHECKINS)
    before = references()
    call_command("ledger", "partitions", "--move-default")
    assert {partition_of(failed.pk), partition_of(verified.pk)} == {CHECKINS.name(month)}
    assert references() == before
    assert Review.objects.get().checkin == failed
    assert Departure.objects.get().checkin == verified
    out = capsys.readouterr().out
    assert f"supervision_checkin created: {CHECKINS.name(month)}" in out


# --- the migration, both ways ----------------------------------------------------------------


def schema() -> dict[str, object]:
    """The check-ins' indexes, constraints, column comments and the references to them."""
    with connection.cursor() as cur:
        cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'supervision_checkin' "
                    "ORDER BY 1")
        indexes = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = 'supervision_checkin'::regclass ORDER BY 1")
        constraints = cur.fetchall()
        cur.execute("SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
                    "WHERE a.attrelid = 'supervision_checkin'::regclass AND a.attnum > 0 "
                    "ORDER BY a.attnum")
        comments = cur.fetchall()
    return {"indexes": indexes, "constraints": constraints, "comments": comments,
            "references": references()}


@pytest.mark.postgres_only
def test_the_rebuild_keeps_rows_grants_and_references_both_ways(enrolled, app_role):
    migration = importlib.import_module(MIGRATION)
    failed = CheckIn.objects.get(pk=check_in(enrolled, image=STRANGER).id)
    before = schema()
    assert len(before["indexes"]) >= 5 and len(before["constraints"]) >= 5
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the check-in's own checks, now
        migration._rebuild(cur, partitioned=False)
        cur.execute("SELECT relkind FROM pg_class WHERE relname = 'supervision_checkin'")
        assert cur.fetchone()[0] == "r"
        assert sorted(references().values()) == 2 * [
            "FOREIGN KEY (checkin_id) REFERENCES supervision_checkin(id) "
            "DEFERRABLE INITIALLY DEFERRED"]
        assert privileges(app_role, "supervision_checkin") == {
            "SELECT", "INSERT", "UPDATE", "DELETE"}
        migration._rebuild(cur, partitioned=True)
        cur.execute("SELECT relkind FROM pg_class WHERE relname = 'supervision_checkin'")
        assert cur.fetchone()[0] == "p"
    assert schema() == before
    assert privileges(app_role, CHECKINS.name(parts.month_of(failed.window_opens_at))) == {
        "SELECT", "INSERT", "UPDATE", "DELETE"}
    again = CheckIn.objects.get(pk=failed.pk)
    assert (again.submission_id, again.outcome, again.quality) == (
        failed.submission_id, failed.outcome, failed.quality)
    assert Review.objects.get().checkin == again
    assert check_in(enrolled).outcome == "verified"  # the next try is stored as before


BEFORE = ("supervision", "0006_review_open_due")
AFTER = ("supervision", "0007_partition_checkins")


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])


@pytest.mark.postgres_only
def test_the_migration_stops_with_a_clear_message_on_a_review_of_another_window(enrolled):
    migration = importlib.import_module(MIGRATION)
    check_in(enrolled, image=STRANGER)
    with connection.cursor() as cur:
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        migration._rebuild(cur, partitioned=False)
        cur.execute("UPDATE supervision_review SET window_opens_at = window_opens_at "
                    "- interval '1 day'")
        with pytest.raises(RuntimeError, match=r"1 review\(s\) name a check-in of another"):
            migration._rebuild(cur, partitioned=True)


def test_reviews_and_departures_keep_a_foreign_key_to_the_check_ins():
    """The model says `db_constraint=False` (for PostgreSQL's composite keys, made by the
    migration); SQLite keeps the key it had until a migration rebuilds the table. This fails
    when one does: give the table its key back in that migration."""
    if connection.vendor == "postgresql":
        assert set(references()) == {"supervision_review_checkin_fk",
                                     "supervision_departure_checkin_fk"}
        return
    with connection.cursor() as cur:
        for table in ("supervision_review", "supervision_departure"):
            cur.execute(f"PRAGMA foreign_key_list({table})")
            targets = {(row[2], row[3]) for row in cur.fetchall()}
            assert ("supervision_checkin", "checkin_id") in targets, table


@pytest.mark.django_db(transaction=True)
def test_migrating_fills_the_nonces_and_the_departures_windows(enrolled, users):
    failed = CheckIn.objects.get(pk=check_in(enrolled, image=STRANGER).id)
    review = Review.objects.get(checkin=failed)
    checkin = CheckIn.objects.get(pk=check_in(enrolled).id)
    services.confirm_departure(
        ctx=context(users["officer_east"]), enrolment_id=enrolled.enrolment.pk,
        kind="voluntary_departure", evidence_kind="checkin_abroad",
        departed_on=ana_today(), checkin_id=checkin.pk)
    try:
        _migrate(BEFORE)
        with connection.cursor() as cur:
            tables = connection.introspection.table_names(cur)
        assert "supervision_checkin_submission" not in tables
    finally:
        _migrate(AFTER)
    assert set(CheckInSubmission.objects.values_list("submission_id", "window_opens_at")) == {
        (c.submission_id, c.window_opens_at) for c in (failed, checkin)}
    assert Review.objects.get(pk=review.pk).checkin == failed
    departure = Departure.objects.get()
    assert (departure.checkin_id, departure.checkin_window_opens_at) == (
        checkin.pk, checkin.window_opens_at)
    assert CheckIn.objects.get(pk=checkin.pk).window_opens_at == checkin.window_opens_at
