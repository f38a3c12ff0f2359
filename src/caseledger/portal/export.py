"""The export of "My record": one plain document (JSON types only) built from the rows the
selectors already read. The JSON export is this document; the PDF is rendered from it, so
both hold the same content.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

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
