"""What the steps of a disclosure request share: the checks of free text and of the listed
categories, an agency's monthly cap, the server-named task of a request, the associated data
of its encrypted files and the detail of its events."""

from __future__ import annotations

import calendar
import json
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from caseledger.access.context import AccessContext
from caseledger.core import clock
from caseledger.core.errors import ValidationError
from caseledger.ledger.vocabulary import record_type_of

from .. import rules
from ..categories import CATEGORIES, CODES
from ..models import Agency, DisclosureRequest, RequestStatus

RECORD_TYPE = record_type_of(DisclosureRequest)
PACKAGE_FORMAT = "caseledger-disclosure-package/1"


def text_field(value: Any, name: str, label: str, *, minimum: int = 1,
               maximum: int = 2000) -> str:
    """`value` stripped, refused when shorter than `minimum` or longer than `maximum`."""
    text = (value if isinstance(value, str) else "").strip()
    if len(text) < minimum:
        raise ValidationError(f"Give the {label}.", field=name, code="required")
    if len(text) > maximum:
        raise ValidationError(f"The {label} is at most {maximum} characters.", field=name)
    return text


def check_categories(values: Any) -> list[str]:
    """The explicit, known data categories asked for (never 'everything', never biometrics
    or locations), each once, in the order given."""
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


def check_cap(agency: Agency, *, exclude: Any = None) -> None:
    """Refuse when the agency has used its monthly cap (call with the agency row locked)."""
    used = releases_this_month(agency, exclude=exclude)
    if used >= agency.monthly_cap:
        raise ValidationError(
            f"{agency.code} has reached its cap of {agency.monthly_cap} approved releases this "
            "calendar month; no further request can be accepted or approved until next month.",
            field="agency",
            code="monthly_cap",
        )


def lock_agency(agency: Agency) -> Agency:
    """The agency row, locked until the end of the transaction: concurrent approvals (and
    entries) for one agency check the monthly cap one after the other."""
    return Agency.objects.select_for_update().get(pk=agency.pk)


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def task_of(request_id: Any) -> str:
    """The server's name for the work on one disclosure request."""
    return f"disclosure:{request_id}"


def tagged(ctx: AccessContext, request_id: Any) -> AccessContext:
    """The context whose events all carry the request's task (`disclosure:<id>`, named here,
    never by a client). The subject's access history leaves out every event of a request
    withheld from them (5 U.S.C. 552a(c)(3)) by it: see `access.history`."""
    return replace(ctx, task=task_of(request_id))


def letter_ad(request_id: uuid.UUID) -> bytes:
    return b"disclosure-letter:" + request_id.bytes


def package_ad(request_id: uuid.UUID, kind: str) -> bytes:
    return f"disclosure-package-{kind}:".encode() + request_id.bytes


def event_detail(req: DisclosureRequest) -> dict[str, Any]:
    """The detail of the event of each step of a request (create, decline, disclose): the
    transparency report counts releases by it, so its keys do not change."""
    return {
        "authority": req.authority_code,
        "agency": req.agency.code,
        "categories": list(req.categories),
        "request_id": str(req.pk),
    }
