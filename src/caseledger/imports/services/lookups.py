"""What a file needs looked up once instead of once per row (once per chunk of rows): courts,
and the persons and cases its rows name, each found through the access policy of the user the
import runs as (a person or case the importer may not see is "not found", like one that does
not exist)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import visible_persons
from caseledger.cases.models import Case, Court
from caseledger.core.errors import ValidationError
from caseledger.people import validation

from ..formats import COLUMNS, Row
from ..models import ImportKind, Reason
from .validation import RowRejected

LOOKUP_CHUNK = 500


@dataclass(frozen=True)
class Applied:
    """What a row became: the record it created and the person it belongs to."""

    record_type: str
    record_id: uuid.UUID
    subject_id: uuid.UUID


def chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), LOOKUP_CHUNK):
        yield items[i : i + LOOKUP_CHUNK]


class Lookups:
    """Looked up once per file instead of once per row: courts, persons, cases."""

    def __init__(self, ctx: AccessContext) -> None:
        self.ctx = ctx
        self.courts = {c.code: c for c in Court.objects.all()}
        self.persons: dict[str, uuid.UUID] = {}
        self.cases: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}

    def court(self, code: str) -> Court:
        court = self.courts.get(code)
        if court is None:
            raise RowRejected(
                Reason.UNKNOWN_CODE,
                f"Unknown court code '{code}'. Courts: {', '.join(sorted(self.courts))}.",
            )
        return court

    def load_persons(self, a_numbers: Iterable[str]) -> None:
        visible = visible_persons(self.ctx)
        for chunk in chunks(sorted(set(a_numbers))):
            self.persons.update(visible.filter(a_number__in=chunk).values_list("a_number", "pk"))

    def load_cases(self, references: Iterable[str]) -> None:
        for chunk in chunks(sorted(set(references))):
            rows = policies.restrict(Case.objects.filter(reference__in=chunk), self.ctx)
            self.cases.update(
                {ref: (pk, person) for ref, pk, person in
                 rows.values_list("reference", "pk", "person_id")}
            )


def prefetch(kind: str, rows: Iterable[Row], lookups: Lookups) -> None:
    """Load the persons (cases file) or cases (hearings file) the well-formed rows name."""
    rows = list(rows)
    columns = COLUMNS[kind]
    width = len(columns)
    if kind == ImportKind.CASES:
        index = columns.index("person_a_number")
        a_numbers = []
        for row in rows:
            if len(row.cells) == width:
                try:
                    a_numbers.append(validation.normalize_a_number(row.cells[index]))
                except ValidationError:
                    continue
        lookups.load_persons(a for a in a_numbers if a)
    elif kind == ImportKind.HEARINGS:
        index = columns.index("case_reference")
        lookups.load_cases(
            row.cells[index].strip() for row in rows if len(row.cells) == width
        )
