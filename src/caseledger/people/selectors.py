"""Reads of person data. Every function takes an AccessContext and leaves one ledger event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.contrib.postgres.search import TrigramWordSimilarity
from django.db import connection
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.db.models.functions import Greatest
from rapidfuzz import fuzz

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import record_access, require_person, visible_persons
from caseledger.core import clock
from caseledger.ledger.vocabulary import Action, Category, record_type_of

from . import validation
from .models import Address, NameKind, Person, PersonName
from .names import search_key, skeleton

PERSON, ADDRESS = record_type_of(Person), record_type_of(Address)

SEARCH_LIMIT = 50
MIN_SCORE = 0.55  # pg_trgm word similarity
FALLBACK_MIN_SCORE = 0.6  # word_score below


@dataclass(frozen=True)
class SearchHit:
    person_id: uuid.UUID
    score: float
    matched_name: str


def _rank_postgres(names: Any, key: str, skel: str) -> list[tuple[uuid.UUID, float, str]]:
    """pg_trgm word similarity. The `%>` operators (Django's trigram_word_similar lookup) can
    use the GIN trigram indexes; the score only ranks the candidates they return."""
    with connection.cursor() as cursor:
        cursor.execute("SET pg_trgm.word_similarity_threshold = %s", [MIN_SCORE])
    candidates = Q(search_key__trigram_word_similar=key)
    if len(skel.replace(" ", "")) >= 3:
        candidates |= Q(skeleton__trigram_word_similar=skel)
    rows = (
        names.filter(candidates)
        .annotate(
            score=Greatest(
                TrigramWordSimilarity(key, "search_key"),
                TrigramWordSimilarity(skel, "skeleton") * 0.95,
            )
        )
        .filter(score__gte=MIN_SCORE)
        .order_by("-score")
        .values_list("person_id", "score", "full_name")[: SEARCH_LIMIT * 4]
    )
    return list(rows)


def word_score(query: str, name: str) -> float:
    """Each query word against its best-matching word of the name, averaged (0..1): the
    in-memory counterpart of pg_trgm's word similarity, so that a short unrelated name does
    not match a longer query."""
    words = name.split()
    terms = query.split()
    if not words or not terms:
        return 0.0
    return sum(max(fuzz.ratio(t, w) for w in words) for t in terms) / (100 * len(terms))


def _rank_fallback(names: Any, key: str, skel: str) -> list[tuple[uuid.UUID, float, str]]:
    """SQLite has no trigram index: score the visible names in memory with rapidfuzz."""
    names = names.values_list("person_id", "search_key", "skeleton", "full_name")
    use_skeleton = len(skel.replace(" ", "")) >= 3
    rows = []
    for person_id, name_key, name_skel, full_name in names.iterator():
        score = word_score(key, name_key)
        if use_skeleton:
            # The skeleton backs the spelling up; alone it is too coarse to decide a match.
            score = max(score, (score + word_score(skel, name_skel) * 0.95) / 2)
        if score >= FALLBACK_MIN_SCORE:
            rows.append((person_id, score, full_name))
    return sorted(rows, key=lambda r: -r[1])[: SEARCH_LIMIT * 4]


def _names_in_reach(ctx: AccessContext) -> Any:
    """The names of the persons the context sees (`policies.restrict`: for an office, a join
    on the person's office rather than every person of the office hashed)."""
    return policies.restrict(PersonName.objects.all(), ctx)


def _dedupe(rows: list[tuple[uuid.UUID, float, str]]) -> list[SearchHit]:
    hits: dict[uuid.UUID, SearchHit] = {}
    for person_id, score, name in rows:
        if person_id not in hits or score > hits[person_id].score:
            hits[person_id] = SearchHit(person_id, round(float(score), 3), name)
    return sorted(hits.values(), key=lambda h: (-h.score, h.matched_name))[:SEARCH_LIMIT]


def search_persons(*, ctx: AccessContext, query: str) -> list[tuple[Person, SearchHit]]:
    """Persons visible to ctx whose names resemble `query`, or whose A-number equals it.

    Spelling and transliteration variants match through the ASCII search key and its
    consonant skeleton (see names.py). The ledger event lists the ids returned, not the term.
    """
    query = (query or "").strip()
    if len(query) > 200:
        from caseledger.core.errors import ValidationError

        raise ValidationError("A search is at most 200 characters.", field="q")
    visible = visible_persons(ctx)
    kind = "name"
    if not query:
        hits: list[SearchHit] = []
    elif validation.looks_like_a_number(query):
        kind = "a_number"
        a_number = validation.normalize_a_number(query)
        found = visible.filter(a_number=a_number).values_list("pk", flat=True).first()
        hits = [SearchHit(found, 1.0, a_number or "")] if found else []
    else:
        key, skel = search_key(query), skeleton(query)
        if not key:
            hits = []
        elif connection.vendor == "postgresql":
            hits = _dedupe(_rank_postgres(_names_in_reach(ctx), key, skel))
        else:
            hits = _dedupe(_rank_fallback(_names_in_reach(ctx), key, skel))
    record_access(
        ctx,
        action=Action.SEARCH,
        category=Category.IDENTITY,
        record_type=PERSON,
        detail={"kind": kind, "results": [str(h.person_id) for h in hits]},
        subjects=[h.person_id for h in hits],
    )
    persons = (
        Person.objects.filter(pk__in=[h.person_id for h in hits])
        .prefetch_related(Prefetch("names", queryset=PersonName.objects.order_by("kind")))
        .in_bulk()
    )
    return [(persons[h.person_id], h) for h in hits if h.person_id in persons]


@dataclass
class PersonDetail:
    person: Person
    names: list[PersonName]
    addresses: list[Address]
    contacts: list[Any]
    cases: list[Any]
    statements: list[Any] = field(default_factory=list)  # statements of disagreement

    @property
    def primary_name(self) -> PersonName | None:
        return next((n for n in self.names if n.kind == NameKind.PRIMARY), None)

    @property
    def aliases(self) -> list[PersonName]:
        return [n for n in self.names if n.kind != NameKind.PRIMARY]

    @property
    def address_of_record(self) -> Address | None:
        return next((a for a in self.addresses if a.valid_to is None), None)


def get_person(*, ctx: AccessContext, person_id: Any) -> PersonDetail:
    """The person's identity, addresses, contacts and cases: one read event."""
    person = require_person(ctx, person_id, category=Category.IDENTITY)
    # Prefetched onto the person, so that naming them (`primary_name`) costs no query.
    prefetch_related_objects(
        [person], Prefetch("names", queryset=PersonName.objects.order_by("kind", "full_name"))
    )
    names = list(person.names.all())
    addresses = list(person.addresses.order_by("-valid_from"))
    contacts = list(person.contacts.order_by("kind", "-preferred"))
    cases = list(person.cases.order_by("-opened_on").prefetch_related("proceedings"))
    # Statements of disagreement (portal app) travel with the record they dispute.
    statements = list(
        apps.get_model("portal", "DisagreementStatement")
        .objects.filter(person=person)
        .select_related("request")
        .order_by("filed_at")
    )
    record_access(
        ctx,
        action=Action.READ,
        category=Category.IDENTITY,
        subject_id=person.pk,
        record_type=PERSON,
        record_id=person.pk,
        detail={
            "categories": ["identity", "address", "contact", "case"],
            "version": person.row_version,
            "statements": len(statements),
        },
    )
    return PersonDetail(person, names, addresses, contacts, cases, statements)


def active_enrolment_id(*, ctx: AccessContext, person_id: Any) -> uuid.UUID | None:
    """The id of the person's active supervision enrolment, when the context may supervise
    them (`policies.restrict` with the supervision ability), else None. It only tells the
    person page whether to show the supervision panel (read and recorded by the supervision
    selector) or offer an enrolment; it returns no data of the enrolment itself."""
    enrolment = apps.get_model("supervision", "Enrolment")
    rows = policies.restrict(
        enrolment.objects.filter(person_id=person_id, status="active"), ctx, policies.Act.CHANGE
    )
    return rows.values_list("pk", flat=True).first()


@dataclass(frozen=True)
class TimelineItem:
    when: datetime | date
    kind: str
    text: str


def person_timeline(detail: PersonDetail) -> list[TimelineItem]:
    """Built from the rows already read for the detail page (no further access)."""
    from caseledger.cases.models import Hearing, StatusChange

    items: list[TimelineItem] = []
    for a in detail.addresses:
        items.append(TimelineItem(a.valid_from, "address", f"Address from {a.city}"))
    case_ids = [c.pk for c in detail.cases]
    for case in detail.cases:
        items.append(TimelineItem(case.opened_on, "case", f"Case {case.reference} opened"))
    for change in StatusChange.objects.filter(case_id__in=case_ids).select_related("case"):
        items.append(
            TimelineItem(
                change.changed_at,
                "status",
                f"Case {change.case.reference}: {change.get_to_status_display()}",
            )
        )
    for hearing in Hearing.objects.filter(proceeding__case_id__in=case_ids).select_related("court"):
        items.append(
            TimelineItem(
                hearing.scheduled_at,
                "hearing",
                f"{hearing.get_calendar_display()} hearing, {hearing.court.name}",
            )
        )

    def sort_key(item: TimelineItem) -> str:
        value = item.when
        return value.isoformat() if isinstance(value, datetime) else f"{value.isoformat()}T00:00"

    return sorted(items, key=sort_key, reverse=True)


@dataclass(frozen=True)
class CaseloadRow:
    person: Person
    next_hearing: datetime | None
    open_cases: int


#: Above this many visible persons (an office), the caseload page is read from the upcoming
#: hearings in time order, stopping at the page, instead of ranking every person.
WALK_ABOVE = 2000
#: Hearings read by the walk's first statement, at least (then twice as many each time).
WALK_BATCH = 64


def _ranked_all(visible: Any, now: datetime, start: int, count: int) -> list[tuple[Any, Any]]:
    """(person id, next hearing) for the page, ranking every visible person (a caseload)."""
    from django.db.models import F, Min, Q

    ranked = visible.annotate(
        next_hearing=Min(
            "cases__proceedings__hearings__scheduled_at",
            filter=Q(cases__proceedings__hearings__scheduled_at__gte=now),
        )
    ).order_by(F("next_hearing").asc(nulls_last=True), "pk")
    return list(ranked.values_list("pk", "next_hearing")[start:start + count])


def _ranked_by_walk(
    ctx: AccessContext, visible: Any, now: datetime, start: int, count: int
) -> list[tuple[Any, Any]]:
    """The same page as `_ranked_all`, read from the upcoming hearings of the persons in
    reach in (time, person) order (index `cases_hearing_scheduled`): a person's first hearing
    met is their next one. The cost is the hearings before the page, not the office; persons
    with no upcoming hearing follow, by id, as in `_ranked_all`."""
    from caseledger.cases.models import Hearing

    hearings = (
        policies.restrict(Hearing.objects.all(), ctx)
        .filter(scheduled_at__gte=now)
        .order_by("scheduled_at", "proceeding__case__person_id")
        .values_list("proceeding__case__person_id", "scheduled_at")
    )
    first: dict[Any, Any] = {}
    offset, batch = 0, max(WALK_BATCH, 2 * (start + count))
    while len(first) < start + count:
        chunk = list(hearings[offset:offset + batch])
        for person_id, at in chunk:
            first.setdefault(person_id, at)
        if len(chunk) < batch:
            break
        offset, batch = offset + batch, batch * 2
    page = list(first.items())[start:start + count]
    if len(page) == count:
        return page
    upcoming = Hearing.objects.filter(scheduled_at__gte=now).values("proceeding__case__person_id")
    skip = max(0, start - len(first))
    rest = (visible.exclude(pk__in=upcoming).order_by("pk")
            .values_list("pk", flat=True)[skip:skip + count - len(page)])
    return page + [(pk, None) for pk in rest]


#: How long an office's person count is reused (seconds).
OFFICE_COUNT_SECONDS = 60


def _count(ctx: AccessContext, visible: Any) -> int:
    """How many persons the context sees. A large office's count (10^6 persons: ~100 ms of
    index scan) is reused for `OFFICE_COUNT_SECONDS` (`core.reuse`); a person created
    meanwhile is still listed (the count only sizes the pager)."""
    from caseledger.core.reuse import office_figure

    return office_figure(policies.office_reach(ctx), "persons", visible.count,
                         OFFICE_COUNT_SECONDS)


def list_caseload(
    *, ctx: AccessContext, page: int = 1, per_page: int = 25
) -> tuple[list[CaseloadRow], int]:
    """The persons the context sees in its ordinary work, next hearing first (then those with
    none, by id). A page costs its rows: an office is walked by hearing time
    (`_ranked_by_walk`), a caseload ranked whole."""
    from django.db.models import Count, Q

    from caseledger.cases.models import CaseStatus

    now = clock.now()
    page = max(1, page)
    visible = visible_persons(ctx)
    total = _count(ctx, visible)
    start = (page - 1) * per_page
    if total > WALK_ABOVE:
        ranked = _ranked_by_walk(ctx, visible, now, start, per_page)
    else:
        ranked = _ranked_all(visible, now, start, per_page)
    persons = (
        visible.filter(pk__in=[pk for pk, _at in ranked])
        .annotate(open_cases=Count("cases", filter=~Q(cases__status=CaseStatus.CLOSED),
                                   distinct=True))
        .prefetch_related("names")
        .in_bulk()
    )
    rows = [CaseloadRow(persons[pk], at, persons[pk].open_cases)
            for pk, at in ranked if pk in persons]  # one gone from reach meanwhile: left out
    record_access(
        ctx,
        action=Action.LIST,
        category=Category.IDENTITY,
        record_type=PERSON,
        detail={"results": [str(r.person.pk) for r in rows], "page": page},
        subjects=[r.person.pk for r in rows],
    )
    return rows, total


# --- a change of address reported by the person (portal) --------------------------------------
def own_person_id(ctx: AccessContext) -> uuid.UUID:
    """The one person a participant's context sees: their own record (NotFound if none)."""
    from caseledger.core.errors import NotFound

    pid = visible_persons(ctx).values_list("pk", flat=True).first()
    if pid is None:
        raise NotFound("Your account is not linked to a record.")
    return pid


def address_of_record(*, ctx: AccessContext, person_id: Any) -> Address | None:
    """The current address only (one read event, category address)."""
    person = require_person(ctx, person_id, category=Category.ADDRESS)
    address = person.addresses.filter(valid_to__isnull=True).first()
    record_access(
        ctx,
        action=Action.READ,
        category=Category.ADDRESS,
        subject_id=person.pk,
        record_type=ADDRESS,
        record_id=address.pk if address else "",
    )
    return address


@dataclass
class AddressReceipt:
    address: Address
    received_at: datetime
    event_id: uuid.UUID | None
    eoir33_due: date | None
    court_name: str


def address_receipt(*, ctx: AccessContext, address_id: Any) -> AddressReceipt:
    """The receipt for a recorded address: when it was received, its ledger event, and the
    EOIR-33 due date at the court of the person's open case (None without one)."""
    from caseledger.access.gate import require_related
    from caseledger.cases.selectors import address_change_deadline
    from caseledger.ledger.models import Event

    address = require_related(
        ctx,
        Address,
        address_id,
        person_path=policies.person_path(Address),
        record_type=ADDRESS,
        category=Category.ADDRESS,
    )
    event = (
        Event.objects.filter(
            record_type=ADDRESS, record_id=str(address.pk), action=Action.CREATE
        )
        .only("uuid", "time")
        .order_by("id")
        .first()
    )
    due = address_change_deadline(address.person_id, address.valid_from)
    record_access(
        ctx,
        action=Action.READ,
        category=Category.ADDRESS,
        subject_id=address.person_id,
        record_type=ADDRESS,
        record_id=address.pk,
    )
    return AddressReceipt(
        address=address,
        received_at=event.time if event else address.created_at,
        event_id=event.uuid if event else None,
        eoir33_due=due[0] if due else None,
        court_name=due[1] if due else "",
    )
