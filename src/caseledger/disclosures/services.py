"""Writes of the disclosures app: requests, decisions and release packages, the accounting
of disclosures, and correction notices to earlier recipients.

Every function validates first and writes nothing when it refuses; each refusal names the
rule (see rules.py and docs/DISCLOSURES.md). There is no function that takes more than one
person.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction

from caseledger.access.context import AccessContext, Purpose
from caseledger.access.gate import (
    close_grant,
    deny,
    open_privacy_review,
    record_access,
    refuse_role,
    require_person,
    subject_of,
)
from caseledger.access.models import Grant
from caseledger.accounts.models import Role
from caseledger.core import clock, crypto
from caseledger.core.errors import Conflict, NotFound, ValidationError
from caseledger.core.ids import as_uuid
from caseledger.core.pdf import render_pdf
from caseledger.ledger.services import record_event

from . import delivery, rules
from .categories import CATEGORIES, CODES
from .categories import label as category_label
from .models import (
    RANK_ORDER,
    AccountingEntry,
    Agency,
    Authority,
    CorrectionNotice,
    DisclosureRequest,
    Rank,
    RequestStatus,
    RoutineUse,
)

ENTRY_ROLES = frozenset({Role.PRIVACY_OFFICER, Role.SUPERVISOR})
RECORD_TYPE = "disclosures.disclosurerequest"
PACKAGE_FORMAT = "caseledger-disclosure-package/1"

__all__ = [
    "RequestInput",
    "check_one_person",
    "create_request",
    "decide",
    "accounting_subject",
    "notify_prior_recipients",
    "statement_entries",
]


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


# --- helpers ------------------------------------------------------------------------------------
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


def month_bounds(moment: datetime) -> tuple[datetime, datetime]:
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days = calendar.monthrange(start.year, start.month)[1]
    return start, start + timedelta(days=days)


def releases_this_month(agency: Agency, *, exclude: Any = None) -> int:
    start, end = month_bounds(clock.now())
    qs = DisclosureRequest.objects.filter(
        agency=agency, status=RequestStatus.APPROVED, decided_at__gte=start, decided_at__lt=end
    )
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.count()


def _check_cap(agency: Agency, *, exclude: Any = None) -> None:
    used = releases_this_month(agency, exclude=exclude)
    if used >= agency.monthly_cap:
        raise ValidationError(
            f"{agency.code} has reached its cap of {agency.monthly_cap} approved releases this "
            "calendar month; no further request can be accepted or approved until next month.",
            field="agency",
            code="monthly_cap",
        )


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _request_event(ctx: AccessContext, req: DisclosureRequest, action: str) -> None:
    """The ledger event of a step of a request (create, decline, disclose); the transparency
    report counts these by their detail."""
    record_event(
        actor=ctx.actor,
        action=action,
        category="disclosure",
        purpose=ctx.purpose,
        subject_id=req.person_id,
        record_type=RECORD_TYPE,
        record_id=req.pk,
        request_id=ctx.request_id,
        task=ctx.task,
        detail=_event_detail(req),
    )


def _event_detail(req: DisclosureRequest) -> dict[str, Any]:
    return {
        "authority": req.authority_code,
        "agency": req.agency.code,
        "categories": list(req.categories),
        "request_id": str(req.pk),
    }


def task_of(request_id: Any) -> str:
    """The server's name for the work on one disclosure request."""
    return f"disclosure:{request_id}"


def tagged(ctx: AccessContext, request_id: Any) -> AccessContext:
    """The context whose events all carry the request's task (`disclosure:<id>`, named here,
    never by a client). The subject's access history leaves out every event of a request
    withheld from them (5 U.S.C. 552a(c)(3)) by it: see `ledger.selectors`."""
    return replace(ctx, task=task_of(request_id))


def lock_agency(agency: Agency) -> Agency:
    """The agency row, locked until the end of the transaction: concurrent approvals (and
    entries) for one agency check the monthly cap one after the other."""
    return Agency.objects.select_for_update().get(pk=agency.pk)


def letter_ad(request_id: uuid.UUID) -> bytes:
    return b"disclosure-letter:" + request_id.bytes


def package_ad(request_id: uuid.UUID, kind: str) -> bytes:
    return f"disclosure-package-{kind}:".encode() + request_id.bytes


# --- entering a request ---------------------------------------------------------------------
def _text(value: Any, name: str, label: str, *, minimum: int = 1, maximum: int = 2000) -> str:
    text = (value if isinstance(value, str) else "").strip()
    if len(text) < minimum:
        raise ValidationError(f"Give the {label}.", field=name, code="required")
    if len(text) > maximum:
        raise ValidationError(f"The {label} is at most {maximum} characters.", field=name)
    return text


def _check_categories(values: Any) -> list[str]:
    if not isinstance(values, list | tuple) or not values:
        raise ValidationError(
            "List the data categories requested explicitly (at least one); "
            "a request for 'everything' is not accepted.",
            field="categories",
            code="categories_required",
        )
    out: list[str] = []
    for value in values:
        code = str(value).strip().lower()
        if code in rules.NEVER_DISCLOSED:
            raise ValidationError(
                f"'{value}' is never disclosed: biometric images, face templates and check-in "
                "locations are not part of any release.",
                field="categories",
                code="category_never_disclosed",
            )
        if code not in CATEGORIES:
            raise ValidationError(
                f"Unknown data category '{value}'. Use: {', '.join(CODES)}.",
                field="categories",
                code="unknown_category",
            )
        if code not in out:
            out.append(code)
    return out


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


def _resolve_person(ctx: AccessContext, value: Any) -> Any:
    from caseledger.people.models import Person

    if isinstance(value, list | tuple | set | dict):
        raise ValidationError(rules.ONE_PERSON, field="person", code="one_person")
    from caseledger.people import validation

    text = str(value).strip()
    if validation.looks_like_a_number(text):
        found = (
            Person.objects.filter(a_number=validation.normalize_a_number(text))
            .values_list("pk", flat=True)
            .first()
        )
        if found is None and ctx.user.role != Role.SUPERVISOR:
            raise _unknown_person(
                ctx,
                text,
                "No person has that A-number; a disclosure must name one existing record.",
            )
        text = str(found or uuid.uuid4())
    try:
        pid = uuid.UUID(text)
    except ValueError:
        raise ValidationError(
            "Give the person's id or A-number.", field="person", code="unknown_person"
        ) from None
    if ctx.user.role == Role.SUPERVISOR:
        # A supervisor enters requests only for persons of their office: the gate decides.
        return require_person(ctx, pid, category="disclosure", action="create")
    person = Person.objects.filter(pk=pid).first()
    if person is None:
        raise _unknown_person(
            ctx, pid, "No person has that id; a disclosure must name one existing record."
        )
    return person


def _unknown_person(ctx: AccessContext, value: Any, message: str) -> NotFound:
    """A lookup that found nobody is recorded like any refused access (a denied event naming
    the id or a hash of the A-number tried, never the A-number itself)."""
    deny(
        ctx,
        action="create",
        category="disclosure",
        record_type="people.person",
        record_id=value
        if isinstance(value, uuid.UUID)
        else "sha256:" + hashlib.sha256(str(value).encode()).hexdigest()[:32],
    )
    return NotFound(message, field="person", code="unknown_person")


def create_request(ctx: AccessContext, data: RequestInput) -> DisclosureRequest:
    """Enter a written request for one person's record (privacy officer or supervisor)."""
    if ctx.user.role not in ENTRY_ROLES:
        named = data.person if isinstance(data.person, str | uuid.UUID) else None
        raise refuse_role(
            ctx, action="create", category="disclosure", record_type="people.person",
            record_id=named or "", subject_id=named,
            message="Only a privacy officer or a supervisor enters disclosure requests.",
        )
    categories = _check_categories(data.categories)
    agency = Agency.objects.filter(code=str(data.agency or "").strip().upper(), active=True).first()
    if agency is None:
        raise ValidationError("Unknown requesting agency.", field="agency", code="unknown_agency")
    official_name = _text(
        data.official_name, "official_name", "requesting official's name", maximum=200
    )
    official_title = _text(data.official_title, "official_title", "official's title", maximum=200)
    rank = str(data.official_rank or "")
    if rank not in RANK_ORDER:
        raise ValidationError(
            f"Unknown rank. Use: {', '.join(Rank.values)}.",
            field="official_rank",
            code="unknown_rank",
        )
    activity = _text(data.activity, "activity", "activity the record is needed for", minimum=10)
    authority = str(data.authority or "").strip()
    routine_use = None
    if authority.lower() in ("b7", "(b)(7)"):
        authority = Authority.B7
        if not agency.law_enforcement:
            raise ValidationError(
                f"{agency.code} is not a law-enforcement agency: 5 U.S.C. 552a(b)(7) allows a "
                "disclosure only to an agency for a civil or criminal law-enforcement "
                "activity.",
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
    else:
        routine_use = RoutineUse.objects.filter(code=authority.upper(), active=True).first()
        if routine_use is None:
            raise ValidationError(
                "The authority must be 'b7' or the code of an active routine use in the registry.",
                field="authority",
                code="unknown_authority",
            )
        authority = Authority.ROUTINE_USE
        if not routine_use.agencies.filter(pk=agency.pk).exists():
            raise ValidationError(
                f"Routine use {routine_use.code} ({routine_use.citation}) does not allow "
                f"disclosure to {agency.code}.",
                field="agency",
                code="recipient_not_allowed",
            )
        extra = [c for c in categories if c not in routine_use.categories]
        if extra:
            raise ValidationError(
                f"Routine use {routine_use.code} ({routine_use.citation}) does not allow the "
                f"categories: {', '.join(extra)}. Allowed: {', '.join(routine_use.categories)}.",
                field="categories",
                code="category_not_allowed",
            )
        if data.withhold_from_subject:
            raise ValidationError(
                "Only a (b)(7) request may ask that the accounting be "
                "withheld from the subject (5 U.S.C. 552a(c)(3)).",
                field="withhold_from_subject",
                code="withhold_not_b7",
            )
    letter = _check_letter(data.letter, data.letter_content_type)
    person = _resolve_person(ctx, data.person)
    request_id = uuid.uuid4()
    ctx = tagged(ctx, request_id)
    with transaction.atomic():
        _check_cap(lock_agency(agency))
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
        _request_event(ctx, req, "create")
    return req


# --- deciding -------------------------------------------------------------------------------------
def _open_grant(
    ctx: AccessContext, person_id: Any, reason: str, *, detail: dict[str, Any] | None = None
) -> Grant:
    return open_privacy_review(
        ctx, person_id, reason=reason, minutes=rules.GRANT_MINUTES, detail=detail
    )


def _tabulate(value: Any) -> tuple[list[str], list[list[str]]]:
    """Columns and rows for the PDF: a dict as field/value pairs, a list of dicts as a table."""

    def text(v: Any) -> str:
        if isinstance(v, list):
            return "; ".join(text(x) for x in v)
        if isinstance(v, dict):
            return ", ".join(f"{k}: {text(x)}" for k, x in v.items() if x not in (None, ""))
        if v is None:
            return "—"
        return str(v)

    if isinstance(value, dict):
        return ["Field", "Value"], [[k, text(v)] for k, v in value.items()]
    rows = [v for v in value or [] if isinstance(v, dict)]
    if not rows:
        return [], []
    columns = list(rows[0])
    return columns, [[text(r.get(c)) for c in columns] for r in rows]


def statement_entries(review: AccessContext, req: DisclosureRequest) -> list[dict[str, Any]]:
    """The person's statements of disagreement whose disputed part is released by `req`
    (5 U.S.C. 552a(d)(4)): read through `portal.selectors.statements_for_person` (gated and
    recorded), oldest first, each with the released categories it concerns."""
    from caseledger.portal.selectors import statements_for_person
    from caseledger.portal.services import DISCLOSURE_CATEGORIES

    released = list(req.categories)
    office = getattr(req.person, "office", None)
    zone = clock.zone(getattr(office, "time_zone", None))
    out: list[dict[str, Any]] = []
    for statement in statements_for_person(review, req.person_id):
        part = str(statement.request.category)
        concerns = [c for c in DISCLOSURE_CATEGORIES.get(part, []) if c in released]
        if concerns:
            out.append(
                {
                    "category": part,
                    "released_categories": concerns,
                    "filed_on": statement.filed_at.astimezone(zone).date().isoformat(),
                    "text": statement.text,
                }
            )
    return out


def build_package(
    req: DisclosureRequest,
    data: dict[str, Any],
    released_on: date,
    disputed: list[dict[str, Any]] | None = None,
) -> dict:
    use = req.routine_use
    return {
        "format": PACKAGE_FORMAT,
        "request_id": str(req.pk),
        "released_on": released_on.isoformat(),
        "authority": {
            "kind": req.authority,
            "code": req.authority_code,
            "citation": use.citation if use else "5 U.S.C. 552a(b)(7)",
        },
        "recipient": {
            "agency": req.agency.code,
            "name": req.agency.name,
            "address": req.agency.mailing_address,
            "official": {
                "name": req.official_name,
                "title": req.official_title,
                "rank": req.official_rank,
            },
        },
        "activity": req.activity,
        "subject": {"person_id": str(req.person_id)},
        "categories": list(req.categories),
        "data": data,
        # Statements of disagreement with the released parts (5 U.S.C. 552a(d)(4)).
        "disputed": list(disputed or []),
    }


def decide(ctx: AccessContext, request_id: Any, *, decision: str, reason: str) -> DisclosureRequest:
    """A privacy officer who did not enter the request approves (and releases) or declines it.

    Approval reads the listed categories through the gate under a short privacy-review grant
    (one ledger read per category), builds the package (JSON and PDF, SHA-256), stores it
    encrypted, writes the accounting entry and the `disclose` event, then closes the grant."""
    key = as_uuid(request_id)
    if key is not None:
        ctx = tagged(ctx, key)
    person_id = subject_of(DisclosureRequest, key) if key else None
    refusal = {"action": "decide", "category": "disclosure", "record_type": RECORD_TYPE,
               "record_id": key or request_id, "subject_id": person_id}
    if ctx.user.role != Role.PRIVACY_OFFICER:
        raise refuse_role(ctx, **refusal,
                          message="Only a privacy officer decides disclosure requests.")
    if decision not in ("approve", "decline"):
        raise ValidationError("The decision is 'approve' or 'decline'.", field="decision")
    reason = _text(reason, "reason", "reasons for the decision", minimum=10)
    # Refusals are recorded before the transaction, so that their events survive it.
    if person_id is None:
        raise deny(ctx, **refusal)
    if DisclosureRequest.objects.filter(pk=key, entered_by=ctx.user).exists():
        raise refuse_role(
            ctx, **refusal, code="four_eyes",
            message="You entered this request; another privacy officer must decide it (two "
            "people).",
        )
    with transaction.atomic():
        req = DisclosureRequest.objects.select_for_update().filter(pk=key).first()
        if req is None:
            raise NotFound("No such disclosure request.")
        req = DisclosureRequest.objects.select_related("agency", "routine_use", "person").get(
            pk=key
        )
        if req.status != RequestStatus.PENDING:
            raise Conflict(
                f"This request is already {req.get_status_display().lower()}.", code="decided"
            )
        now = clock.now()
        req.decided_by, req.decided_at, req.decision_reason = ctx.user, now, reason
        if decision == "decline":
            req.status = RequestStatus.DECLINED
            req.row_version += 1
            req.save(
                update_fields=[
                    "status",
                    "decided_by",
                    "decided_at",
                    "decision_reason",
                    "row_version",
                    "updated_at",
                ]
            )
            _request_event(ctx, req, "decline")
            return req
        _check_cap(lock_agency(req.agency), exclude=req.pk)
        if req.routine_use and (
            not req.routine_use.active or not set(req.categories) <= set(req.routine_use.categories)
        ):
            raise ValidationError(
                "The routine use no longer allows this release.",
                field="authority",
                code="category_not_allowed",
            )
        grant = _open_grant(
            ctx, req.person_id, f"disclosure request {req.pk}", detail={"request_id": str(req.pk)}
        )
        review = replace(ctx, purpose=Purpose.PRIVACY_REVIEW,
                         reason=f"disclosure request {req.pk}")
        person = require_person(review, req.person_id, category="disclosure")
        data: dict[str, Any] = {}
        for code in req.categories:
            record_access(
                review,
                action="read",
                category=code,
                subject_id=person.pk,
                record_type="people.person",
                record_id=person.pk,
                detail={"request_id": str(req.pk), "for": "disclosure_package"},
            )
            data[code] = CATEGORIES[code].extract(person)
        disputed = statement_entries(review, req)
        released_on = clock.today()
        package = build_package(req, data, released_on, disputed)
        digest = hashlib.sha256(canonical(package)).hexdigest()
        stored = dict(package, package_sha256=digest)
        sections = []
        for code in req.categories:
            columns, rows = _tabulate(data[code])
            sections.append(
                {"code": code, "label": category_label(code), "columns": columns, "rows": rows}
            )
        pdf = render_pdf(
            "disclosures/package_pdf.html",
            {
                "package": package,
                "sha256": digest,
                "sections": sections,
                "req": req,
                "disputed": [
                    dict(d, labels=[category_label(c) for c in d["released_categories"]])
                    for d in disputed
                ],
            },
        )
        req.status = RequestStatus.APPROVED
        req.package_sha256 = digest
        req.package_json_encrypted = crypto.encrypt(
            canonical(stored), associated_data=package_ad(req.pk, "json")
        )
        req.package_pdf_encrypted = crypto.encrypt(pdf, associated_data=package_ad(req.pk, "pdf"))
        req.row_version += 1
        req.save()
        AccountingEntry.objects.create(
            person=person,
            subject_id=person.pk,
            request=req,
            disclosed_on=released_on,
            categories=list(req.categories),
            purpose=req.activity,
            agency=req.agency,
            recipient_name=f"{req.agency.name}: {req.official_name}, {req.official_title}",
            recipient_address=req.agency.mailing_address,
            authority=req.authority_code,
            withheld_from_subject=req.withhold_from_subject,
            retain_until=add_years(released_on, rules.RETAIN_YEARS),
        )
        _request_event(ctx, req, "disclose")
        close_grant(grant)
    return req


def accounting_subject(ctx: AccessContext, person_id: Any, *, action: str = "read") -> Any:
    """The person whose accounting of disclosures the context may see (or notify corrections
    of): whoever the gate gives the context; and a privacy officer (privacy-review purpose),
    without any grant on the person's record, for a person named in a disclosure request,
    since keeping that accounting is their task. Anything else: a denial event and NotFound."""
    from caseledger.people.models import Person

    if (
        ctx.user.is_active
        and ctx.user.role == Role.PRIVACY_OFFICER
        and ctx.purpose == Purpose.PRIVACY_REVIEW
    ):
        try:
            pid = uuid.UUID(str(person_id))
        except ValueError:
            pid = None
        if pid is not None:
            named = DisclosureRequest.objects.filter(person_id=pid)
            person = Person.objects.filter(pk=pid, pk__in=named.values("person_id")).first()
            if person is not None:
                return person
    return require_person(ctx, person_id, category="disclosure", action=action)


# --- corrections ------------------------------------------------------------------------------
def notify_prior_recipients(
    ctx: AccessContext, *, person_id: Any, categories: list[str], reason: str
) -> list[CorrectionNotice]:
    """A correction to the person's record: one notice to every earlier recipient whose
    release included any corrected category (5 U.S.C. 552a(c)(4)), each delivered and logged;
    failed deliveries are retried by `caseledger send_corrections`.

    The notices are delivered only once the transaction that creates them commits (the
    caller's, when called inside one, e.g. an amendment's decision): a rolled-back correction
    sends nothing."""
    codes = _check_categories(categories)
    reason = _text(reason, "reason", "description of the correction", minimum=5)
    person = accounting_subject(ctx, person_id, action="notify")
    entries = [
        e
        for e in AccountingEntry.objects.filter(subject_id=person.pk)
        .select_related("agency", "request")
        .order_by("disclosed_on", "created_at")
        if set(e.categories) & set(codes)
    ]
    notices: list[CorrectionNotice] = []
    with transaction.atomic():
        for entry in entries:
            overlap = [c for c in entry.categories if c in codes]
            notice = CorrectionNotice.objects.create(
                entry=entry,
                agency=entry.agency,
                subject_id=person.pk,
                categories=overlap,
                reason=reason,
                created_by=ctx.user if ctx.user.is_authenticated else None,
                channel=delivery.channel_for(entry.agency),
                next_attempt_at=clock.now(),
            )
            record_event(
                actor=ctx.actor,
                action="notify_correction",
                category="disclosure",
                purpose=ctx.purpose,
                subject_id=person.pk,
                record_type="disclosures.correctionnotice",
                record_id=notice.pk,
                request_id=ctx.request_id,
                task=ctx.task,
                detail={
                    "entry": str(entry.pk),
                    "request_id": str(entry.request_id),
                    "agency": entry.agency.code,
                    "categories": overlap,
                    "channel": notice.channel,
                },
            )
            notices.append(notice)
            transaction.on_commit(partial(delivery.deliver, notice), robust=True)
    return notices
