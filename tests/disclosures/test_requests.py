"""Entering requests and deciding them: the happy path and every refusal (nothing written)."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from pypdf import PdfReader

from caseledger.access.models import Grant, GrantKind
from caseledger.cases.models import Court, StatusChange
from caseledger.cases.services import open_case
from caseledger.core import clock, crypto
from caseledger.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from caseledger.disclosures import selectors, services
from caseledger.disclosures.models import (
    AccountingEntry,
    Agency,
    DisclosureRequest,
    RequestStatus,
)
from caseledger.ledger.models import Event
from tests.conftest import context, last_event_id
from tests.disclosures.conftest import LETTER, b7_input, request_input


def _nothing_written(mark: int) -> None:
    assert DisclosureRequest.objects.count() == 0
    assert not Event.objects.filter(
        id__gt=mark, data_category="disclosure", outcome="allowed"
    ).exists()


def test_happy_path_enter_approve_release(users, person, privacy2, events_since):
    mark = last_event_id()
    req = services.create_request(context(users["privacy"]), request_input(person))
    assert req.status == RequestStatus.PENDING
    assert req.letter_sha256 and bytes(req.letter_encrypted) != LETTER
    assert (
        crypto.decrypt(bytes(req.letter_encrypted), associated_data=services.letter_ad(req.pk))
        == LETTER
    )
    create = [e for e in events_since(mark) if e.action == "create"]
    assert len(create) == 1 and create[0].data_category == "disclosure"
    assert create[0].record_type == "disclosures.disclosurerequest"
    assert create[0].detail == {
        "authority": "ICE-A",
        "agency": "EOIR",
        "categories": ["identity", "hearings"],
        "request_id": str(req.pk),
        "task": f"disclosure:{req.pk}",
    }

    mark = last_event_id()
    req = services.decide(
        context(privacy2),
        req.pk,
        decision="approve",
        reason="Routine use A applies; court proceedings pending.",
    )
    assert req.status == RequestStatus.APPROVED and req.package_sha256
    events = events_since(mark)
    actions = [(e.action, e.data_category) for e in events]
    assert ("grant", "access") in actions
    # Each category read through the gate, with the privacy officer's privacy-review purpose.
    reads = [e for e in events if e.action == "read" and e.subject_id == person.pk]
    assert {e.data_category for e in reads} >= {"identity", "hearings"}
    assert all(e.purpose == "privacy_review" for e in reads)
    disclose = [e for e in events if e.action == "disclose"]
    assert len(disclose) == 1
    assert disclose[0].subject_id == person.pk
    assert disclose[0].detail == {
        "authority": "ICE-A",
        "agency": "EOIR",
        "categories": ["identity", "hearings"],
        "request_id": str(req.pk),
        "task": f"disclosure:{req.pk}",
    }
    # The short-lived grant is closed after the release.
    grant = Grant.objects.get(user=privacy2, person=person, kind=GrantKind.PRIVACY_REVIEW)
    assert grant.reason == f"disclosure request {req.pk}"
    assert not Grant.objects.filter(
        pk=grant.pk, expires_at__gt=grant.created_at + timedelta(minutes=30)
    ).exists()
    entry = AccountingEntry.objects.get(request=req)
    assert entry.subject_id == person.pk and entry.authority == "ICE-A"
    assert entry.categories == ["identity", "hearings"]
    assert entry.recipient_address.startswith("5107 Leesburg Pike")
    assert entry.retain_until.year == entry.disclosed_on.year + 5


def test_release_holds_exactly_the_listed_categories(users, person, privacy2):
    court = Court.objects.first()
    case = open_case(
        ctx=context(users["officer_east"]),
        person_id=person.pk,
        case_type="removal",
        court_code=court.code,
    )
    StatusChange.objects.create(
        case=case,
        from_status="open",
        to_status="open",
        reason="Officer note: SECRET-NOTE-TEXT",
        changed_at=datetime(2026, 1, 5, tzinfo=UTC),
    )
    req = services.create_request(
        context(users["privacy"]),
        request_input(
            person, agency="DOJ-OIL", authority="ICE-B", categories=["identity", "cases"]
        ),
    )
    services.decide(
        context(privacy2),
        req.pk,
        decision="approve",
        reason="Litigation hold; DOJ counsel needs the case record.",
    )
    _req, raw = selectors.package(context(privacy2), req.pk, "json")
    package = json.loads(raw)
    assert set(package["data"]) == {"identity", "cases"}
    assert package["categories"] == ["identity", "cases"]
    assert package["data"]["identity"]["a_number"] == person.a_number
    assert package["data"]["cases"][0]["reference"] == case.reference
    assert "SECRET-NOTE-TEXT" not in raw.decode()
    assert "12 Main St" not in raw.decode()  # addresses not listed
    digest = package.pop("package_sha256")
    assert digest == hashlib.sha256(services.canonical(package)).hexdigest()
    assert package["request_id"] == str(req.pk)
    assert package["recipient"]["agency"] == "DOJ-OIL"
    assert package["authority"]["code"] == "ICE-B"

    _req, pdf = selectors.package(context(privacy2), req.pk, "pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "[identity]" in text and "[cases]" in text
    for absent in (
        "[addresses]",
        "[notes]",
        "[contacts]",
        "[hearings]",
        "SECRET-NOTE-TEXT",
        "Main St",
    ):
        assert absent not in text
    assert person.a_number in text and case.reference in text
    assert digest in text.replace("\n", "")

    # Now with notes listed: the free text is released.
    req2 = services.create_request(
        context(users["privacy"]),
        request_input(person, agency="DOJ-OIL", authority="ICE-B", categories=["notes"]),
    )
    services.decide(
        context(privacy2),
        req2.pk,
        decision="approve",
        reason="Notes are relevant to the litigation.",
    )
    _req, raw = selectors.package(context(privacy2), req2.pk, "json")
    assert "SECRET-NOTE-TEXT" in raw.decode()
    assert set(json.loads(raw)["data"]) == {"notes"}


def test_decline_writes_decline_event_and_no_package(users, person, privacy2, events_since):
    req = services.create_request(context(users["privacy"]), request_input(person))
    mark = last_event_id()
    req = services.decide(
        context(privacy2),
        req.pk,
        decision="decline",
        reason="The letter does not name a pending proceeding.",
    )
    assert req.status == RequestStatus.DECLINED and not req.package_sha256
    events = events_since(mark)
    assert [e.action for e in events] == ["decline"]
    assert events[0].detail["authority"] == "ICE-A"
    assert not AccountingEntry.objects.exists()
    assert not Grant.objects.filter(user=privacy2).exists()
    with pytest.raises(NotFound):
        selectors.package(context(privacy2), req.pk, "json")


@pytest.mark.parametrize(
    ("overrides", "code", "words"),
    [
        ({"letter": b""}, "missing_letter", "letter"),
        ({"letter": b"GIF89a not a pdf"}, "letter_type", "PDF"),
        ({"letter_content_type": "image/png"}, "letter_type", "PDF"),
        ({"letter": b"%PDF-" + b"x" * (2 * 1024 * 1024)}, "letter_too_large", "too large"),
        ({"categories": ["identity", "contacts"]}, "category_not_allowed", "contacts"),
        ({"categories": []}, "categories_required", "explicitly"),
        ({"categories": ["face_template"]}, "category_never_disclosed", "never disclosed"),
        ({"categories": ["shoe_size"]}, "unknown_category", "Unknown data category"),
        ({"agency": "FBI"}, "recipient_not_allowed", "does not allow disclosure to FBI"),
        ({"agency": "NOPE"}, "unknown_agency", "agency"),
        ({"authority": "ICE-Z"}, "unknown_authority", "routine use"),
        ({"official_rank": "general"}, "unknown_rank", "rank"),
        ({"activity": ""}, "required", "activity"),
        ({"withhold_from_subject": True}, "withhold_not_b7", "(b)(7)"),
        ({"person": [1, 2]}, "one_person", "one person"),
    ],
)
def test_refusals_name_the_rule_and_write_nothing(users, person, overrides, code, words):
    mark = last_event_id()
    with pytest.raises(ValidationError) as err:
        services.create_request(context(users["privacy"]), request_input(person, **overrides))
    assert err.value.code == code
    assert words.lower() in err.value.message.lower()
    _nothing_written(mark)


def test_b7_below_section_chief_is_refused(users, person):
    mark = last_event_id()
    with pytest.raises(ValidationError) as err:
        services.create_request(
            context(users["privacy"]), b7_input(person, official_rank="supervisor")
        )
    assert err.value.code == "b7_rank"
    assert "section chief" in err.value.message and "552a(b)(7)" in err.value.message
    _nothing_written(mark)
    # A section chief (and above) is accepted.
    for rank in ("section_chief", "division_chief", "head_of_agency"):
        req = services.create_request(
            context(users["privacy"]), b7_input(person, official_rank=rank)
        )
        assert req.authority == "b7" and req.routine_use is None


def test_b7_only_for_law_enforcement_agencies(users, person):
    with pytest.raises(ValidationError) as err:
        services.create_request(context(users["privacy"]), b7_input(person, agency="NARA"))
    assert err.value.code == "b7_not_law_enforcement"
    assert DisclosureRequest.objects.count() == 0


def test_unknown_person_is_refused(users, person):
    mark = last_event_id()
    with pytest.raises(NotFound) as err:
        services.create_request(
            context(users["privacy"]),
            request_input(person, person="00000000-0000-4000-8000-000000000000"),
        )
    assert err.value.code == "unknown_person"
    _nothing_written(mark)
    # The lookup that found nobody is recorded as a refused access.
    denial = Event.objects.get(id__gt=mark)
    assert (denial.outcome, denial.action, denial.record_id) == (
        "denied",
        "create",
        "00000000-0000-4000-8000-000000000000",
    )
    # An unknown A-number too, without the A-number itself in the ledger.
    mark = last_event_id()
    with pytest.raises(NotFound):
        services.create_request(
            context(users["privacy"]), request_input(person, person="A999999999")
        )
    denial = Event.objects.get(id__gt=mark)
    assert denial.outcome == "denied" and denial.record_id.startswith("hmac:")
    assert "999999999" not in str(denial.detail) + denial.record_id
    with pytest.raises(ValidationError):
        services.create_request(context(users["privacy"]), request_input(person, person="x"))
    assert DisclosureRequest.objects.count() == 0


def test_other_roles_cannot_enter_and_supervisor_only_for_own_office(users, person):
    for role in ("officer_east", "admin", "participant", "representative"):
        with pytest.raises(PermissionDenied):
            services.create_request(context(users[role]), request_input(person))
    with pytest.raises(NotFound):
        services.create_request(context(users["supervisor_west"]), request_input(person))
    assert DisclosureRequest.objects.count() == 0
    req = services.create_request(context(users["supervisor_east"]), request_input(person))
    assert req.entered_by == users["supervisor_east"]


def test_decider_cannot_be_the_enterer_and_only_privacy_officers_decide(users, person, privacy2):
    req = services.create_request(context(users["privacy"]), request_input(person))
    with pytest.raises(PermissionDenied) as err:
        services.decide(
            context(users["privacy"]),
            req.pk,
            decision="approve",
            reason="I entered it and approve it.",
        )
    assert err.value.code == "four_eyes"
    with pytest.raises(PermissionDenied):
        services.decide(
            context(users["supervisor_east"]),
            req.pk,
            decision="approve",
            reason="A supervisor may not decide.",
        )
    req.refresh_from_db()
    assert req.status == RequestStatus.PENDING and not AccountingEntry.objects.exists()
    with pytest.raises(ValidationError):
        services.decide(context(privacy2), req.pk, decision="approve", reason="")
    with pytest.raises(ValidationError):
        services.decide(context(privacy2), req.pk, decision="maybe", reason="Not sure at all.")
    services.decide(context(privacy2), req.pk, decision="approve", reason="Routine use A fits.")
    with pytest.raises(Conflict):
        services.decide(context(privacy2), req.pk, decision="decline", reason="Changed my mind.")
    # A request entered by a supervisor can be decided by any privacy officer.
    req2 = services.create_request(context(users["supervisor_east"]), request_input(person))
    assert (
        services.decide(
            context(users["privacy"]),
            req2.pk,
            decision="decline",
            reason="Not needed for the stated activity.",
        ).status
        == "declined"
    )


def test_monthly_cap_is_enforced_per_agency_per_calendar_month(users, person, privacy2):
    Agency.objects.filter(code="NJSP").update(monthly_cap=1)
    first = services.create_request(context(users["privacy"]), b7_input(person, agency="NJSP"))
    pending = services.create_request(context(users["privacy"]), b7_input(person, agency="NJSP"))
    services.decide(
        context(privacy2), first.pk, decision="approve", reason="Specific violation documented."
    )
    mark = last_event_id()
    # Entering a third request this month is refused ...
    with pytest.raises(ValidationError) as err:
        services.create_request(context(users["privacy"]), b7_input(person, agency="NJSP"))
    assert err.value.code == "monthly_cap" and "NJSP" in err.value.message
    # ... and so is approving the one already pending.
    with pytest.raises(ValidationError) as err:
        services.decide(
            context(privacy2), pending.pk, decision="approve", reason="Second release this month."
        )
    assert err.value.code == "monthly_cap"
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING
    assert not Event.objects.filter(id__gt=mark, action__in=["create", "disclose"]).exists()
    assert AccountingEntry.objects.count() == 1
    # Another agency is not affected.
    services.create_request(context(users["privacy"]), b7_input(person, agency="FBI"))
    # Next calendar month the cap starts again.
    later = clock.now() + timedelta(days=32)
    with mock.patch("caseledger.core.clock.now", return_value=later):
        services.decide(
            context(privacy2), pending.pk, decision="approve", reason="New month, within the cap."
        )
    assert AccountingEntry.objects.count() == 2
