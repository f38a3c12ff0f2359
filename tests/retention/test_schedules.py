"""Every data class has a schedule (DESIGN invariant 6); the accounting of disclosures is kept
five years AND the life of the record; the quarantine purge is folded in."""

from __future__ import annotations

from datetime import timedelta

from django.apps import apps
from django.core import checks
from django.core.management import call_command

from caseledger.core import clock
from caseledger.retention.checks import personal_models
from caseledger.retention.classes import NOT_PURGED, SPECS, covered_models
from caseledger.retention.models import DataClass, DeletionItem, Method, Schedule
from caseledger.retention.services import run_purge


def test_every_data_class_has_a_seeded_schedule(db):
    schedules = {s.data_class: s for s in Schedule.objects.all()}
    assert set(schedules) == set(DataClass.values)
    for code, s in schedules.items():
        assert s.citation and s.counts_from and s.date_field, code
        assert (s.period_days is None) == (s.method in (Method.PERMANENT, Method.NOT_AUTOMATIC))
    assert schedules["ledger_event"].method == Method.PERMANENT
    assert "append-only" in schedules["ledger_event"].citation
    assert "552a(c)(2)" in schedules["accounting"].citation
    assert schedules["accounting"].period_days >= 5 * 365
    # the periods of classes with their own dates are the settings that set those dates
    from django.conf import settings

    assert schedules["failed_check_image"].period_days == settings.FAILED_IMAGE_RETENTION_DAYS
    assert schedules["enrolment_photo"].period_days == settings.ENROLMENT_PHOTO_RETENTION_DAYS


def test_every_data_class_has_rules_and_every_personal_model_a_class():
    assert set(SPECS) | set(NOT_PURGED) == set(DataClass.values)
    missing = personal_models() - covered_models()
    assert not missing, f"personal data without a retention data class: {sorted(missing)}"
    # the check sees what the test sees: core models are found
    assert {
        "supervision.CheckIn",
        "supervision.ReferencePhoto",
        "people.Person",
    } <= personal_models()


def test_system_checks_pass_and_catch_a_missing_schedule(db):
    from caseledger.retention.checks import classes_have_rules, schedules_exist

    assert classes_have_rules() == []
    assert schedules_exist(databases=["default"]) == []
    Schedule.objects.filter(data_class="notes").delete()
    errors = schedules_exist(databases=["default"])
    assert [e.id for e in errors] == ["retention.E002"] and "notes" in errors[0].msg
    assert any(m.id == "retention.E002" for m in checks.run_checks(databases=["default"]))


def test_a_class_without_a_schedule_is_not_purged(enrolled, privacy_ctx):
    from tests.retention.conftest import make_checkin

    row = make_checkin(enrolled.enrolment)
    Schedule.objects.filter(data_class="failed_check_image").delete()
    result = run_purge(privacy_ctx)
    assert result.classes["failed_check_image"].skipped == "no schedule"
    row.refresh_from_db()
    assert row.image_encrypted is not None


def _accounting_entry(person, users, *, retain_days: int):
    Agency = apps.get_model("disclosures", "Agency")
    Request = apps.get_model("disclosures", "DisclosureRequest")
    Entry = apps.get_model("disclosures", "AccountingEntry")
    agency, _ = Agency.objects.get_or_create(
        code="EOIR",
        defaults={"name": "Executive Office", "mailing_address": "Falls Church", "monthly_cap": 10},
    )
    request = Request.objects.create(
        person=person,
        agency=agency,
        official_name="J. Smith",
        official_title="Chief",
        official_rank="section_chief",
        authority="b7",
        activity="Investigation 42",
        categories=["identity"],
        letter_encrypted=b"sealed",
        letter_sha256="0" * 64,
        letter_size=6,
        status="approved",
        entered_by=users["officer_east"],
        entered_at=clock.now(),
    )
    return Entry.objects.create(
        person=person,
        subject_id=person.pk,
        request=request,
        disclosed_on=clock.today(),
        categories=["identity"],
        purpose="Investigation 42",
        agency=agency,
        recipient_name="EOIR, J. Smith",
        recipient_address="Falls Church",
        authority="b7",
        retain_until=clock.today() + timedelta(days=retain_days),
    )


def test_accounting_is_kept_while_the_record_lives(users, make_person, privacy_ctx):
    Entry = apps.get_model("disclosures", "AccountingEntry")
    living = make_person("officer_east", "Lia", "Moreno")
    gone = make_person("officer_east", "Omar", "Haddad")
    young = make_person("officer_east", "Ivo", "Petrov")
    kept_alive = _accounting_entry(living, users, retain_days=-1)  # past 5 years, record lives
    expired = _accounting_entry(gone, users, retain_days=-1)
    not_yet = _accounting_entry(young, users, retain_days=10)
    Entry.objects.filter(pk__in=[expired.pk, not_yet.pk]).update(person=None)  # records gone

    result = run_purge(privacy_ctx, data_class="accounting")

    assert result.classes["accounting"].deleted == 1
    assert set(Entry.objects.values_list("pk", flat=True)) == {kept_alive.pk, not_yet.pk}
    item = DeletionItem.objects.get()
    assert item.person_id == gone.pk and item.data_class == "accounting"


def test_quarantine_rows_are_purged_with_a_certificate(users, privacy_ctx):
    from caseledger.imports.models import ImportBatch, QuarantinedRow
    from caseledger.retention.models import DeletionCertificate

    batch = ImportBatch.objects.create(
        file_name="h.csv",
        sha256="1" * 64,
        kind="hearings",
        user=users["officer_east"],
        started_at=clock.now(),
    )
    rows = [
        QuarantinedRow.objects.create(
            batch=batch,
            line=n,
            raw="r",
            reason="invalid_date",
            message="m",
            retain_until=clock.today() - timedelta(1),
        )
        for n in range(2, 5)
    ]
    run_purge(privacy_ctx, data_class="import_quarantine")
    cert = DeletionCertificate.objects.get()
    assert sorted(cert.record_ids) == sorted(str(r.pk) for r in rows)
    assert cert.persons == 0 and not DeletionItem.objects.exists()
    assert not QuarantinedRow.objects.exists()


def test_the_command_runs_dry_and_real(enrolled, users, capsys):
    from io import StringIO

    from tests.retention.conftest import make_checkin

    make_checkin(enrolled.enrolment)
    out = StringIO()
    call_command("retention", "run", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "Dry run: nothing deleted" in text and "failed_check_image" in text
    assert DeletionItem.objects.count() == 0
    out = StringIO()
    call_command("retention", "run", "--as", "privacy", "--batch-size", "50", "--quiet", stdout=out)
    assert "Purge run" in out.getvalue()
    assert DeletionItem.objects.count() == 1


def test_the_command_refuses_ledger_events_and_other_roles(db, users):
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="append-only"):
        call_command("retention", "run", "--class", "ledger_event")
    with pytest.raises(CommandError, match="privacy officer"):
        call_command("retention", "run", "--as", "officer.east")
    with pytest.raises(CommandError, match="no active user"):
        call_command("retention", "run", "--as", "nobody")


def test_the_loop_enqueues_the_daily_task(db, settings):
    from io import StringIO

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    out = StringIO()
    call_command("retention", "run", "--loop", "--max-ticks", "1", stdout=out)
    assert "enqueued 1 purge task" in out.getvalue()
