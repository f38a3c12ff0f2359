"""Demo disclosures, made through the services: one approved routine-use release, one
declined request, one pending request, and one approved (b)(7) release withheld from the
subject. Entered by `supervisor.east`, decided by `privacy` (two people)."""

from __future__ import annotations

import uuid
from typing import Any

from caseledger.access.context import AccessContext, default_purpose
from caseledger.accounts.models import User
from caseledger.core.pdf import html_to_pdf

from . import services

LETTER_HTML = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Request letter</title></head><body><h1>{agency}</h1>
<p>Request for the record of one person, for: {activity}</p>
<p>Signed, {official}, {title}</p></body></html>"""


def _letter(agency: str, activity: str, official: str, title: str) -> bytes:
    return html_to_pdf(
        LETTER_HTML.format(agency=agency, activity=activity, official=official, title=title)
    )


def seed_demo(out: Any = None) -> None:
    from caseledger.people.models import Person

    enterer = User.objects.filter(username="supervisor.east").first()
    decider = User.objects.filter(username="privacy").first()
    if enterer is None or decider is None:
        if out is not None:
            out.write("Disclosures: demo users not found; nothing seeded.")
        return
    east = Person.objects.filter(office=enterer.office, a_number__isnull=False)
    subject = (
        east.filter(participant_account__isnull=False).first()
        or east.order_by("created_at").first()
    )
    others = list(east.exclude(pk=getattr(subject, "pk", None)).order_by("created_at")[:2])
    if subject is None or len(others) < 2:
        if out is not None:
            out.write("Disclosures: not enough demo persons; nothing seeded.")
        return
    plans = [
        (
            subject,
            "EOIR",
            "ICE-A",
            "Dana Cruz",
            "Court Administrator",
            "supervisor",
            "Removal proceedings before the immigration court",
            ["identity", "hearings"],
            False,
            ("approve", "Routine use A: the person's proceedings are pending before EOIR."),
        ),
        (
            others[0],
            "NJSP",
            "ICE-C",
            "Sam Ortiz",
            "Detective",
            "agent",
            "General inquiry about residents of a county (no specific violation)",
            ["identity", "addresses"],
            False,
            ("decline", "No specific violation is stated; routine use C requires one."),
        ),
        (
            subject,
            "FBI",
            "b7",
            "Lee Park",
            "Section Chief",
            "section_chief",
            "Investigation of document fraud, case 2026-NK-114",
            ["identity", "addresses"],
            True,
            (
                "approve",
                "Written (b)(7) request signed by a section chief, one record, stated "
                "activity; the requester asked in writing that the person not be told.",
            ),
        ),
        (
            others[1],
            "CONGRESS",
            "ICE-D",
            "Robin Hale",
            "Caseworker",
            "agent",
            "Congressional inquiry on the person's written request",
            ["cases", "hearings", "decisions"],
            False,
            None,
        ),
    ]
    made = 0
    for (
        person,
        agency,
        authority,
        official,
        title,
        rank,
        activity,
        cats,
        withhold,
        decision,
    ) in plans:
        # The services name the task of each request (`disclosure:<id>`); the subject's access
        # history leaves out a withheld request's events by it, not by any request id.
        seed_id = uuid.uuid4().hex
        enter = AccessContext(user=enterer, purpose=default_purpose(enterer), request_id=seed_id)
        decide = AccessContext(user=decider, purpose=default_purpose(decider), request_id=seed_id)
        req = services.create_request(
            enter,
            services.RequestInput(
                person=str(person.pk),
                agency=agency,
                official_name=official,
                official_title=title,
                official_rank=rank,
                authority=authority,
                activity=activity,
                categories=cats,
                letter=_letter(agency, activity, official, title),
                letter_content_type="application/pdf",
                withhold_from_subject=withhold,
            ),
        )
        if decision:
            services.decide(decide, req.pk, decision=decision[0], reason=decision[1])
        made += 1
    if out is not None:
        out.write(f"Seeded {made} disclosure requests (2 released, 1 declined, 1 pending).")
