"""Reads of the ledger itself. Who accessed a person is itself personal: reads are recorded."""

from __future__ import annotations

import uuid
from typing import Any

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import deny, real_person, record_access
from caseledger.access.policies import Ability, Scope
from caseledger.core.errors import ValidationError
from caseledger.ledger.models import Entry, Event, EventSubject
from caseledger.ledger.vocabulary import Action, Category, Purpose, record_type_of

EVENT = record_type_of(Event)


def events_for_subject(
    *, ctx: AccessContext, subject_id: Any, page: int = 1, per_page: int = 50
) -> tuple[list[Event], int]:
    """A person's ledger events, each with its `position` in the log, for the privacy officer
    (anyone else: not found, recorded naming the person)."""
    if not policies.allows(ctx.user, Ability.READ_LEDGER):
        raise deny(ctx, action=Action.READ, category=Category.LEDGER, record_type=EVENT,
                   record_id=subject_id, subject_id=real_person(subject_id))
    try:
        sid = uuid.UUID(str(subject_id))
    except ValueError:
        deny(ctx, action=Action.READ, category=Category.LEDGER, record_type=EVENT,
             record_id=subject_id)
        raise ValidationError("subject must be a person id (UUID).", field="subject") from None
    # Each event's position in the log (None until the integrator has placed it), for its
    # inclusion proof.
    position = Entry.objects.filter(event_id=OuterRef("pk")).values("position")[:1]
    qs: QuerySet[Event] = (
        Event.objects.filter(subject_id=sid)
        .annotate(position=Subquery(position))
        .order_by("-time", "-id")
    )
    total = qs.count()
    page = max(1, page)
    events = list(qs[(page - 1) * per_page : page * per_page])
    record_access(
        ctx,
        action=Action.READ,
        category=Category.LEDGER,
        subject_id=sid,
        record_type=EVENT,
        detail={"page": page, "returned": len(events)},
    )
    return events, total


#: The purposes under which the person (or their representative) reads their own history.
SUBJECT_PURPOSES = frozenset({Purpose.SELF_SERVICE, Purpose.REPRESENTATION})
WITHHELD_RECORD_TYPE = "disclosures.disclosurerequest"
WITHHELD_NOTICE_TYPE = "disclosures.correctionnotice"


def _withheld_from_subject(person_id: Any) -> Q | None:
    """Events about a disclosure withheld from the subject at a (b)(7) requester's written
    request (5 U.S.C. 552a(c)(3)), which the subject and their representative must not see
    in the access history: every event recording such a request (its record id), every event
    the work on it wrote (the server's task `disclosure:<id>` in the detail: the grant, the
    reads of the released categories, the release), and the correction notices sent to its
    recipient. None when there is nothing to leave out.

    Only values the server wrote decide this; a request id a client sends cannot hide or show
    anything. The disclosures app is looked up lazily: the ledger does not depend on it."""
    try:
        requests = apps.get_model("disclosures", "DisclosureRequest")
    except LookupError:
        return None
    ids = [
        str(pk)
        for pk in requests.objects.filter(
            person_id=person_id, withhold_from_subject=True
        ).values_list("pk", flat=True)
    ]
    if not ids:
        return None
    # has_key first: for an event without a task the key lookup is NULL, and NOT (NULL) would
    # leave the event out as well.
    hidden = Q(record_type=WITHHELD_RECORD_TYPE, record_id__in=ids) | (
        Q(detail__has_key="task") & Q(detail__task__in=[f"disclosure:{pk}" for pk in ids])
    )
    try:
        notices = apps.get_model("disclosures", "CorrectionNotice")
    except LookupError:
        return hidden
    notice_ids = [
        str(pk)
        for pk in notices.objects.filter(
            subject_id=person_id, entry__request_id__in=ids
        ).values_list("pk", flat=True)
    ]
    if notice_ids:
        hidden |= Q(record_type=WITHHELD_NOTICE_TYPE, record_id__in=notice_ids)
    return hidden


def _events_of(keys: list[tuple[Any, int]]) -> list[Event]:
    """The events of (time, id) keys, in that order; read by id within the keys' time span."""
    if not keys:
        return []
    times = [t for t, _i in keys]
    found = Event.objects.filter(pk__in=[i for _t, i in keys],
                                 time__range=(min(times), max(times))).in_bulk()
    return [found[i] for _t, i in keys if i in found]


def _page_and_count(keys: QuerySet, offset: int, limit: int) -> tuple[list[tuple[Any, int]], int]:
    """A page of the union's (time, id) keys, newest first, and the union's size, from one
    evaluation of the union (`count(*) OVER ()`): counting it apart from the page made both
    branches run twice, which for a person read 15,000 times was half the page's time. A page
    past the end has no row to carry the count, which is then counted alone."""
    from django.db import connection

    sql, params = keys.query.sql_with_params()
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {qn('time')}, {qn('id')}, count(*) OVER () FROM ({sql}) keys "  # noqa: S608
            f"ORDER BY 1 DESC, 2 DESC LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        rows = cursor.fetchall()
    if not rows:
        return [], keys.count()
    # The time as the ORM gives it (the backend's converters: SQLite keeps it as text).
    column = Event._meta.get_field("time").get_col(Event._meta.db_table)
    converters = connection.ops.get_db_converters(column)

    def converted(value: Any) -> Any:
        for convert in converters:
            value = convert(value, column, connection)
        return value

    return [(converted(t), i) for t, i, _n in rows], rows[0][2]


def access_history(*, ctx: AccessContext, person_id: Any = None, page: int = 1,
                   per_page: int = 50) -> tuple[list[Event], int]:
    """Who accessed a person's record: every staff read and write, with date, role, office and
    declared purpose (from the ledger). For a participant, their own record; for a
    representative, a client's (the gate decides). Reading it is itself recorded.

    The person and their representative do not see the events of a disclosure withheld from
    them at a (b)(7) requester's written request (only its count, on the accounting); staff
    see every event."""
    from caseledger.access.gate import require_person, visible_persons

    if policies.scope(ctx.user) is Scope.SELF:  # a participant reads their own record
        person = visible_persons(ctx).first()
        if person is None:
            raise deny(ctx, action=Action.READ, category=Category.LEDGER, record_type=EVENT,
                       record_id="self")
    else:
        person = require_person(ctx, person_id, category=Category.LEDGER)
    # The person's own events, and the searches and lists that returned them, by staff (the
    # role stored in each event, as data): a UNION of the two index lookups, as (time, id)
    # keys. An OR of the two made PostgreSQL walk the whole ledger by time (11.8 s at 3
    # million events); a union of ids then fetched by id probed every monthly partition for
    # each of a much-read person's events (2.2 s for 10,000). The page's 50 events are then
    # fetched by id within their time span, which prunes the partitions.
    staff = policies.roles_with(Ability.STAFF_PAGES)
    # A listed event is found by its (id, time), both in its subject row: one month's index
    # on the partitioned ledger, not every month's (ledger migration 0010).
    listed = EventSubject.objects.filter(subject_id=person.pk, event_id=OuterRef("pk"),
                                         event_time=OuterRef("time"))
    branches = [Event.objects.filter(subject_id=person.pk, actor_role__in=staff),
                Event.objects.filter(Exists(listed), actor_role__in=staff)]
    if ctx.purpose in SUBJECT_PURPOSES:
        hidden = _withheld_from_subject(person.pk)
        if hidden is not None:
            branches = [branch.exclude(hidden) for branch in branches]
    keys = branches[0].values_list("time", "id").union(branches[1].values_list("time", "id"))
    page = max(1, page)
    chosen, total = _page_and_count(keys, (page - 1) * per_page, per_page)
    events = _events_of(chosen)
    record_access(ctx, action=Action.READ, category=Category.LEDGER, subject_id=person.pk,
                  record_type=EVENT, detail={"view": "access_history", "page": page})
    return events, total
