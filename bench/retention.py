"""A purge of 100,000 expired failed-check images' records (5,000 with `quick`).

Creates its own office, privacy officer, 1,000 persons (50 with `quick`) each enrolled with
100 check-ins whose encrypted image (2 KiB of random bytes standing in for the ciphertext)
passed its retention date yesterday; 1% of the persons are under a legal hold. Rows are
bulk-created directly (no verifier, no ledger) so that only the purge is timed. Then times,
through `retention.services.run_purge` as the privacy officer (batches of 1,000, one
transaction, certificate and ledger event each):

- purge: every due image not held is cleared, certified and indexed per person;
- purge again (idempotent): finds nothing;
- the person's view: `deletions_for_person` for 200 persons (p50/p95), as their officer.

Everything it created is deleted at the end, except the ledger events (append-only).
Run alone with `DATABASE_URL=sqlite:///var/bench-retention.sqlite3 python -m bench.retention`.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

NAME = "retention"
TITLE = "Purging expired check-in images"
FULL_RECORDS = 100_000
QUICK_RECORDS = 5_000
PER_PERSON = 100
HELD_SHARE = 100  # one person in a hundred is under a legal hold
IMAGE_BYTES = 2048
CHUNK = 2_000
VIEW_SAMPLES = 200


def _create(n: int) -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from caseledger.accounts.models import CaseloadAssignment, Office, Role, User
    from caseledger.people.models import Person
    from caseledger.retention.models import LegalHold
    from caseledger.supervision.models import CheckIn, Enrolment

    tag = uuid.uuid4().hex[:8]
    now = timezone.now()
    yesterday = now.date() - timedelta(days=1)
    persons_n = max(1, n // PER_PERSON)
    with transaction.atomic():
        office = Office.objects.create(
            code=f"bench-{tag}", name="Benchmark office", time_zone="America/New_York"
        )
        officer = User.objects.create(
            username=f"bench-officer-{tag}", role=Role.CASE_OFFICER, office=office
        )
        privacy = User.objects.create(username=f"bench-privacy-{tag}", role=Role.PRIVACY_OFFICER)
        persons = [Person(office=office, languages=["es"]) for _ in range(persons_n)]
        Person.objects.bulk_create(persons, batch_size=CHUNK)
        CaseloadAssignment.objects.bulk_create(
            [CaseloadAssignment(person=p, officer=officer, started_at=now) for p in persons],
            batch_size=CHUNK,
        )
        enrolments = [
            Enrolment(person=p, officer=officer, level="standard", started_at=now) for p in persons
        ]
        Enrolment.objects.bulk_create(enrolments, batch_size=CHUNK)
        made = 0
        batch: list[CheckIn] = []
        for e in enrolments:
            for i in range(PER_PERSON):
                if made >= n:
                    break
                submitted = now - timedelta(days=60, hours=i)
                batch.append(
                    CheckIn(
                        enrolment=e,
                        submission_id=uuid.uuid4(),
                        window_opens_at=submitted,
                        attempt=1,
                        submitted_at=submitted,
                        outcome="review",
                        face_outcome="no_match",
                        distance=0.8,
                        model_id="bench",
                        threshold=0.6,
                        threshold_version="bench",
                        quality={},
                        latitude=Decimal("40.7128"),
                        longitude=Decimal("-74.006"),
                        accuracy_m=25.0,
                        location_delete_after=now.date() + timedelta(days=300),
                        image_encrypted=os.urandom(IMAGE_BYTES),
                        image_delete_after=yesterday,
                    )
                )
                made += 1
            if len(batch) >= CHUNK:
                _create_checkins(batch)
                batch = []
        if batch:
            _create_checkins(batch)
        held = persons[::HELD_SHARE]
        LegalHold.objects.bulk_create(
            [
                LegalHold(person=p, reason="Benchmark hold", placed_by=privacy, placed_at=now)
                for p in held
            ]
        )
    return {
        "office": office,
        "officer": officer,
        "privacy": privacy,
        "persons": [p.pk for p in persons],
        "held_persons": len(held),
        "records": made,
    }


def _create_checkins(batch: list[Any]) -> None:
    """The check-ins with their client nonces (each check-in references its own)."""
    from caseledger.supervision.models import CheckIn, CheckInSubmission

    CheckInSubmission.objects.bulk_create(
        CheckInSubmission(submission_id=c.submission_id, window_opens_at=c.window_opens_at)
        for c in batch
    )
    CheckIn.objects.bulk_create(batch)


def _cleanup(created: dict[str, Any]) -> None:
    from django.db import transaction

    from caseledger.accounts.models import CaseloadAssignment, User
    from caseledger.people.models import Person
    from caseledger.retention.models import (
        DeletionCertificate,
        DeletionItem,
        LegalHold,
        PurgeRun,
    )
    from caseledger.supervision.models import CheckIn, CheckInSubmission, Enrolment

    office = created["office"]
    privacy = created["privacy"]
    with transaction.atomic():
        runs = PurgeRun.objects.filter(started_by=privacy)
        DeletionItem.objects.filter(certificate__run__in=runs).delete()
        DeletionCertificate.objects.filter(run__in=runs).delete()
        runs.delete()
        LegalHold.objects.filter(person__office=office).delete()
        checkins = CheckIn.objects.filter(enrolment__person__office=office)
        CheckInSubmission.objects.filter(pk__in=checkins.values("submission_id")).delete()
        checkins.delete()
        Enrolment.objects.filter(person__office=office).delete()
        CaseloadAssignment.objects.filter(person__office=office).delete()
        Person.objects.filter(office=office).delete()
        User.objects.filter(pk__in=[created["officer"].pk, privacy.pk]).delete()
        office.delete()


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(quick: bool) -> dict[str, Any]:
    from django.db import connection

    from caseledger.access.context import AccessContext, default_purpose
    from caseledger.retention.selectors import deletions_for_person
    from caseledger.retention.services import run_purge

    n = QUICK_RECORDS if quick else FULL_RECORDS
    t0 = time.perf_counter()
    created = _create(n)
    setup_s = time.perf_counter() - t0
    privacy = created["privacy"]
    ctx = AccessContext(user=privacy, purpose=default_purpose(privacy), request_id="bench")
    try:
        t0 = time.perf_counter()
        first = run_purge(ctx, data_class="failed_check_image", batch_size=1000, trigger="bench")
        purge_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = run_purge(ctx, data_class="failed_check_image", batch_size=1000, trigger="bench")
        again_s = time.perf_counter() - t0
        officer = created["officer"]
        view_ctx = AccessContext(user=officer, purpose=default_purpose(officer), request_id="bench")
        samples = []
        for pid in created["persons"][1:][:VIEW_SAMPLES]:
            t = time.perf_counter()
            deletions_for_person(view_ctx, pid)
            samples.append((time.perf_counter() - t) * 1000)
        r = first.classes["failed_check_image"]
    finally:
        _cleanup(created)
    return {
        "database": connection.vendor,
        "date": date.today().isoformat(),
        "records": created["records"],
        "persons": len(created["persons"]),
        "held_persons": created["held_persons"],
        "setup_seconds": round(setup_s, 2),
        "purge_seconds": round(purge_s, 3),
        "deleted": r.deleted,
        "held": r.held,
        "certificates": len(r.certificates),
        "records_per_second": round(r.deleted / purge_s) if purge_s else 0,
        "second_run_seconds": round(again_s, 3),
        "second_run_deleted": second.deleted,
        "view_samples": len(samples),
        "view_p50_ms": round(statistics.median(samples), 2) if samples else None,
        "view_p95_ms": round(_percentile(samples, 0.95), 2) if samples else None,
    }


def markdown(result: dict[str, Any]) -> str:
    """A section for docs/BENCHMARKS.md."""
    r = result
    return (
        f"## {TITLE}\n\n"
        f"{r['records']:,} failed-check images past their date ({IMAGE_BYTES:,} bytes each), "
        f"{r['persons']:,} persons, {r['held_persons']:,} of them under a legal hold "
        f"({r['database']}, {r['date']}); batches of 1,000, each one transaction with its "
        "certificate, ledger event and per-person items:\n\n"
        "| pass | seconds | records | certificates |\n| --- | ---: | ---: | ---: |\n"
        f"| purge | {r['purge_seconds']:.2f} | {r['deleted']:,} cleared, {r['held']:,} held | "
        f"{r['certificates']:,} |\n"
        f"| purge again (idempotent) | {r['second_run_seconds']:.2f} | "
        f"{r['second_run_deleted']:,} | 0 |\n\n"
        f"{r['records_per_second']:,} records/s. The person's view of their deletions "
        f"(`deletions_for_person`, gate and ledger event included) over {r['view_samples']} "
        f"persons: p50 {r['view_p50_ms']} ms, p95 {r['view_p95_ms']} ms.\n"
    )


if __name__ == "__main__":
    import json
    import sys

    if not os.environ.get("DATABASE_URL"):
        sys.exit(
            "Set DATABASE_URL (a throw-away database), e.g. sqlite:///var/bench-retention.sqlite3"
        )
    os.environ.setdefault("CASELEDGER_TESTING", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseledger.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    outcome = run(quick="--quick" in sys.argv)
    print(json.dumps(outcome, indent=2))
    print(markdown(outcome))
