"""Demo reports: `officer.east` declares a household member who (as it happens) is on their
caseload and opens that record; then the anomaly report of the previous week (the last one
that has ended: a week is built once, after it ends) is built. The read happens now, so it
is flagged in the report of this week, which the weekly task builds next Monday."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from caseledger.access.context import AccessContext, default_purpose
from caseledger.accounts.models import User
from caseledger.core import clock

from .models import HouseholdMember
from .periods import week_of
from .services import build_anomaly_report, declare_household_member


def seed_demo(out: Any = None) -> None:
    from caseledger.people.models import PersonName
    from caseledger.people.selectors import get_person

    officer = User.objects.filter(username="officer.east").first()
    if officer is None:
        if out is not None:
            out.write("Reports: demo user 'officer.east' not found; nothing seeded.")
        return
    name = (
        PersonName.objects.filter(
            kind="primary",
            person__caseload_assignments__officer=officer,
            person__caseload_assignments__ended_at__isnull=True,
        )
        .order_by("search_key")
        .first()
    )
    if name is not None:
        if not HouseholdMember.objects.filter(user=officer, search_key=name.search_key).exists():
            declare_household_member(
                user=officer,
                full_name=name.full_name,
                relationship="sibling",
                request_id="demo-seed",
            )
        ctx = AccessContext(user=officer, purpose=default_purpose(officer), request_id="demo-seed")
        get_person(ctx=ctx, person_id=name.person_id)
    result = build_anomaly_report(week_of(clock.today() - timedelta(days=7)))
    if out is not None:
        out.write(
            f"Reports: household declaration for officer.east; anomaly report "
            f"{result.report.week} with {result.report.items.count()} item(s)."
        )
