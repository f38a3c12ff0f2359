"""Pages of "My record" (participants and representatives) and the amendment queue (staff).

Thin: parse, call one service or selector, render. Participant pages speak the
participant's language (the language switch, else their preferred language) and show times in
their office's time zone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from caseledger.access import policies
from caseledger.access.policies import Ability, Scope
from caseledger.access.web import context_for, refuse_page
from caseledger.core import clock
from caseledger.core.errors import DomainError, ValidationError
from caseledger.core.pdf import render_pdf
from caseledger.ledger.vocabulary import Category

from . import labels, selectors, services
from .export import in_words
from .forms import AmendmentForm, DecisionForm, StatementForm
from .models import AmendmentCategory, AmendmentRequest

View = Callable[..., HttpResponse]
#: The record a staff page names, for the event of a refused role.
STAFF_RECORDS = {
    "request_id": (AmendmentRequest, policies.person_path(AmendmentRequest), selectors.RECORD_TYPE)
}


def _is_the_person(user: Any) -> bool:
    """The participant themself (their own record, in their language), not someone acting
    for them or about them."""
    return policies.scope(user) is Scope.SELF


def _form_error(form: Any, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def record_page(view: View) -> View:
    """Participants and representatives. A participant's page is in their language and their
    office's time; a refusal is shown in plain words on the participant's error page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        from caseledger.supervision.participant_web import as_participant

        user = request.user
        if not _is_the_person(user):
            with timezone.override(clock.zone(user.office.time_zone if user.office_id else None)):
                return view(request, *args, **kwargs)
        return as_participant(request, view, *args, **kwargs)

    return login_required(wrapper)


def staff_page(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not policies.allows(user, Ability.SEE_AMENDMENTS_AS_STAFF):
            raise refuse_page(
                request, kwargs, category=Category.AMENDMENT, records=STAFF_RECORDS,
                message=_("These pages are for privacy officers, case officers and supervisors."),
            )
        with timezone.override(clock.zone(user.office.time_zone if user.office_id else None)):
            return view(request, *args, **kwargs)

    return login_required(wrapper)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 100_000))
    except ValueError:
        return 1


# --- My record --------------------------------------------------------------------------------
@record_page
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """A participant's own record; a representative's list of clients to choose from."""
    ctx = context_for(request)
    if policies.scope(request.user) is Scope.REPRESENTED:
        return render(request, "record/clients.html", {"clients": selectors.my_clients(ctx=ctx)})
    return _record(request, None)


@record_page
@require_GET
def person_record(request: HttpRequest, person_id: str) -> HttpResponse:
    return _record(request, person_id)


def _record(request: HttpRequest, person_id: str | None) -> HttpResponse:
    ctx = context_for(request)
    record = selectors.my_record(ctx, person_id, page=_page_number(request))
    accesses = record.accesses
    page_obj = Paginator(range(accesses.total), accesses.per_page).get_page(accesses.page)
    return render(
        request,
        "record/record.html",
        {
            "r": record,
            "page_obj": page_obj,
            "accesses": labels.access_rows(accesses.rows),
            "disclosures": labels.disclosure_rows(record.accounting.entries),
            "deletions": labels.deletion_rows(record.deletions),
            "person_id": None if _is_the_person(request.user) else record.person.pk,
        },
    )


@record_page
@require_GET
def export(request: HttpRequest, fmt: str, person_id: str | None = None) -> HttpResponse:
    """The whole record as JSON or PDF (the same content); the export is a ledger event."""
    ctx = context_for(request)
    document = selectors.export_record(ctx, person_id, fmt=fmt)
    name = f"my-record-{document['generated_at'][:10]}"
    if fmt == "json":
        response = HttpResponse(
            json.dumps(document, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
    else:
        response = HttpResponse(
            render_pdf(
                "record/export_pdf.html",
                {"d": in_words(document), "LANGUAGE_CODE": translation.get_language()},
            ),
            content_type="application/pdf",
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response["Cache-Control"] = "private, no-store"
    return response


@record_page
@require_http_methods(["GET", "POST"])
def amendment_new(request: HttpRequest, person_id: str | None = None) -> HttpResponse:
    ctx = context_for(request)
    person = selectors.record_person(ctx, person_id)
    form = AmendmentForm(request.POST or None, initial={"category": request.GET.get("part", "")})
    if request.method == "POST" and form.is_valid():
        try:
            services.request_amendment(ctx=ctx, person_id=person.pk, **form.cleaned_data)
        except DomainError as exc:
            if exc.status_code in (403, 404):  # access refusals: recorded once
                raise
            _form_error(form, exc)
        else:
            messages.success(
                request,
                _(
                    "We received your request. We will tell you within "
                    "10 working days that we are looking at it, and decide "
                    "within 30 working days."
                ),
            )
            return _back_to_record(request, person_id)
    return render(
        request,
        "record/amendment_form.html",
        {"form": form, "person_id": person_id, "person": person},
        status=422 if form.errors else 200,
    )


def _back_to_record(request: HttpRequest, person_id: str | None) -> HttpResponse:
    if person_id and not _is_the_person(request.user):
        return redirect("record:person", person_id=person_id)
    return redirect("record:home")


@record_page
@require_http_methods(["GET", "POST"])
def statement_new(request: HttpRequest, request_id: str) -> HttpResponse:
    """A statement of disagreement with a refused request: written, checked, then filed."""
    ctx = context_for(request)
    detail = selectors.get_amendment(ctx=ctx, request_id=request_id)
    form = StatementForm(request.POST or None)
    confirming = False
    if request.method == "POST" and form.is_valid():
        if request.POST.get("confirmed") == "yes":
            try:
                services.file_statement(
                    ctx=ctx, request_id=request_id, text=form.cleaned_data["text"]
                )
            except DomainError as exc:
                if exc.status_code in (403, 404):  # access refusals: recorded once
                    raise
                _form_error(form, exc)
            else:
                messages.success(request, _("Your statement is now part of your record."))
                return _back_to_record(request, str(detail.request.person_id))
        else:
            confirming = True
    return render(
        request,
        "record/statement_form.html",
        {"form": form, "d": detail, "confirming": confirming},
        status=422 if form.errors else 200,
    )


# --- staff: the amendment queue ---------------------------------------------------------------
@staff_page
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    ctx = context_for(request)
    rows, total = selectors.amendment_queue(ctx=ctx, page=_page_number(request))
    page_obj = Paginator(range(total), 25).get_page(_page_number(request))
    corrections = selectors.corrections_to_make(ctx=ctx)
    return render(
        request,
        "record/queue.html",
        {"rows": rows, "total": total, "page_obj": page_obj, "corrections": corrections},
    )


@staff_page
@require_http_methods(["GET", "POST"])
def amendment_detail(request: HttpRequest, request_id: str) -> HttpResponse:
    """One request: acknowledge it, decide it (after a confirmation step), or report the
    granted correction made."""
    ctx = context_for(request)
    form = (
        DecisionForm(request.POST or None)
        if request.POST.get("step") == "decide"
        else DecisionForm()
    )
    confirming = False
    status = 200
    if request.method == "POST":
        step = request.POST.get("step")
        try:
            if step == "acknowledge":
                services.acknowledge_amendment(ctx=ctx, request_id=request_id)
                messages.success(request, _("Acknowledged. The requester sees it on their record."))
                return redirect("record:amendment", request_id=request_id)
            if step == "corrected":
                services.mark_corrected(ctx=ctx, request_id=request_id)
                messages.success(request, _("Recorded: the correction is made."))
                return redirect("record:amendment", request_id=request_id)
            if step == "decide" and form.is_valid():
                if request.POST.get("confirmed") == "yes":
                    services.decide_amendment(ctx=ctx, request_id=request_id, **form.cleaned_data)
                    messages.success(request, _("Decision recorded."))
                    return redirect("record:amendment", request_id=request_id)
                confirming = True
        except ValidationError as exc:
            _form_error(form, exc)
        except DomainError as exc:
            if exc.status_code in (403, 404):  # access refusals: recorded once, error page
                raise
            messages.error(request, exc.message)
            status = exc.status_code
    detail = selectors.get_amendment(ctx=ctx, request_id=request_id)
    return render(
        request,
        "record/amendment_detail.html",
        {
            "d": detail,
            "form": form,
            "confirming": confirming,
            "can_decide": policies.allows(request.user, Ability.DECIDE_AMENDMENT),
            "categories": dict(AmendmentCategory.choices),
        },
        status=422 if form.errors else status,
    )
