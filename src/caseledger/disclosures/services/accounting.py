"""Who reaches a person's accounting of disclosures (5 U.S.C. 552a(c)): a named policy, read
by the accounting page, its API and the correction notices."""

from __future__ import annotations

from typing import Any

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import require_person
from caseledger.core.ids import as_uuid
from caseledger.ledger.vocabulary import Action, Category
from caseledger.people.models import Person

from ..models import DisclosureRequest


def accounting_subject(ctx: AccessContext, person_id: Any, *, action: str = Action.READ
                       ) -> Person:
    """The person whose accounting the context may see (or notify corrections of): a person
    named in a disclosure request the context reaches (`policies.restrict`: the privacy
    office keeps every request, so it keeps the accounting of every person named in one,
    without a grant on the rest of the record), or whoever the gate gives the context.
    Anyone else: a denial event naming the person, and NotFound."""
    pid = as_uuid(person_id)
    if pid is not None:
        named = policies.restrict(DisclosureRequest.objects.filter(person_id=pid), ctx)
        person = Person.objects.filter(pk=pid, pk__in=named.values("person_id")).first()
        if person is not None:
            return person
    return require_person(ctx, person_id, category=Category.DISCLOSURE, action=action)
