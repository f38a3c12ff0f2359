"""The export of "My record": one plain document (JSON types only) built from the rows the
selectors already read. The JSON export is this document; the PDF is rendered from
`in_words(document)`, the same content with codes and dates in the person's language.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.apps import apps
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from caseledger.core.templatetags import show
from caseledger.disclosures.categories import CATEGORIES as DISCLOSED

from . import labels
from .models import AmendmentCategory, AmendmentStatus

FORMAT_VERSION = "caseledger.my-record/1"


def _iso(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return _iso(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def disclosure_entry(entry: Any) -> dict[str, Any]:
    """One entry of the accounting of disclosures (disclosures.models.AccountingEntry)."""
    return {
        "disclosed_at": _iso(entry.disclosed_on),
        "categories": [str(c) for c in entry.categories or []],
        "purpose": entry.purpose,
        "recipient": entry.recipient_name,
        "recipient_address": entry.recipient_address,
        "authority": entry.authority,
    }


def deletion_item(item: Any) -> dict[str, Any]:
    """One deletion of the person's data (retention.selectors.Deletion)."""
    return {
        "data_class": item.label,
        "count": int(item.count),
        "date": _iso(item.date),
        "certificate": str(item.certificate_id),
    }


def access_row(event: Any) -> dict[str, Any]:
    return {
        "time": _iso(event.time),
        "role": event.actor_role,
        "office": event.office,
        "purpose": event.purpose,
        "action": event.action,
        "category": event.data_category,
        "outcome": event.outcome,
    }


def record_as_dict(record: Any) -> dict[str, Any]:
    d = record.detail
    person = record.person
    accounting = record.accounting
    return {
        "format": FORMAT_VERSION,
        "generated_at": _iso(record.generated_at),
        "person": {
            "id": str(person.pk),
            "a_number": person.a_number or None,
            "date_of_birth": _iso(person.date_of_birth),
            "citizenship": list(person.citizenship or []),
            "languages": list(person.languages or []),
            "interpreter_needed": bool(person.interpreter_needed),
            "names": [
                {
                    "kind": n.kind,
                    "full_name": n.full_name,
                    "given_names": n.given_names,
                    "family_names": n.family_names,
                }
                for n in d.names
            ],
        },
        "addresses": [
            {
                "address": a.one_line(),
                "country": a.country,
                "from": _iso(a.valid_from),
                "to": _iso(a.valid_to),
            }
            for a in d.addresses
        ],
        "contacts": [
            {"kind": c.kind, "value": c.value, "preferred": bool(c.preferred)} for c in d.contacts
        ],
        "cases": [
            {
                "reference": c.case.reference,
                "type": c.case.get_case_type_display(),
                "status": c.case.get_status_display(),
                "opened_on": _iso(c.case.opened_on),
                "proceedings": [
                    {
                        "kind": p.get_kind_display(),
                        "court": p.court.name,
                        "started_on": _iso(p.started_on),
                        "ended_on": _iso(p.ended_on),
                        "hearings": [
                            {
                                "when": _iso(h.scheduled_at),
                                "calendar": h.get_calendar_display(),
                                "court": h.court.name,
                                "status": h.get_status_display(),
                            }
                            for h in p.hearings.all()
                        ],
                        "decisions": [
                            {
                                "kind": x.get_kind_display(),
                                "decided_on": _iso(x.decided_on),
                                "oral": bool(x.oral),
                                "served_on": _iso(x.served_on),
                            }
                            for x in p.decisions.all()
                        ],
                    }
                    for p in c.proceedings
                ],
                "deadlines": [
                    {
                        "rule": dl.rule,
                        "label": str(dl.label),
                        "due": _iso(dl.due),
                        "state": dl.state,
                    }
                    for dl in c.deadlines
                ],
            }
            for c in record.cases
        ],
        "supervision": [
            {
                "level": e.enrolment.get_level_display(),
                "status": e.enrolment.get_status_display(),
                "started_at": _iso(e.enrolment.started_at),
                "ended_at": _iso(e.enrolment.ended_at),
                "check_ins": [
                    # Date and outcome, as on the page: never the check-in's location.
                    {"submitted_at": _iso(c.submitted_at), "outcome": c.outcome}
                    for c in e.checkins
                ],
                "reviews": [
                    {
                        "opened_at": _iso(r.opened_at),
                        "kind": r.get_kind_display(),
                        "disposition": r.get_disposition_display() if r.disposition else None,
                        "decided_at": _iso(r.decided_at),
                    }
                    for r in e.reviews
                ],
            }
            for e in record.enrolments
        ],
        "disclosures": {
            "entries": [disclosure_entry(x) for x in accounting.entries],
            "withheld_count": int(accounting.withheld_count),
        },
        "accesses": {
            "total": record.accesses.total,
            "items": [access_row(e) for e in record.accesses.rows],
        },
        "deletions": [deletion_item(x) for x in record.deletions],
        "amendments": [
            {
                "id": str(a.request.pk),
                "category": a.request.category,
                "what_is_wrong": a.request.what_is_wrong,
                "correction": a.request.correction,
                "submitted_at": _iso(a.request.submitted_at),
                "acknowledge_due": _iso(a.request.acknowledge_due),
                "decision_due": _iso(a.request.decision_due),
                "status": a.request.status,
                "decided_at": _iso(a.request.decided_at),
                "reasons": a.request.decision_reasons or None,
                "statement_of_disagreement": (
                    {"text": a.statement.text, "filed_at": _iso(a.statement.filed_at)}
                    if a.statement
                    else None
                ),
            }
            for a in record.amendments
        ],
    }


# --- the PDF: the same document, in the person's words -----------------------------------------
# The JSON keeps codes (and the staff labels it has always held for the choices of cases and
# supervision, format /1); the PDF is read by the person, so `in_words` gives each value in the
# page's language: codes as words (portal/labels.py), dates in words, moments in the reader's
# time zone with the zone named, ids as short references.

NAME_KINDS: dict[str, Promise] = {
    "primary": _("main name"),
    "birth": _("birth name"),
    "transliteration": _("other spelling"),
    "alias": _("other name (alias)"),
}
CONTACT_KINDS: dict[str, Promise] = {"phone": _("Phone"), "email": _("Email")}
DEADLINE_STATES: dict[str, Promise] = {
    "overdue": _("the date has passed"),
    "due_soon": _("due within 7 days"),
    "upcoming": _("coming up"),
    "paused": _("on hold while the appeal is pending"),
}
#: A check-in's outcome as the person reads it (the page says the same, record/record.html).
CHECKIN_RESULTS: dict[str, Promise] = {
    "verified": _("Checked in: the photo matched."),
    "retake": _("Not accepted: asked to try once more."),
    "review": _("Sent to an officer to look at."),
}
#: The JSON's labels of choices, by (app.model.field as in labels.CHOICES, JSON key).
_LABELLED = {
    "case_type": "cases.case.case_type",
    "case_status": "cases.case.status",
    "proceeding": "cases.proceeding.kind",
    "calendar": "cases.hearing.calendar",
    "hearing_status": "cases.hearing.status",
    "decision": "cases.decision.kind",
    "level": "supervision.enrolment.level",
    "enrolment_status": "supervision.enrolment.status",
    "review": "supervision.review.kind",
    "disposition": "supervision.review.disposition",
}


def _choice(which: str, shown: Any) -> str:
    """The person's words for a choice the JSON holds as its staff label (or its code)."""
    key = _LABELLED[which]
    app, model, field = key.split(".")
    choices = apps.get_model(app, model)._meta.get_field(field).choices or []
    code = next((value for value, text in choices if str(text) == shown), shown)
    return labels.say(labels.CHOICES[key], code)


def _day(value: Any) -> str:
    return show.day(value) if value else "—"


def _when(value: Any) -> str:
    return show.when(value) if value else "—"


def _names(codes: list[str], name: Any) -> str:
    return ", ".join(name(c) for c in codes) or "—"


def _person_words(p: dict[str, Any]) -> dict[str, Any]:
    return {
        **p,
        "reference": labels.short_reference(p["id"]),
        "date_of_birth": _day(p["date_of_birth"]),
        "citizenship": _names(p["citizenship"], labels.country_name),
        "languages": _names(p["languages"], labels.language_name),
        "names": [{**n, "kind": labels.say(NAME_KINDS, n["kind"])} for n in p["names"]],
    }


def _case_words(c: dict[str, Any]) -> dict[str, Any]:
    return {
        **c,
        "type": _choice("case_type", c["type"]),
        "status": _choice("case_status", c["status"]),
        "opened_on": _day(c["opened_on"]),
        "proceedings": [
            {
                **p,
                "kind": _choice("proceeding", p["kind"]),
                "started_on": _day(p["started_on"]),
                "ended_on": _day(p["ended_on"]) if p["ended_on"] else None,
                "hearings": [
                    {**h, "when": _when(h["when"]), "calendar": _choice("calendar", h["calendar"]),
                     "status": _choice("hearing_status", h["status"])}
                    for h in p["hearings"]
                ],
                "decisions": [
                    {**x, "kind": _choice("decision", x["kind"]),
                     "decided_on": _day(x["decided_on"]), "served_on": _day(x["served_on"])}
                    for x in p["decisions"]
                ],
            }
            for p in c["proceedings"]
        ],
        "deadlines": [
            {**dl, "due": _day(dl["due"]), "state": labels.say(DEADLINE_STATES, dl["state"])}
            for dl in c["deadlines"]
        ],
    }


def _supervision_words(e: dict[str, Any]) -> dict[str, Any]:
    return {
        **e,
        "level": _choice("level", e["level"]),
        "status": _choice("enrolment_status", e["status"]),
        "started_at": _day(e["started_at"]),
        "ended_at": _day(e["ended_at"]) if e["ended_at"] else None,
        "check_ins": [
            {**c, "submitted_at": _when(c["submitted_at"]),
             "result": labels.say(CHECKIN_RESULTS, c["outcome"])}
            for c in e["check_ins"]
        ],
        "reviews": [
            {**r, "opened_at": _when(r["opened_at"]), "kind": _choice("review", r["kind"]),
             "disposition": _choice("disposition", r["disposition"]) if r["disposition"]
             else None, "decided_at": _when(r["decided_at"]) if r["decided_at"] else None}
            for r in e["reviews"]
        ],
    }


def _access_words(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": _when(a["time"]),
        "role": labels.say(labels.ROLES, a["role"]),
        "office": labels.office(a["office"] or ""),
        "purpose": labels.say(labels.PURPOSES, a["purpose"]),
        "action": labels.say(labels.ACTIONS, a["action"]),
        "category": labels.say(labels.CATEGORIES, a["category"]),
        "outcome": labels.say(labels.OUTCOMES, a["outcome"]),
    }


def _amendment_words(a: dict[str, Any]) -> dict[str, Any]:
    statement = a["statement_of_disagreement"]
    return {
        **a,
        "reference": labels.short_reference(a["id"]),
        "category": labels.say(dict(AmendmentCategory.choices), a["category"]),
        "status": labels.say(dict(AmendmentStatus.choices), a["status"]),
        "submitted_at": _day(a["submitted_at"]),
        "acknowledge_due": _day(a["acknowledge_due"]),
        "decision_due": _day(a["decision_due"]),
        "decided_at": _day(a["decided_at"]) if a["decided_at"] else None,
        "statement_of_disagreement": (
            {**statement, "filed_at": _day(statement["filed_at"])} if statement else None
        ),
    }


def in_words(document: dict[str, Any]) -> dict[str, Any]:
    """`record_as_dict`'s document as the PDF shows it: the same parts and values, each code
    in the person's words and each date in words of the page's language."""
    parts = {code: c.label for code, c in DISCLOSED.items()}
    return {
        **document,
        "generated_at": _when(document["generated_at"]),
        "person": _person_words(document["person"]),
        "addresses": [
            {**a, "country": labels.country_name(a["country"]) if a["country"] else "",
             "from": _day(a["from"]), "to": _day(a["to"]) if a["to"] else None}
            for a in document["addresses"]
        ],
        "contacts": [{**c, "kind": labels.say(CONTACT_KINDS, c["kind"])}
                     for c in document["contacts"]],
        "cases": [_case_words(c) for c in document["cases"]],
        "supervision": [_supervision_words(e) for e in document["supervision"]],
        "disclosures": {
            **document["disclosures"],
            "entries": [
                {**x, "disclosed_at": _day(x["disclosed_at"]),
                 "authority": labels.authority(x["authority"]),
                 "categories": [labels.say(parts, c) for c in x["categories"]]}
                for x in document["disclosures"]["entries"]
            ],
        },
        "accesses": {**document["accesses"],
                     "items": [_access_words(a) for a in document["accesses"]["items"]]},
        "deletions": [
            {**x, "date": _day(x["date"]), "certificate": labels.short_reference(x["certificate"])}
            for x in document["deletions"]
        ],
        "amendments": [_amendment_words(a) for a in document["amendments"]],
    }
