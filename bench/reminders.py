"""Time to plan reminders for 10,000 upcoming hearings (1,000 with `quick`).

Creates its own office, persons, cases, proceedings and hearings (bulk_create, spread over
the next 120 days in the court time zones), then times, through `notices.planner`:

- plan: the first planning pass over all of them (`plan_hearings`, as `caseledger notices
  plan-all` runs it): a notice at scheduling plus 7, 3 and 1 days before, where still ahead;
- replan (idempotent): the same pass again, which finds everything in place;
- move 10%: a tenth of the hearings move one week later, then one pass re-plans them
  (old reminders superseded, new ones planned).

Everything it created is deleted at the end. Returns a dict of sizes and seconds; run alone
with `DATABASE_URL=sqlite:///var/bench-reminders.sqlite3 python -m bench.reminders [--quick]`.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import date, timedelta
from typing import Any

NAME = "reminders"
TITLE = "Planning reminders for upcoming hearings"
FULL_HEARINGS = 10_000
QUICK_HEARINGS = 1_000
CHUNK = 2_000


def _create(n: int, seed: int) -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from caseledger.accounts.models import Office
    from caseledger.cases.courts import COURTS
    from caseledger.cases.models import Case, Court, Hearing, Proceeding
    from caseledger.people.models import Person

    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8]
    for code, name, tz in COURTS:
        Court.objects.get_or_create(code=code, defaults={"name": name, "time_zone": tz})
    courts = list(Court.objects.filter(code__in=[c[0] for c in COURTS]))
    now = timezone.now()
    today = now.date()
    with transaction.atomic():
        office = Office.objects.create(code=f"bench-{tag}", name="Benchmark office")
        persons = [Person(office=office, languages=[rng.choice(["es", "en", "ht", "pt"])])
                   for _ in range(n)]
        Person.objects.bulk_create(persons, batch_size=CHUNK)
        cases = [Case(person=p, reference=f"BENCH-{tag}-{i}", case_type="removal",
                      opened_on=today - timedelta(days=rng.randint(30, 900)))
                 for i, p in enumerate(persons)]
        Case.objects.bulk_create(cases, batch_size=CHUNK)
        proceedings = [Proceeding(case=c, kind="removal", court=rng.choice(courts),
                                  started_on=c.opened_on) for c in cases]
        Proceeding.objects.bulk_create(proceedings, batch_size=CHUNK)
        hearings = [
            Hearing(proceeding=p, calendar="master", court=p.court,
                    scheduled_at=now + timedelta(days=rng.randint(1, 120),
                                                 minutes=rng.randrange(0, 8 * 60, 15)))
            for p in proceedings
        ]
        Hearing.objects.bulk_create(hearings, batch_size=CHUNK)
    return {"office": office, "tag": tag, "hearing_ids": [h.pk for h in hearings]}


def _cleanup(created: dict[str, Any]) -> None:
    from django.db import transaction

    from caseledger.cases.models import Case
    from caseledger.notices.models import Reminder
    from caseledger.people.models import Person

    office = created["office"]
    with transaction.atomic():
        Reminder.objects.filter(person__office=office).delete()
        Case.objects.filter(person__office=office).delete()  # proceedings and hearings cascade
        Person.objects.filter(office=office).delete()
        office.delete()


def run(quick: bool) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import F

    from caseledger.cases.models import Hearing
    from caseledger.notices.models import Reminder
    from caseledger.notices.planner import plan_hearings

    n = QUICK_HEARINGS if quick else FULL_HEARINGS
    started = time.perf_counter()
    created = _create(n, seed=2026)
    setup_s = time.perf_counter() - started
    ids = created["hearing_ids"]
    try:
        qs = Hearing.objects.filter(pk__in=ids).order_by("scheduled_at")

        t0 = time.perf_counter()
        first = plan_hearings(qs)
        plan_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        again = plan_hearings(qs)
        replan_s = time.perf_counter() - t0

        moved_ids = ids[:: 10]
        Hearing.objects.filter(pk__in=moved_ids).update(
            scheduled_at=F("scheduled_at") + timedelta(days=7),
            row_version=F("row_version") + 1,
        )
        t0 = time.perf_counter()
        moved = plan_hearings(Hearing.objects.filter(pk__in=moved_ids).order_by("scheduled_at"))
        move_s = time.perf_counter() - t0
        total = Reminder.objects.filter(person__office=created["office"]).count()
    finally:
        _cleanup(created)
    return {
        "database": connection.vendor,
        "date": date.today().isoformat(),
        "hearings": n,
        "setup_seconds": round(setup_s, 3),
        "plan_seconds": round(plan_s, 3),
        "plan_ms_per_hearing": round(plan_s * 1000 / n, 3),
        "reminders_created": first.created,
        "replan_seconds": round(replan_s, 3),
        "replan_created": again.created,
        "moved_hearings": len(moved_ids),
        "move_replan_seconds": round(move_s, 3),
        "move_superseded": moved.superseded,
        "move_created": moved.created,
        "reminder_rows": total,
    }


def markdown(result: dict[str, Any]) -> str:
    """A section for docs/BENCHMARKS.md."""
    r = result
    return (
        f"## {TITLE}\n\n"
        f"{r['hearings']:,} upcoming hearings ({r['database']}, {r['date']}):\n\n"
        "| pass | seconds | reminders |\n| --- | ---: | ---: |\n"
        f"| plan (first) | {r['plan_seconds']:.2f} | {r['reminders_created']:,} created |\n"
        f"| plan again (idempotent) | {r['replan_seconds']:.2f} | "
        f"{r['replan_created']:,} created |\n"
        f"| {r['moved_hearings']:,} hearings moved a week | {r['move_replan_seconds']:.2f} | "
        f"{r['move_superseded']:,} superseded, {r['move_created']:,} created |\n\n"
        f"{r['plan_ms_per_hearing']:.2f} ms per hearing on the first pass.\n"
    )


if __name__ == "__main__":
    import json
    import os
    import sys

    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL (a throw-away database), e.g. "
                 "sqlite:///var/bench-reminders.sqlite3")
    os.environ.setdefault("CASELEDGER_TESTING", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseledger.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    outcome = run(quick="--quick" in sys.argv)
    print(json.dumps(outcome, indent=2))
    print(markdown(outcome))
