"""'Who accessed my record' for a person with 10,000 ledger events.

Creates one office, one person with a participant login, and 10,000 ledger events about that
person spread over two years: reads, lists, searches and writes by case officers,
supervisors and privacy officers of two offices (about 85%), and the person's own reads (which
the page leaves out). The events are made exactly as `record_event` makes them (canonical leaf
and leaf hash), inserted in bulk, then placed in the chain by the integrator.

Then times, through `access.history.access_history` as the participant (each call is
itself recorded in the ledger, as in production):

- the first page (50 newest staff accesses) and the total;
- a later page (page 100, i.e. rows 4,951 to 5,000);
- the whole My record page (`portal.selectors.my_record`, every part read through the gate).

The ledger is append-only, so nothing is deleted at the end: run it on a throw-away database.
Returns a dict of sizes and timings; run alone with
`DATABASE_URL=sqlite:///var/bench-who.sqlite3 python -m bench.who_accessed [--quick]`.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import date, timedelta
from typing import Any

NAME = "who_accessed"
TITLE = "Who accessed my record (10,000 ledger events)"
EVENTS = 10_000
FULL_CALLS = 50
QUICK_CALLS = 20
LATER_PAGE = 100
CHUNK = 2_000

STAFF = [
    ("case_officer", "caseload"),
    ("supervisor", "office_supervision"),
    ("privacy_officer", "privacy_review"),
    ("case_officer", "break_glass"),
]
ACTIONS = [
    ("read", "identity"),
    ("read", "case"),
    ("list", "identity"),
    ("search", "identity"),
    ("update", "address"),
    ("read", "supervision"),
    ("create", "hearing"),
    ("read", "disclosure"),
]


def _create(seed: int) -> dict[str, Any]:
    from django.db import transaction
    from django.utils import timezone

    from caseledger.accounts.models import Office, Role
    from caseledger.accounts.services import create_user
    from caseledger.ledger import encoding
    from caseledger.ledger.models import Event
    from caseledger.ledger.services import integrate_pending
    from caseledger.people.models import Person, PersonName

    rng = random.Random(seed)
    tag = uuid.uuid4().hex[:8]
    with transaction.atomic():
        office = Office.objects.create(
            code=f"who-{tag}", name="Benchmark office", time_zone="America/New_York"
        )
        user = create_user(username=f"who-{tag}", password=uuid.uuid4().hex, role=Role.PARTICIPANT)
        person = Person.objects.create(office=office, participant_account=user, languages=["es"])
        PersonName.objects.create(
            person=person,
            kind="primary",
            given_names="Rosa",
            family_names="Diaz",
            full_name="Rosa Diaz",
            search_key="rosa diaz",
            skeleton="rs dz",
        )
    staff_ids = [str(uuid.uuid4()) for _ in range(40)]
    now = timezone.now()
    start = now - timedelta(days=730)
    times = sorted(start + timedelta(seconds=rng.uniform(0, 730 * 86400)) for _ in range(EVENTS))
    events = []
    staff_events = 0
    for moment in times:
        if rng.random() < 0.85:
            role, purpose = rng.choice(STAFF)
            actor, office_code = rng.choice(staff_ids), rng.choice(["east", "west", ""])
            staff_events += 1
        else:
            role, purpose, actor, office_code = "participant", "self_service", str(user.pk), ""
        action, category = rng.choice(ACTIONS)
        event = Event(
            uuid=uuid.uuid4(),
            time=moment,
            actor_id=actor,
            actor_role=role,
            office=office_code,
            action=action,
            subject_id=person.pk,
            record_type="people.person",
            record_id=str(person.pk),
            data_category=category,
            purpose=purpose,
            outcome="denied" if rng.random() < 0.02 else "allowed",
            request_id=uuid.uuid4().hex,
            detail={"bench": tag},
        )
        event.leaf = encoding.canonical_bytes(encoding.event_fields(event))
        event.leaf_hash = encoding.leaf_hash(event.leaf)
        events.append(event)
    with transaction.atomic():
        Event.objects.bulk_create(events, batch_size=CHUNK)
    integrate_pending()
    return {"user": user, "person": person, "staff_events": staff_events}


def _time(fn: Any, calls: int) -> list[int]:
    durations = []
    for _ in range(calls):
        t0 = time.perf_counter_ns()
        fn()
        durations.append(time.perf_counter_ns() - t0)
    return durations


def run(quick: bool) -> dict[str, Any]:
    from django.db import connection

    from caseledger.access.context import AccessContext, Purpose
    from caseledger.access.history import access_history
    from caseledger.portal.selectors import my_record

    from .report import summarize_ms

    calls = QUICK_CALLS if quick else FULL_CALLS
    t0 = time.perf_counter()
    created = _create(seed=2026)
    setup_s = time.perf_counter() - t0
    ctx = AccessContext(user=created["user"], purpose=Purpose.SELF_SERVICE)

    rows, total = access_history(ctx=ctx)  # warm up; checks the figures
    assert total == created["staff_events"] and len(rows) == 50
    later, _ = access_history(ctx=ctx, page=LATER_PAGE)
    assert len(later) == 50
    first = summarize_ms(_time(lambda: access_history(ctx=ctx), calls))
    later_page = summarize_ms(_time(lambda: access_history(ctx=ctx, page=LATER_PAGE), calls))
    # The whole page: identity, cases, supervision, accounting, history, deletions, amendments.
    page = summarize_ms(_time(lambda: my_record(ctx), max(5, calls // 2)))
    return {
        "database": connection.vendor,
        "date": date.today().isoformat(),
        "events": EVENTS,
        "staff_events": total,
        "calls": calls,
        "setup_seconds": round(setup_s, 2),
        "first_page": first,
        "later_page": later_page,
        "my_record_page": page,
    }


def markdown(result: dict[str, Any]) -> str:
    from .report import fmt_ms, table

    r = result
    rows = [
        (label, r[key]["n"], fmt_ms(r[key]["p50"]), fmt_ms(r[key]["p95"]), fmt_ms(r[key]["max"]))
        for label, key in (
            ("first page (50 newest) + total", "first_page"),
            (f"page {LATER_PAGE} (rows 4,951-5,000)", "later_page"),
            ("whole My record page (all parts)", "my_record_page"),
        )
    ]
    return (
        f"One person with {r['events']:,} ledger events, {r['staff_events']:,} of them staff "
        f"accesses ({r['database']}, {r['date']}; set-up {r['setup_seconds']} s). Each call "
        "reads through the access gate and writes its own ledger event, as in production.\n\n"
        + table(["call", "n", "median ms", "p95 ms", "max ms"], rows)
        + "\n"
    )


if __name__ == "__main__":
    import json
    import os
    import sys

    if not os.environ.get("DATABASE_URL"):
        sys.exit("Set DATABASE_URL (a throw-away database), e.g. sqlite:///var/bench-who.sqlite3")
    os.environ.setdefault("CASELEDGER_TESTING", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseledger.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    outcome = run(quick="--quick" in sys.argv)
    print(json.dumps(outcome, indent=2, default=str))
    print(markdown(outcome))
