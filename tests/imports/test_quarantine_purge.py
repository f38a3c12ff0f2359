"""`caseledger import-quarantine purge` runs the retention engine for the import_quarantine
class, so every deletion leaves a deletion certificate in the ledger (DESIGN invariant 6)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from caseledger.core import clock
from caseledger.imports.models import ImportBatch, QuarantinedRow
from caseledger.ledger.models import Event
from caseledger.retention.models import DeletionCertificate, PurgeRun
from tests.conftest import last_event_id

from .test_persons import BAD, GOOD


@pytest.fixture
def expired(users, write_csv, run_import):
    """A batch with two quarantined rows whose retention date has passed."""
    run_import(write_csv("persons", [GOOD[0], BAD[0][0], BAD[1][0]]), "persons")
    QuarantinedRow.objects.update(retain_until=clock.today() - timedelta(days=1))
    return ImportBatch.objects.get()


def purge(*args: str) -> str:
    out = io.StringIO()
    call_command("import-quarantine", "purge", *args, stdout=out)
    return out.getvalue()


def test_purge_writes_a_deletion_certificate(expired):
    ids = sorted(str(pk) for pk in QuarantinedRow.objects.values_list("pk", flat=True))
    mark = last_event_id()

    out = purge()

    assert "Deleted 2 quarantined row(s)" in out and "1 deletion certificate(s)" in out
    assert not QuarantinedRow.objects.exists()
    [certificate] = DeletionCertificate.objects.all()
    assert certificate.data_class == "import_quarantine"
    assert (certificate.count, certificate.record_type) == (2, "imports.quarantinedrow")
    assert sorted(certificate.record_ids) == ids
    event = Event.objects.get(uuid=certificate.ledger_event)
    assert event.id > mark
    assert (event.action, event.data_category, event.record_type, event.actor_role) == (
        "purge",
        "retention",
        "retention.deletioncertificate",
        "system",
    )
    assert event.detail["data_class"] == "import_quarantine" and event.detail["count"] == 2
    run = PurgeRun.objects.get()
    assert str(run.pk) in out and run.trigger == "command"
    assert Event.objects.filter(id__gt=mark, action="purge_run").count() == 1
    # the batch and its counts stay; a second run finds nothing and certifies nothing
    assert ImportBatch.objects.get().quarantined == 2
    assert "Deleted 0 quarantined row(s)" in purge()
    assert DeletionCertificate.objects.count() == 1


def test_rows_not_yet_due_are_kept(users, write_csv, run_import):
    run_import(write_csv("persons", [GOOD[0], BAD[0][0]]), "persons")
    assert "Deleted 0 quarantined row(s)" in purge()
    assert QuarantinedRow.objects.count() == 1
    assert not DeletionCertificate.objects.exists()


def test_dry_run_counts_and_deletes_nothing(expired):
    mark = last_event_id()
    assert "Would delete 2 quarantined row(s)" in purge("--dry-run")
    assert QuarantinedRow.objects.count() == 2
    assert not DeletionCertificate.objects.exists() and not PurgeRun.objects.exists()
    assert not Event.objects.filter(id__gt=mark).exists()


def test_bad_batch_size_is_refused(expired):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="batch size"):
        purge("--batch-size", "0")
    assert QuarantinedRow.objects.count() == 2 and not DeletionCertificate.objects.exists()
