"""Entering a written disclosure request for one person's record (privacy officer or
supervisor). Every check runs before anything is written, and a refusal names the rule."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.crypto import salted_hmac

from caseledger.access import policies
from caseledger.access.context import AccessContext
from caseledger.access.gate import deny
from caseledger.access.policies import Ability, Act
from caseledger.core import clock, crypto
from caseledger.core.errors import NotFound, ValidationError
from caseledger.core.ids import as_uuid
from caseledger.ledger.services import record_write
from caseledger.ledger.vocabulary import Action, Category, record_type_of
from caseledger.people import validation
from caseledger.people.models import Person

from .. import rules
from ..models import RANK_ORDER, Agency, Authority, DisclosureRequest, Rank, RoutineUse
from .common import (
    RECORD_TYPE,
    check_cap,
    check_categories,
    event_detail,
    letter_ad,
    lock_agency,
    tagged,
    text_field,
)

PERSON_TYPE = record_type_of(Person)
#: The answer to a person the context may not name in a request, whether or not they exist.
UNKNOWN_PERSON = (
    "No person you may enter a request for has that id or A-number; a disclosure must name "
    "one existing record."
)


@dataclass
class RequestInput:
    person: Any
    agency: str
    official_name: str
    official_title: str
    official_rank: str
    authority: str  # "b7" or a routine-use code
    activity: str
    categories: list[str] = field(default_factory=list)
    letter: bytes = b""
    letter_content_type: str = ""
    withhold_from_subject: bool = False

#: The salt of the keyed hash that stands for an A-number in a refusal's event.
A_NUMBER_SALT = "caseledger.disclosures.a_number_tried"


def check_one_person(payload: Any) -> None:
    """Refuse any request body that names more than one person, whatever its shape."""
    if isinstance(payload, list | tuple):
        raise ValidationError(rules.ONE_PERSON, field="person", code="one_person")
    if isinstance(payload, dict):
        if "persons" in payload or "person_ids" in payload or "people" in payload:
            raise ValidationError(rules.ONE_PERSON, field="persons", code="one_person")
        if isinstance(payload.get("person"), list | tuple | dict):
            raise ValidationError(rules.ONE_PERSON, field="person", code="one_person")


def decode_letter(text: str) -> bytes:
    try:
        return base64.b64decode(text or "", validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(
            "The letter is not valid base64.", field="letter_base64", code="letter_encoding"
        ) from None


def _check_letter(data: bytes, content_type: str) -> bytes:
    if not data:
        raise ValidationError(
            "Attach the signed request letter (PDF): a disclosure needs a "
            "written request (5 U.S.C. 552a(b)(7)).",
            field="letter",
            code="missing_letter",
        )
    if len(data) > rules.LETTER_MAX_BYTES:
        raise ValidationError(
            f"The letter is too large ({rules.LETTER_MAX_BYTES // (1024 * 1024)} MB at most).",
            field="letter",
            code="letter_too_large",
        )
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in rules.LETTER_CONTENT_TYPES or bytes(data[:5]) != b"%PDF-":
        raise ValidationError("The letter must be a PDF file.", field="letter", code="letter_type")
    return bytes(data)


def _check_rank(value: Any) -> str:
    rank = str(value or "")
    if rank not in RANK_ORDER:
        raise ValidationError(
            f"Unknown rank. Use: {', '.join(Rank.values)}.",
            field="official_rank",
            code="unknown_rank",
        )
    return rank


def _check_b7(agency: Agency, rank: str) -> None:
    if not agency.law_enforcement:
        raise ValidationError(
            f"{agency.code} is not a law-enforcement agency: 5 U.S.C. 552a(b)(7) allows a "
            "disclosure only to an agency for a civil or criminal law-enforcement activity.",
            field="agency",
            code="b7_not_law_enforcement",
        )
    if RANK_ORDER[rank] < RANK_ORDER[rules.MIN_RANK_B7]:
        raise ValidationError(
            "A (b)(7) request must be signed by the head of the agency or an official "
            "delegated that authority (section chief or above, 5 U.S.C. 552a(b)(7)); "
            f"a request from a {Rank(rank).label.lower()} is refused.",
            field="official_rank",
            code="b7_rank",
        )


def _check_routine_use(code: str, agency: Agency, categories: list[str],
                       withhold: bool) -> RoutineUse:
    use = RoutineUse.objects.filter(code=code.upper(), active=True).first()
    if use is None:
        raise ValidationError(
            "The authority must be 'b7' or the code of an active routine use in the registry.",
            field="authority",
            code="unknown_authority",
        )
    if not use.agencies.filter(pk=agency.pk).exists():
        raise ValidationError(
            f"Routine use {use.code} ({use.citation}) does not allow disclosure to "
            f"{agency.code}.",
            field="agency",
            code="recipient_not_allowed",
        )
    extra = [c for c in categories if c not in use.categories]
    if extra:
        raise ValidationError(
            f"Routine use {use.code} ({use.citation}) does not allow the categories: "
            f"{', '.join(extra)}. Allowed: {', '.join(use.categories)}.",
            field="categories",
            code="category_not_allowed",
        )
    if withhold:
        raise ValidationError(
            "Only a (b)(7) request may ask that the accounting be "
            "withheld from the subject (5 U.S.C. 552a(c)(3)).",
            field="withhold_from_subject",
            code="withhold_not_b7",
        )
    return use


def _resolve_person(ctx: AccessContext, value: Any) -> Person:
    """The one person the request names (by record id or A-number), if the context may enter
    a request for them (`policies.persons_in_reach` of a new request: every person for the
    privacy office, their office's for a supervisor). Anyone else, existing or not, gets the
    same 404 and a denied event naming the person when there is one, under the id tried or a
    keyed hash of the A-number tried (never the A-number itself)."""
    if isinstance(value, list | tuple | set | dict):
        raise ValidationError(rules.ONE_PERSON, field="person", code="one_person")
    text = str(value).strip()
    reach = policies.persons_in_reach(ctx, DisclosureRequest, Act.CREATE)
    if validation.looks_like_a_number(text):
        a_number = validation.normalize_a_number(text)
        person = reach.filter(a_number=a_number).first()
        # Keyed: a plain hash of a 9-digit number is reversed by trying them all.
        keyed = salted_hmac(A_NUMBER_SALT, str(a_number), algorithm="sha256")
        tried: Any = "hmac:" + keyed.hexdigest()[:32]
        # Read without the policy only to name the subject of the refusal, never returned.
        subject = None if person else (
            Person.objects.filter(a_number=a_number).values_list("pk", flat=True).first()
        )
    else:
        tried = as_uuid(text)
        if tried is None:
            raise ValidationError(
                "Give the person's id or A-number.", field="person", code="unknown_person"
            )
        person = reach.filter(pk=tried).first()
        subject = None if person else policies.person_of(Person, tried)
    if person is None:
        deny(ctx, action=Action.CREATE, category=Category.DISCLOSURE, record_type=PERSON_TYPE,
             record_id=tried, subject_id=subject)
        raise NotFound(UNKNOWN_PERSON, field="person", code="unknown_person")
    return person


def create_request(ctx: AccessContext, data: RequestInput) -> DisclosureRequest:
    """Enter a written request for one person's record (privacy officer or supervisor)."""
    named = data.person if isinstance(data.person, str | uuid.UUID) else None
    policies.require(
        ctx, Ability.ENTER_DISCLOSURE, action=Action.CREATE, category=Category.DISCLOSURE,
        record_type=PERSON_TYPE, record_id=named or "", subject_id=named,
        message="Only a privacy officer or a supervisor enters disclosure requests.",
    )
    categories = check_categories(data.categories)
    agency = Agency.objects.filter(code=str(data.agency or "").strip().upper(), active=True).first()
    if agency is None:
        raise ValidationError("Unknown requesting agency.", field="agency", code="unknown_agency")
    official_name = text_field(
        data.official_name, "official_name", "requesting official's name", maximum=200
    )
    official_title = text_field(
        data.official_title, "official_title", "official's title", maximum=200
    )
    rank = _check_rank(data.official_rank)
    activity = text_field(
        data.activity, "activity", "activity the record is needed for", minimum=10
    )
    authority = str(data.authority or "").strip()
    routine_use = None
    if authority.lower() in ("b7", "(b)(7)"):
        authority = Authority.B7
        _check_b7(agency, rank)
    else:
        routine_use = _check_routine_use(
            authority, agency, categories, bool(data.withhold_from_subject)
        )
        authority = Authority.ROUTINE_USE
    letter = _check_letter(data.letter, data.letter_content_type)
    person = _resolve_person(ctx, data.person)
    request_id = uuid.uuid4()
    ctx = tagged(ctx, request_id)
    with transaction.atomic():
        check_cap(lock_agency(agency))
        req = DisclosureRequest.objects.create(
            id=request_id,
            person=person,
            agency=agency,
            official_name=official_name,
            official_title=official_title,
            official_rank=rank,
            authority=authority,
            routine_use=routine_use,
            activity=activity,
            categories=categories,
            withhold_from_subject=bool(data.withhold_from_subject) and authority == Authority.B7,
            letter_encrypted=crypto.encrypt(letter, associated_data=letter_ad(request_id)),
            letter_sha256=hashlib.sha256(letter).hexdigest(),
            letter_size=len(letter),
            entered_by=ctx.user,
            entered_at=clock.now(),
        )
        record_write(
            actor=ctx.actor, purpose=ctx.purpose, request_id=ctx.request_id, task=ctx.task,
            action=Action.CREATE, category=Category.DISCLOSURE, subject_id=req.person_id,
            record_type=RECORD_TYPE, record_id=req.pk, detail=event_detail(req),
        )
    return req
