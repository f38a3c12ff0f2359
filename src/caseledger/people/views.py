"""Pages for persons: dashboard, search, person page, create/edit, break-glass, and the
participant's own change of address (routed under /me/ by the portal's URL conf, which wraps
those two views in the participant-page decorator: views are not imported across apps)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from caseledger.access import policies
from caseledger.access.gate import grant_break_glass
from caseledger.access.policies import Ability, Scope
from caseledger.access.web import active_grant, context_for, refuse_page
from caseledger.cases import selectors as case_selectors
from caseledger.cases import services as case_services
from caseledger.core import clock
from caseledger.core.errors import DomainError
from caseledger.ledger.vocabulary import Action, Category, Purpose
from caseledger.supervision import selectors as supervision_selectors

from . import selectors, services
from .forms import AddressForm, BreakGlassForm, OpenCaseForm, PersonForm, ReportAddressForm
from .inputs import PersonPatch

PER_PAGE = 25


def _reraise_access_refusal(exc: Exception) -> None:
    """A refusal of access (403 role, 404 not visible) is recorded by the service and shown as
    the error page; other refusals are shown in the form."""
    if isinstance(exc, DomainError) and exc.status_code in (403, 404):
        raise exc


def _form_error(form, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


def _deadlines_wanted_in_full(request: HttpRequest) -> bool:
    return request.GET.get("deadlines") == "all"


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if policies.scope(request.user) is Scope.SELF:  # a participant's home is the portal
        return redirect("portal:home")
    ctx = context_for(request)
    try:  # as the API: 1 to 10,000 (a deeper page is a search's job)
        page = min(max(1, int(request.GET.get("page", "1"))), 10_000)
    except ValueError:
        page = 1
    rows, total = selectors.list_caseload(ctx=ctx, page=page, per_page=PER_PAGE)
    paginator = Paginator(range(total), PER_PAGE)
    return render(
        request,
        "people/dashboard.html",
        {
            "rows": rows,
            "total": total,
            "deadlines": case_selectors.deadline_board(
                ctx=ctx, show_all=_deadlines_wanted_in_full(request)
            ),
            "ctx": ctx,
            "page_obj": paginator.get_page(page) if total else None,
            "office_wide": policies.scope(request.user) is Scope.OFFICE,
            "can_create": policies.allows(request.user, Ability.EDIT_PERSON),
        },
    )


@login_required
def search(request: HttpRequest) -> HttpResponse:
    ctx = context_for(request)
    query = request.GET.get("q", "").strip()
    results = selectors.search_persons(ctx=ctx, query=query) if query else []
    template = "people/_results.html" if request.headers.get("HX-Request") else "people/search.html"
    return render(request, template, {"query": query, "results": results, "ctx": ctx})


@dataclass(frozen=True)
class SupervisionPanel:
    """What the person page shows of an active enrolment (read by the supervision selector)."""

    page: Any  # supervision.selectors.EnrolmentPage
    window_open: bool
    window: tuple[Any, Any, Any]  # the open window, or the next one: (opens, closes, until)

    @property
    def enrolment(self) -> Any:
        return self.page.enrolment

    @property
    def last_checkins(self) -> list[Any]:
        return self.page.checkins[:3]

    @property
    def open_reviews(self) -> list[Any]:
        return [r for r in self.page.reviews if not r.disposition]

    @property
    def pending_changes(self) -> list[Any]:
        return [c for c in self.page.changes if c.decision == "pending"]


def _supervision_panel(ctx: Any, enrolment_id: Any) -> SupervisionPanel | None:
    if enrolment_id is None:
        return None
    page = supervision_selectors.get_enrolment(ctx=ctx, enrolment_id=enrolment_id)
    schedule = getattr(page.enrolment, "schedule", None)
    if schedule is None:
        return None
    now = clock.now()
    current = schedule.current_window(now)
    return SupervisionPanel(page, current is not None, current or schedule.next_window(now))


@login_required
def person_detail(request: HttpRequest, person_id: str) -> HttpResponse:
    ctx = context_for(request, person_id=person_id)
    detail = selectors.get_person(ctx=ctx, person_id=person_id)
    # The supervision panel and the offer to enrol are for those who supervise: the
    # enrolment is looked up through the policy, and read (and recorded) by the supervision
    # selector only when there is one.
    enrolment_id = selectors.active_enrolment_id(ctx=ctx, person_id=detail.person.pk)
    return render(
        request,
        "people/person_detail.html",
        {
            "d": detail,
            "ctx": ctx,
            "timeline": selectors.person_timeline(detail),
            "supervision": _supervision_panel(ctx, enrolment_id),
            "now": clock.now(),
            "can_enrol": enrolment_id is None
            and policies.allows(request.user, Ability.SUPERVISE),
            "grant": active_grant(request, person_id)
            if ctx.purpose == Purpose.BREAK_GLASS else None,
        },
    )


def _written_form(name: Any) -> str:
    """The 'as written' name only when it differs from given + family names, so that editing
    the parts changes the name instead of being overridden by the old written form."""
    if name is None:
        return ""
    joined = " ".join(p for p in (name.given_names, name.family_names) if p)
    return "" if name.full_name == joined else name.full_name


@login_required
@require_http_methods(["GET", "POST"])
def person_create(request: HttpRequest) -> HttpResponse:
    ctx = context_for(request)
    # The address part is optional: bind it only when something was typed into it, so an
    # error elsewhere does not make the empty address section show errors of its own.
    wants_address = any(
        request.POST.get(f"address-{name}", "").strip()
        for name in ("line1", "line2", "city", "region", "postal_code")
    )
    address_form = AddressForm(request.POST if wants_address else None, prefix="address")
    address_ok = not wants_address or address_form.is_valid()
    form = PersonForm(
        request.POST or None,
        extra={"address": address_form.input} if wants_address and address_ok else None,
    )
    if request.method == "POST" and form.is_valid() and address_ok:
        try:
            person = services.create_person(ctx=ctx, data=form.input)
        except DomainError as exc:
            _reraise_access_refusal(exc)
            _form_error(form, exc)
        else:
            messages.success(request, _("Person record created."))
            return redirect("people:detail", person_id=person.pk)
    return render(
        request,
        "people/person_form.html",
        {"form": form, "address_form": address_form, "creating": True, "ctx": ctx},
        status=422 if form.errors or (wants_address and address_form.errors) else 200,
    )


def _version(value: Any) -> int | None:
    """The row version the edit form was made from; None if it is not a number."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@login_required
@require_http_methods(["GET", "POST"])
def person_edit(request: HttpRequest, person_id: str) -> HttpResponse:
    ctx = context_for(request, person_id=person_id)
    detail = selectors.get_person(ctx=ctx, person_id=person_id)
    p, name = detail.person, detail.primary_name
    initial = {
        "given_names": name.given_names if name else "",
        "family_names": name.family_names if name else "",
        "full_name": _written_form(name),
        "date_of_birth": p.date_of_birth,
        "a_number": p.a_number or "",
        "citizenship": ", ".join(p.citizenship),
        "languages": ", ".join(p.languages),
        "interpreter_needed": p.interpreter_needed,
    }
    version = request.POST.get("row_version", p.row_version)
    number = _version(version)
    if number is None:  # not the version this page wrote: check the fields, say it is stale
        form = PersonForm(request.POST, initial=initial)
        form.is_valid()
        form.add_error(None, _("The form is out of date; reload it."))
    else:
        form = PersonForm(request.POST or None, initial=initial, input_model=PersonPatch,
                          extra={"row_version": number})
    if number is not None and request.method == "POST" and form.is_valid():
        data = form.input
        if (
            name
            and data.name.full_name == name.full_name
            and (data.name.given_names, data.name.family_names)
            != (name.given_names, name.family_names)
        ):
            data.name.full_name = ""  # the parts changed: the written form follows them
        try:
            services.update_person(ctx=ctx, person_id=p.pk, data=data)
        except DomainError as exc:
            _reraise_access_refusal(exc)
            _form_error(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("people:detail", person_id=p.pk)
    return render(
        request,
        "people/person_form.html",
        {"form": form, "creating": False, "d": detail, "ctx": ctx, "row_version": version},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def address_add(request: HttpRequest, person_id: str) -> HttpResponse:
    ctx = context_for(request, person_id=person_id)
    detail = selectors.get_person(ctx=ctx, person_id=person_id)
    form = AddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.record_address(ctx=ctx, person_id=detail.person.pk, data=form.input)
        except DomainError as exc:
            _reraise_access_refusal(exc)
            _form_error(form, exc)
        else:
            messages.success(
                request, _("New address of record saved; the previous one is kept in the history.")
            )
            return redirect("people:detail", person_id=detail.person.pk)
    return render(
        request,
        "people/address_form.html",
        {"form": form, "d": detail, "ctx": ctx},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_open(request: HttpRequest, person_id: str) -> HttpResponse:
    ctx = context_for(request, person_id=person_id)
    detail = selectors.get_person(ctx=ctx, person_id=person_id)
    form = OpenCaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = case_services.open_case(ctx=ctx, person_id=detail.person.pk, data=form.input)
        except DomainError as exc:
            _reraise_access_refusal(exc)
            _form_error(form, exc)
        else:
            messages.success(request, _("Case opened."))
            return redirect("cases:detail", case_id=case.pk)
    return render(
        request,
        "people/case_form.html",
        {"form": form, "d": detail, "ctx": ctx},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def break_glass(request: HttpRequest, person_id: str) -> HttpResponse:
    if not policies.allows(request.user, Ability.BREAK_GLASS):
        raise refuse_page(request, {"person_id": person_id}, category=Category.ACCESS,
                          action=Action.BREAK_GLASS,
                          message=_("Your role cannot use emergency access."))
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            grant_break_glass(
                user=request.user,
                person_id=person_id,
                reason=form.cleaned_data["reason"],
                request_id=getattr(request, "request_id", ""),
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            return redirect(reverse("people:detail", kwargs={"person_id": person_id}))
    return render(
        request,
        "access/break_glass.html",
        {"form": form, "person_id": person_id},
        status=422 if form.errors else 200,
    )


# --- the participant reports their own change of address (portal, /me/address/) --------------
# Routed by supervision/portal_urls.py inside its `participant_page` (participants only, in
# their language and office time); `record_address` and the gate refuse anyone else anyway.
@login_required
@require_http_methods(["GET", "POST"])
def portal_address(request: HttpRequest) -> HttpResponse:
    ctx = context_for(request)
    person_id = selectors.own_person_id(ctx)
    form = ReportAddressForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            address = services.record_address(ctx=ctx, person_id=person_id, data=form.input)
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            _form_error(form, exc)
        else:
            return redirect("portal:address_receipt", address_id=address.pk)
    current = selectors.address_of_record(ctx=ctx, person_id=person_id)
    return render(
        request,
        "portal/address.html",
        {"form": form, "current": current},
        status=422 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET"])
def portal_address_receipt(request: HttpRequest, address_id: str) -> HttpResponse:
    ctx = context_for(request)
    receipt = selectors.address_receipt(ctx=ctx, address_id=address_id)
    return render(request, "portal/address_receipt.html", {"receipt": receipt})
