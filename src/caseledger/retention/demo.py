"""Demo retention: one legal hold (placed by `privacy` on a demo person of the east office)
and one purge run, as `privacy`, over whatever the demo data holds past its dates."""

from __future__ import annotations

from typing import Any

from caseledger.access.context import AccessContext, default_purpose
from caseledger.accounts.models import User

from . import services
from .models import LegalHold

DEMO_REASON = "Demo: records preserved for pending litigation (Doe v. Agency)."


def seed_demo(out: Any = None) -> None:
    from caseledger.people.models import Person

    privacy = User.objects.filter(username="privacy").first()
    if privacy is None:
        if out is not None:
            out.write("Retention: demo user 'privacy' not found; nothing seeded.")
        return
    ctx = AccessContext(user=privacy, purpose=default_purpose(privacy), request_id="demo-seed")
    person = (
        Person.objects.filter(a_number__isnull=False, participant_account__isnull=True)
        .order_by("a_number")
        .first()
    )
    if (
        person is not None
        and not LegalHold.objects.filter(person=person, released_at__isnull=True).exists()
    ):
        services.place_hold(ctx=ctx, person_id=person.pk, reason=DEMO_REASON)
    result = services.run_purge(ctx, trigger="demo")
    if out is not None:
        out.write(
            f"Retention: legal hold on {person.pk if person else 'nobody'}; purge run "
            f"{result.run_id}: {result.deleted} deleted, {result.held} kept by holds, "
            f"{len(result.certificates)} certificate(s)."
        )
