"""Secret calendar feeds (ICS) of hearings, check-in windows and deadlines.

A participant or representative creates a feed and gets its URL once
(`/calendar/<token>.ics`); only the token's SHA-256 is stored, and creating a new feed or
revoking it ends the old URL. A feed shows the persons its owner may see through the access
gate (a participant: themselves; a representative: their clients of record), and each fetch
is one ledger event per person, like any other read. Staff have no feeds: a calendar of a
whole caseload is exactly the kind of list this system does not hand out.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from icalendar import Calendar, Event

from caseledger.access import policies
from caseledger.access.context import AccessContext, default_purpose
from caseledger.access.gate import record_access, visible_persons
from caseledger.access.policies import Ability, Scope
from caseledger.core import clock
from caseledger.core.errors import NotFound, PermissionDenied
from caseledger.ledger.services import Actor, record_write
from caseledger.ledger.vocabulary import Action, Category

from . import defaults, templating
from .models import CalendarFeed

TOKEN_PATTERN = r"[A-Za-z0-9_-]{32,64}"
_TOKEN = re.compile(rf"^{TOKEN_PATTERN}$")
PAST_DAYS = 30
WINDOW_DAYS = 60
MAX_WINDOWS = 20
HEARING_HOURS = 2

TEXT = {
    "en": {
        "calendar": "caseledger: hearings, check-ins and deadlines",
        "hearing": "Immigration court hearing",
        "postponed": "Immigration court hearing (postponed, new date to be set)",
        "cancelled": "Immigration court hearing (cancelled)",
        "checkin": "Check-in window",
        "checkin_desc": "Check in through the caseledger portal while the window is open.",
        "deadline": "Deadline",
        "bring": defaults.BRING_EN,
        "court": defaults.EOIR_INFO_EN,
    },
    "es": {
        "calendar": "caseledger: audiencias, registros y plazos",
        "hearing": "Audiencia en la corte de inmigración",
        "postponed": "Audiencia en la corte de inmigración (aplazada, nueva fecha por fijar)",
        "cancelled": "Audiencia en la corte de inmigración (cancelada)",
        "checkin": "Plazo de registro (check-in)",
        "checkin_desc": "Regístrese en el portal de caseledger mientras el plazo esté abierto.",
        "deadline": "Plazo",
        "bring": defaults.BRING_ES,
        "court": defaults.EOIR_INFO_ES,
    },
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_role(user: Any) -> None:
    """Defence in depth: the calendar page refuses (and records) other roles first."""
    if not policies.allows(user, Ability.SUBSCRIBE_CALENDAR):
        raise PermissionDenied("Calendar feeds are for participants and representatives.")


def active_feed(user: Any) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).first()


def create_feed(user: Any) -> str:
    """A new secret feed for `user` (any earlier one stops working). The token is returned
    once and never stored."""
    _check_role(user)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        now = clock.now()
        CalendarFeed.objects.filter(user=user, revoked_at__isnull=True).update(
            revoked_at=now, updated_at=now)
        feed = CalendarFeed.objects.create(user=user, token_hash=_hash(token))
        record_write(actor=Actor.of(user), purpose=default_purpose(user), action=Action.CREATE,
                     category=Category.CALENDAR_FEED, record_type="notices.calendarfeed",
                     record_id=feed.pk)
    return token


def revoke_feed(user: Any) -> int:
    """End `user`'s feed; its URL answers 404 from now on."""
    with transaction.atomic():
        feeds = list(CalendarFeed.objects.filter(user=user, revoked_at__isnull=True))
        now = clock.now()
        for feed in feeds:
            feed.revoked_at = now
            feed.save(update_fields=["revoked_at", "updated_at"])
            record_write(actor=Actor.of(user), purpose=default_purpose(user),
                         action=Action.REVOKE, category=Category.CALENDAR_FEED,
                         record_type="notices.calendarfeed",
                         record_id=feed.pk)
    return len(feeds)


def feed_ics(token: str, *, request_id: str = "", now: datetime | None = None) -> bytes:
    """The calendar of a live feed; NotFound for an unknown or revoked token."""
    if not _TOKEN.match(token or ""):
        raise NotFound("No such calendar.")
    feed = (CalendarFeed.objects.select_related("user")
            .filter(token_hash=_hash(token), revoked_at__isnull=True).first())
    if feed is None or not policies.allows(feed.user, Ability.SUBSCRIBE_CALENDAR):
        raise NotFound("No such calendar.")
    user = feed.user
    ctx = AccessContext(user=user, purpose=default_purpose(user), request_id=request_id)
    persons = list(visible_persons(ctx).select_related("office"))
    for person in persons:
        record_access(ctx, action=Action.READ, category=Category.CALENDAR, subject_id=person.pk,
                      record_type="notices.calendarfeed", record_id=feed.pk,
                      detail={"categories": ["hearing", "checkin", "deadline"]})
    CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=clock.now())
    return calendar_for(persons, language=user.preferred_language,
                        label_cases=policies.scope(user) is Scope.REPRESENTED, now=now)


def calendar_for(
    persons: Sequence[Any],
    *,
    language: str = "en",
    label_cases: bool = False,
    now: datetime | None = None,
) -> bytes:
    """An ICS calendar of the obligations of `persons`, who must be persons the caller may
    see (the caller has already passed the gate and recorded the read)."""
    from caseledger.cases.deadlines import deadlines_for_case
    from caseledger.cases.models import Case, CaseStatus, Hearing, HearingStatus
    from caseledger.supervision.models import EnrolmentStatus, Schedule

    now = now or clock.now()
    lang = templating.base_language(language)
    text = TEXT.get(lang, TEXT["en"])
    cal = Calendar()
    cal.add("prodid", "-//caseledger//notices//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", text["calendar"])
    person_ids = [p.pk for p in persons]

    hearings = (Hearing.objects.select_related("court", "proceeding__case")
                .filter(proceeding__case__person_id__in=person_ids,
                        scheduled_at__gte=now - timedelta(days=PAST_DAYS))
                .order_by("scheduled_at"))
    for hearing in hearings:
        start = hearing.scheduled_at.astimezone(ZoneInfo(hearing.court.time_zone))
        summary = {HearingStatus.CANCELLED: text["cancelled"],
                   HearingStatus.ADJOURNED: text["postponed"]}.get(hearing.status,
                                                                    text["hearing"])
        if label_cases:
            summary = f"{summary} — {hearing.proceeding.case.reference}"
        event = Event()
        event.add("uid", f"hearing-{hearing.pk}@caseledger")
        event.add("dtstamp", now)
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(hours=HEARING_HOURS))
        event.add("summary", summary)
        event.add("location", hearing.court.name)
        event.add("description", f"{text['bring']}\n\n{text['court']}")
        event.add("status", "CONFIRMED" if hearing.status in (HearingStatus.SCHEDULED,
                                                              HearingStatus.HELD)
                  else "CANCELLED")
        event.add("sequence", hearing.row_version)
        cal.add_component(event)

    schedules = Schedule.objects.select_related("enrolment__person__office").filter(
        enrolment__person_id__in=person_ids, enrolment__status=EnrolmentStatus.ACTIVE)
    for schedule in schedules:
        tz = ZoneInfo(schedule.enrolment.person.office.time_zone)
        opens, _closes, _until = schedule.next_window(now - timedelta(days=1))
        index = schedule.window_index(opens) if opens >= schedule.first_window_at else 0
        for i in range(index, index + MAX_WINDOWS):
            opens, closes, _until = schedule.window(i)
            if opens > now + timedelta(days=WINDOW_DAYS):
                break
            event = Event()
            event.add("uid", f"checkin-{schedule.pk}-{i}@caseledger")
            event.add("dtstamp", now)
            event.add("dtstart", opens.astimezone(tz))
            event.add("dtend", closes.astimezone(tz))
            event.add("summary", text["checkin"])
            event.add("description", text["checkin_desc"])
            event.add("transp", "TRANSPARENT")
            cal.add_component(event)

    cases = (Case.objects.filter(person_id__in=person_ids)
             .exclude(status__in=[CaseStatus.CLOSED, CaseStatus.DEPARTED])
             .prefetch_related("proceedings__court", "proceedings__decisions", "status_changes"))
    for case in cases:
        proceedings = sorted(case.proceedings.all(), key=lambda p: p.started_on)
        tz_name = proceedings[-1].court.time_zone if proceedings else "America/New_York"
        decisions = [d for p in proceedings for d in p.decisions.all()]
        today = now.astimezone(ZoneInfo(tz_name)).date()
        for deadline in deadlines_for_case(case, decisions, list(case.status_changes.all()),
                                           tz_name, today):
            if deadline.due is None or deadline.due < today - timedelta(days=PAST_DAYS):
                continue
            label = templating.deadline_label(deadline.rule, lang)
            summary = f"{text['deadline']}: {label}"
            if label_cases:
                summary = f"{summary} — {case.reference}"
            event = Event()
            event.add("uid", f"deadline-{case.pk}-{deadline.rule}@caseledger")
            event.add("dtstamp", now)
            event.add("dtstart", deadline.due)
            event.add("dtend", deadline.due + timedelta(days=1))
            event.add("summary", summary)
            event.add("transp", "TRANSPARENT")
            cal.add_component(event)

    first = (now - timedelta(days=PAST_DAYS + 1)).date()
    cal.add_missing_timezones(first_date=first, last_date=date(first.year + 8, 1, 1))
    return cal.to_ical()
