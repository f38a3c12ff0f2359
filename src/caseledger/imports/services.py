"""Importing persons, cases and hearings from court and agency case lists (CSV).

Only the system's own record kinds are imported, through the same services the screens use,
so every created record gets the ledger events it would get when typed in. Bulk ingestion of
tax, health or social-security records is deliberately not built (DESIGN.md).

How a file is handled (formats in docs/IMPORT_FORMATS.md):

1. The whole file is read, decoded and parsed first. Not UTF-8, broken CSV, or a header that
   is not exactly the format's: the file is refused (`FileRefused`) and nothing is written.
2. Each data row then runs in its own transaction: the service call (with its events), the
   `ImportedRecord` that makes re-imports idempotent, and one `import` event naming the batch.
   A row that fails is rolled back whole and quarantined with a reason code and the message,
   never half applied and never dropped.
3. A row whose external_id was imported before with the same content is "unchanged" (nothing
   written); with other content it is quarantined as `import_conflict`.
4. The batch is closed with its counts and one `import_batch` event.

A dry run does all of this inside one transaction that is rolled back at the end: it reports
what would happen, and leaves no batch, record, event or quarantine row behind.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DataError, IntegrityError, transaction

from caseledger.access.context import AccessContext, default_purpose
from caseledger.access.gate import visible_persons
from caseledger.accounts.models import Role, User
from caseledger.cases.models import CalendarType, Case, CaseType, Court
from caseledger.cases.services import open_case, schedule_hearing
from caseledger.core import clock
from caseledger.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from caseledger.ledger.services import Actor, record_event
from caseledger.people import validation
from caseledger.people.services import (
    AddressInput,
    ContactInput,
    NameInput,
    PersonInput,
    create_person,
)

from .formats import COLUMNS, LIST_SEPARATOR, FileRefused, Row, decode, read_rows
from .models import ImportBatch, ImportedRecord, ImportKind, QuarantinedRow, Reason

IMPORTER_ROLES = frozenset({Role.CASE_OFFICER, Role.SUPERVISOR})
DEFAULT_RETENTION_DAYS = 90
MAX_EXTERNAL_ID = 64
MAX_REFERENCE = 32
MAX_JUDGE = 120
LOOKUP_CHUNK = 500
PROGRESS_STEP = 10
CATEGORY = {
    ImportKind.PERSONS: "identity",
    ImportKind.CASES: "case",
    ImportKind.HEARINGS: "hearing",
}
# Longest value each column may hold (the width of the field it is stored in).
PERSON_LIMITS = {
    "given_names": 200,
    "family_names": 200,
    "full_name": 400,
    "address_line1": 200,
    "address_city": 120,
    "address_region": 64,
    "address_postal_code": 16,
    "phone": 40,
    "email": 254,
}
EARLIEST_DATE = date(1900, 1, 1)
HEARING_HORIZON_YEARS = 5
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LOCAL_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2})")
_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0", ""})

# Which reason a service's error becomes, by the field it names.
_FIELD_REASONS = {
    "a_number": Reason.INVALID_A_NUMBER,
    "date_of_birth": Reason.INVALID_DATE,
    "opened_on": Reason.INVALID_DATE,
    "valid_from": Reason.INVALID_DATE,
    "citizenship": Reason.UNKNOWN_CODE,
    "languages": Reason.UNKNOWN_CODE,
    "case type": Reason.UNKNOWN_CODE,
    "calendar type": Reason.UNKNOWN_CODE,
    "court": Reason.UNKNOWN_CODE,
    "contacts": Reason.INVALID_CONTACT,
    "scheduled_at": Reason.INVALID_TIME,
}


def retention_days() -> int:
    return int(getattr(settings, "IMPORT_QUARANTINE_RETENTION_DAYS", DEFAULT_RETENTION_DAYS))


class RowRejected(Exception):
    """A row cannot be applied; it is quarantined with `reason` and `message`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def reason_for(exc: DomainError) -> str:
    if isinstance(exc, NotFound):
        return Reason.NOT_FOUND
    if isinstance(exc, PermissionDenied):
        return Reason.FORBIDDEN
    if isinstance(exc, Conflict):
        return Reason.ALREADY_EXISTS
    return _FIELD_REASONS.get(exc.field or "", Reason.INVALID_VALUE)


@dataclass(frozen=True)
class Quarantined:
    line: int
    reason: str
    message: str


@dataclass
class ImportResult:
    kind: str
    file_name: str
    sha256: str
    dry_run: bool
    batch_id: uuid.UUID | None = None
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(q.reason for q in self.quarantined).items()))

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def importer(username: str) -> User:
    """The staff user an import runs as: an active case officer or supervisor with an office."""
    user = User.objects.select_related("office").filter(username=username).first()
    if user is None:
        raise NotFound(f"There is no user '{username}'.")
    if not user.is_active:
        raise PermissionDenied(f"The user '{username}' is not active.")
    if user.role not in IMPORTER_ROLES:
        raise PermissionDenied(
            f"Imports run as a case officer or a supervisor; '{username}' is a "
            f"{Role(user.role).label.lower()}."
        )
    if user.office_id is None:
        raise PermissionDenied(
            f"'{username}' has no office; imported persons are created in the importer's office."
        )
    return user


def row_hash(kind: str, cells: Iterable[str]) -> str:
    payload = json.dumps([kind, *(c.strip() for c in cells)], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# --- reading the cells of one row ------------------------------------------------------------


class Cells:
    def __init__(self, columns: tuple[str, ...], cells: list[str]) -> None:
        self.values = {c: v.strip() for c, v in zip(columns, cells, strict=True)}

    def text(self, column: str) -> str:
        return self.values[column]

    def required(self, column: str) -> str:
        value = self.values[column]
        if not value:
            raise RowRejected(Reason.MISSING_VALUE, f"{column} is empty; it is required.")
        return value

    def date(self, column: str, *, required: bool = False) -> date | None:
        value = self.required(column) if required else self.values[column]
        if not value:
            return None
        return parse_date(column, value)

    def codes(self, column: str) -> list[str]:
        return [p.strip() for p in self.values[column].split(LIST_SEPARATOR) if p.strip()]

    def boolean(self, column: str) -> bool:
        value = self.values[column].lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise RowRejected(
            Reason.INVALID_VALUE,
            f"{column} '{self.values[column]}' is not true or false (yes/no, 1/0 also work).",
        )


def parse_date(column: str, value: str) -> date:
    if not _DATE.fullmatch(value):
        raise RowRejected(
            Reason.INVALID_DATE, f"{column} '{value}' is not a date in the form YYYY-MM-DD."
        )
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RowRejected(
            Reason.INVALID_DATE,
            f"{column} '{value}' is not a date that exists (check the day and the month).",
        ) from None


def parse_local_time(column: str, value: str, time_zone: str) -> datetime:
    """`YYYY-MM-DDTHH:MM` on the wall clock of `time_zone`, as an aware datetime.

    A time skipped when clocks go forward does not exist, and one repeated when they go back
    is ambiguous: both are refused rather than guessed."""
    match = _LOCAL_TIME.fullmatch(value)
    if not match:
        raise RowRejected(
            Reason.INVALID_TIME,
            f"{column} '{value}' is not a local time in the form YYYY-MM-DDTHH:MM "
            "(for example 2026-09-14T08:30).",
        )
    day = parse_date(column, match.group(1))
    if day.year > clock.today().year + HEARING_HORIZON_YEARS:
        raise RowRejected(
            Reason.INVALID_DATE,
            f"{column} '{value}' is more than {HEARING_HORIZON_YEARS} years ahead; check the "
            "year.",
        )
    hour, minute = int(match.group(2)), int(match.group(3))
    if hour > 23 or minute > 59:
        raise RowRejected(Reason.INVALID_TIME, f"{column} '{value}' is not a time of day.")
    zone = ZoneInfo(time_zone)
    naive = datetime(day.year, day.month, day.day, hour, minute)
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise RowRejected(
            Reason.INVALID_TIME,
            f"{column} '{value}' does not exist in {time_zone} (the clocks skip that hour).",
        )
    if aware.utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset():
        raise RowRejected(
            Reason.INVALID_TIME,
            f"{column} '{value}' happens twice in {time_zone} (the clocks go back that hour); "
            "give another time.",
        )
    return aware


# --- what each kind does with a row -----------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    record_type: str
    record_id: uuid.UUID
    subject_id: uuid.UUID


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
        for chunk in _chunks(sorted(set(a_numbers))):
            self.persons.update(visible.filter(a_number__in=chunk).values_list("a_number", "pk"))

    def load_cases(self, references: Iterable[str]) -> None:
        visible = visible_persons(self.ctx).values("pk")
        for chunk in _chunks(sorted(set(references))):
            rows = Case.objects.filter(reference__in=chunk, person__in=visible).values_list(
                "reference", "pk", "person_id"
            )
            self.cases.update({ref: (pk, person) for ref, pk, person in rows})


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), LOOKUP_CHUNK):
        yield items[i : i + LOOKUP_CHUNK]


def _code(value: str, choices: Any, label: str) -> str:
    if value not in choices.values:
        raise RowRejected(
            Reason.UNKNOWN_CODE,
            f"Unknown {label} '{value}'. Use one of: {', '.join(choices.values)}.",
        )
    return value


def _max_length(column: str, value: str, limit: int) -> str:
    if len(value) > limit:
        raise RowRejected(
            Reason.INVALID_VALUE, f"{column} is {len(value)} characters long; at most {limit}."
        )
    return value


def _not_before(column: str, value: date | None, earliest: date) -> date | None:
    if value is not None and value < earliest:
        raise RowRejected(
            Reason.INVALID_DATE,
            f"{column} {value.isoformat()} is before {earliest.isoformat()}, which is not "
            "plausible; check the year.",
        )
    return value


def apply_person(ctx: AccessContext, c: Cells, lookups: Lookups) -> Applied:
    for column, limit in PERSON_LIMITS.items():
        _max_length(column, c.text(column), limit)
    given, family = c.text("given_names"), c.text("family_names")
    if not given and not family:
        raise RowRejected(
            Reason.MISSING_VALUE, "given_names and family_names are both empty; give at least one."
        )
    if not c.text("full_name") and len(given) + len(family) >= PERSON_LIMITS["full_name"]:
        raise RowRejected(
            Reason.INVALID_VALUE,
            f"given_names and family_names together are longer than "
            f"{PERSON_LIMITS['full_name']} characters.",
        )
    address = None
    address_columns = (
        "address_line1",
        "address_city",
        "address_region",
        "address_postal_code",
        "address_valid_from",
    )
    if any(c.text(col) for col in address_columns):
        missing = [
            col
            for col in ("address_line1", "address_city", "address_valid_from")
            if not c.text(col)
        ]
        if missing:
            raise RowRejected(
                Reason.MISSING_VALUE,
                f"An address needs address_line1, address_city and address_valid_from; "
                f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} empty.",
            )
        address = AddressInput(
            line1=c.text("address_line1"),
            city=c.text("address_city"),
            region=c.text("address_region"),
            postal_code=c.text("address_postal_code"),
            valid_from=_not_before(
                "address_valid_from",
                c.date("address_valid_from", required=True),
                EARLIEST_DATE,
            ),
        )
    contacts = []
    if c.text("phone"):
        contacts.append(ContactInput(kind="phone", value=c.text("phone"), preferred=True))
    if c.text("email"):
        contacts.append(ContactInput(kind="email", value=c.text("email"), preferred=not contacts))
    data = PersonInput(
        name=NameInput(given_names=given, family_names=family, full_name=c.text("full_name")),
        date_of_birth=c.date("date_of_birth"),
        a_number=c.text("a_number") or None,
        citizenship=c.codes("citizenship"),
        languages=c.codes("languages"),
        interpreter_needed=c.boolean("interpreter_needed"),
        address=address,
        contacts=contacts,
    )
    person = create_person(ctx=ctx, data=data)
    return Applied("people.person", person.pk, person.pk)


def apply_case(ctx: AccessContext, c: Cells, lookups: Lookups) -> Applied:
    a_number = validation.normalize_a_number(c.required("person_a_number"))
    if a_number is None:
        raise RowRejected(
            Reason.INVALID_A_NUMBER,
            f"person_a_number '{c.text('person_a_number')}' is not an A-number (A and 8 or 9 "
            "digits).",
        )
    case_type = _code(c.required("case_type"), CaseType, "case type")
    court = lookups.court(c.required("court"))
    opened_on = _not_before("opened_on", c.date("opened_on", required=True), EARLIEST_DATE)
    reference = _max_length("reference", c.text("reference"), MAX_REFERENCE) or None
    if reference and Case.objects.filter(reference=reference).exists():
        raise RowRejected(
            Reason.ALREADY_EXISTS, f"A case with reference {reference} already exists."
        )
    person_id = lookups.persons.get(a_number)
    if person_id is None:
        raise RowRejected(
            Reason.NOT_FOUND,
            f"No person with A-number {a_number} is visible to {ctx.user.username}: import "
            "the person first, or check that they are on your caseload (supervisors: in "
            "your office).",
        )
    case = open_case(
        ctx=ctx,
        person_id=person_id,
        case_type=case_type,
        court_code=court.code,
        opened_on=opened_on,
        reference=reference,
    )
    return Applied("cases.case", case.pk, case.person_id)


def apply_hearing(ctx: AccessContext, c: Cells, lookups: Lookups) -> Applied:
    reference = c.required("case_reference")
    calendar = _code(c.required("calendar"), CalendarType, "calendar type")
    court = lookups.court(c.text("court")) if c.text("court") else None
    when_text = c.required("scheduled_at_local")
    judge = _max_length("judge", c.text("judge"), MAX_JUDGE)
    found = lookups.cases.get(reference)
    if found is None:
        raise RowRejected(
            Reason.NOT_FOUND,
            f"No case with reference {reference} is visible to {ctx.user.username}: import "
            "the case first, or check that its person is on your caseload (supervisors: in "
            "your office).",
        )
    case_id, person_id = found
    if court is None:
        court = (
            Court.objects.filter(
                proceedings__case_id=case_id, proceedings__ended_on__isnull=True
            )
            .order_by("-proceedings__started_on")
            .first()
        )
        if court is None:
            raise RowRejected(
                Reason.INVALID_VALUE,
                f"Case {reference} has no open proceeding to schedule a hearing in.",
            )
    scheduled_at = parse_local_time("scheduled_at_local", when_text, court.time_zone)
    if scheduled_at < clock.now():
        raise RowRejected(
            Reason.PAST_HEARING,
            f"The hearing is scheduled in the past ({when_text} in {court.time_zone}); a new "
            "hearing cannot be scheduled in the past.",
        )
    hearing = schedule_hearing(
        ctx=ctx,
        case_id=case_id,
        calendar=calendar,
        scheduled_at=scheduled_at,
        judge=judge,
        court_code=court.code,
    )
    return Applied("cases.hearing", hearing.pk, person_id)


APPLY: dict[str, Callable[[AccessContext, Cells, Lookups], Applied]] = {
    ImportKind.PERSONS: apply_person,
    ImportKind.CASES: apply_case,
    ImportKind.HEARINGS: apply_hearing,
}


def _prefetch(kind: str, rows: list[Row], lookups: Lookups) -> None:
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


# --- the import itself -----------------------------------------------------------------------


class _DryRunRollback(Exception):
    """Raised at the end of a row's transaction in a dry run, to roll it back."""


def _unique_key(kind: str, c: Cells) -> tuple[str, str] | None:
    """The value a row claims that must be unique (A-number, case reference), if any."""
    if kind == ImportKind.PERSONS and c.text("a_number"):
        try:
            a_number = validation.normalize_a_number(c.text("a_number"))
        except ValidationError:
            return None  # the service reports it
        return ("A-number", a_number) if a_number else None
    if kind == ImportKind.CASES and c.text("reference"):
        return "case reference", c.text("reference")
    return None


class _Importer:
    def __init__(
        self,
        *,
        kind: str,
        rows: list[Row],
        user: User,
        batch: ImportBatch,
        dry_run: bool,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.kind = kind
        self.columns = COLUMNS[kind]
        self.width = len(self.columns)
        self.apply = APPLY[kind]
        self.rows = rows
        self.batch = batch
        self.dry_run = dry_run
        self.progress = progress
        self.ctx = AccessContext(
            user=user, purpose=default_purpose(user), request_id=f"import-{batch.pk}"
        )
        self.retain_until = batch.started_at.date() + timedelta(days=retention_days())
        self.lookups = Lookups(self.ctx)
        self.earlier: dict[str, str] = {}  # external_id -> row hash, of earlier imports
        self.seen: dict[str, int] = {}  # external_id -> line, in this file
        self.claimed: dict[tuple[str, str], int] = {}  # unique value -> line that created it
        self.result = ImportResult(
            kind=kind,
            file_name=batch.file_name,
            sha256=batch.sha256,
            dry_run=dry_run,
            batch_id=None if dry_run else batch.pk,
            rows=len(rows),
        )

    def run(self) -> ImportResult:
        _prefetch(self.kind, self.rows, self.lookups)
        self.earlier = self._earlier_imports()
        for done, row in enumerate(self.rows, start=1):
            self._one(row)
            if self.progress and (done % PROGRESS_STEP == 0 or done == len(self.rows)):
                self.progress(done % PROGRESS_STEP or PROGRESS_STEP)
        return self.result

    def _earlier_imports(self) -> dict[str, str]:
        index = self.columns.index("external_id")
        ids = sorted({r.cells[index].strip() for r in self.rows if len(r.cells) > index})
        found: dict[str, str] = {}
        for chunk in _chunks(ids):
            found.update(
                ImportedRecord.objects.filter(kind=self.kind, external_id__in=chunk).values_list(
                    "external_id", "row_hash"
                )
            )
        return found

    def _one(self, row: Row) -> None:
        if len(row.cells) != self.width:
            self._quarantine(
                row,
                Reason.MALFORMED_ROW,
                f"The row has {len(row.cells)} fields; the header has {self.width} "
                f"({','.join(self.columns)}). A comma inside a value must be quoted.",
            )
            return
        cells = Cells(self.columns, row.cells)
        external_id = cells.text("external_id")
        problem = self._check_external_id(external_id)
        if problem:
            self._quarantine(row, *problem)
            return
        if external_id in self.seen:
            self._quarantine(
                row,
                Reason.DUPLICATE,
                f"external_id {external_id} is also on line {self.seen[external_id]} of this "
                "file; only the first row with an external_id is considered.",
            )
            return
        self.seen[external_id] = row.line
        digest = row_hash(self.kind, row.cells)
        if external_id in self.earlier:
            self._earlier(row, external_id, digest, self.earlier[external_id])
            return
        key = _unique_key(self.kind, cells)
        if key in self.claimed:
            self._quarantine(
                row,
                Reason.DUPLICATE,
                f"{key[0]} {key[1]} is also on line {self.claimed[key]} of this file, which "
                "was imported; a record is imported once.",
            )
            return
        try:
            with transaction.atomic():
                self._apply(row, cells, external_id, digest)
                if self.dry_run:
                    raise _DryRunRollback
        except _DryRunRollback:
            pass
        except RowRejected as exc:
            self._quarantine(row, exc.reason, exc.message)
            return
        except DomainError as exc:
            self._quarantine(row, reason_for(exc), exc.message)
            return
        except IntegrityError:
            self._integrity_error(row, external_id, digest)
            return
        except DataError:
            self._quarantine(
                row, Reason.INVALID_VALUE, "A value does not fit its field (too long?)."
            )
            return
        self.result.created += 1
        if key:
            self.claimed[key] = row.line

    def _apply(self, row: Row, cells: Cells, external_id: str, digest: str) -> None:
        """The row's writes: the service call (with its events), the imported record, and the
        import event naming the batch. Runs inside the row's transaction."""
        applied = self.apply(self.ctx, cells, self.lookups)
        ImportedRecord.objects.create(
            kind=self.kind,
            external_id=external_id,
            record_type=applied.record_type,
            record_id=applied.record_id,
            first_batch=self.batch,
            line=row.line,
            row_hash=digest,
        )
        record_event(
            actor=self.ctx.actor,
            purpose=self.ctx.purpose,
            request_id=self.ctx.request_id,
            action="import",
            category=CATEGORY[self.kind],
            subject_id=applied.subject_id,
            record_type=applied.record_type,
            record_id=applied.record_id,
            detail={"batch": str(self.batch.pk), "kind": self.kind, "line": row.line},
        )

    def _integrity_error(self, row: Row, external_id: str, digest: str) -> None:
        previous = (
            ImportedRecord.objects.filter(kind=self.kind, external_id=external_id)
            .values_list("row_hash", flat=True)
            .first()
        )
        if previous is not None:  # imported meanwhile by another run
            self._earlier(row, external_id, digest, previous)
            return
        self._quarantine(
            row,
            Reason.ALREADY_EXISTS,
            "The row conflicts with an existing record (a value that must be unique, such as "
            "an A-number or a case reference, is already in use).",
        )

    def _check_external_id(self, external_id: str) -> tuple[str, str] | None:
        if not external_id:
            return Reason.MISSING_VALUE, "external_id is empty; it is required."
        if len(external_id) > MAX_EXTERNAL_ID or not external_id.isprintable():
            return (
                Reason.INVALID_VALUE,
                f"external_id must be at most {MAX_EXTERNAL_ID} printable characters.",
            )
        return None

    def _earlier(self, row: Row, external_id: str, digest: str, previous: str) -> None:
        if previous == digest:
            self.result.unchanged += 1
            return
        self._quarantine(
            row,
            Reason.IMPORT_CONFLICT,
            f"external_id {external_id} was imported earlier with other content; this row "
            "conflicts with an earlier import. The import does not change records: correct "
            "the record in caseledger, or give the row a new external_id if it is a new one.",
        )

    def _quarantine(self, row: Row, reason: str, message: str) -> None:
        self.result.quarantined.append(Quarantined(row.line, str(reason), message))
        if self.dry_run:
            return
        QuarantinedRow.objects.create(
            batch=self.batch,
            line=row.line,
            raw=row.raw,
            reason=reason,
            message=message,
            retain_until=self.retain_until,
        )


def import_file(
    path: str | Path,
    *,
    kind: str,
    user: User,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import `path` as `kind`, running as `user`. Raises FileRefused if the file as a whole
    cannot be imported (nothing is written then). `on_start(rows)` is called once the file is
    parsed; `progress(n)` after every n rows handled.

    A dry run applies each row in a transaction that is rolled back, and stores no batch and
    no quarantine: it reports what a real run would do (barring changes made meanwhile)."""
    if kind not in ImportKind.values:
        raise FileRefused(f"Unknown kind '{kind}'. Use one of: {', '.join(ImportKind.values)}.")
    if user.role not in IMPORTER_ROLES or user.office_id is None:
        raise PermissionDenied("Imports run as a case officer or supervisor with an office.")
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileRefused(f"{path.name} cannot be read: {exc.strerror}.") from None
    digest = hashlib.sha256(data).hexdigest()
    rows = read_rows(decode(data, path.name), kind, path.name)
    if on_start:
        on_start(len(rows))
    started = time.perf_counter()
    batch = ImportBatch(
        file_name=path.name[:255],
        sha256=digest,
        kind=kind,
        user=user,
        started_at=clock.now(),
        rows=len(rows),
    )
    if not dry_run:
        batch.save(force_insert=True)
    result = _Importer(
        kind=kind, rows=rows, user=user, batch=batch, dry_run=dry_run, progress=progress
    ).run()
    if not dry_run:
        _finish(batch, result)
    result.seconds = time.perf_counter() - started
    return result


def _finish(batch: ImportBatch, result: ImportResult) -> None:
    with transaction.atomic():
        batch.finished_at = clock.now()
        batch.created = result.created
        batch.unchanged = result.unchanged
        batch.quarantined = len(result.quarantined)
        batch.save(
            update_fields=["finished_at", "created", "unchanged", "quarantined", "updated_at"]
        )
        record_event(
            actor=Actor.of(batch.user),
            purpose=default_purpose(batch.user),
            request_id=f"import-{batch.pk}",
            action="import_batch",
            category="import",
            record_type="imports.importbatch",
            record_id=batch.pk,
            detail={
                "kind": batch.kind,
                "sha256": batch.sha256,
                "rows": batch.rows,
                "created": batch.created,
                "unchanged": batch.unchanged,
                "quarantined": result.by_reason,
            },
        )


# --- reading and purging the quarantine ------------------------------------------------------

READER_ROLES = frozenset({Role.CASE_OFFICER, Role.SUPERVISOR, Role.PRIVACY_OFFICER})


def _may_read(user: User, batch: ImportBatch) -> bool:
    if not user.is_active:
        return False
    if user.role == Role.PRIVACY_OFFICER:
        return True
    if user.role == Role.SUPERVISOR:
        return user.office_id is not None and user.office_id == batch.user.office_id
    return user.pk == batch.user_id


def quarantine_rows(*, user: User, batch_id: Any) -> tuple[ImportBatch, list[QuarantinedRow]]:
    """The quarantined rows of a batch, for its importer, a supervisor of the importer's office
    or a privacy officer. The rows hold personal data: the read is one ledger event."""
    try:
        pk = uuid.UUID(str(batch_id))
    except ValueError:
        raise NotFound("No such import batch.") from None
    batch = ImportBatch.objects.select_related("user").filter(pk=pk).first()
    actor = Actor.of(user)
    purpose = default_purpose(user)
    if batch is None or not _may_read(user, batch):
        with transaction.atomic():
            record_event(
                actor=actor,
                purpose=purpose,
                action="read",
                category="import",
                outcome="denied",
                record_type="imports.importbatch",
                record_id=pk,
            )
        raise NotFound("No such import batch, or you may not read its quarantine.")
    rows = list(batch.quarantine.order_by("line"))
    with transaction.atomic():
        record_event(
            actor=actor,
            purpose=purpose,
            action="read",
            category="import",
            record_type="imports.importbatch",
            record_id=batch.pk,
            detail={"quarantined_rows": len(rows)},
        )
    return batch, rows


def recent_batches(*, user: User, limit: int = 20) -> list[ImportBatch]:
    """Batches the user may read (counts only, no row content): no ledger event needed."""
    qs = ImportBatch.objects.select_related("user").order_by("-started_at")
    if user.role == Role.SUPERVISOR:
        qs = qs.filter(user__office_id=user.office_id)
    elif user.role != Role.PRIVACY_OFFICER:
        qs = qs.filter(user=user)
    return list(qs[:limit])
