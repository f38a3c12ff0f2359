"""Disclosure pages (/disclosures/): the queue, a new request, a request with its decision
(a confirmation step before a release), package and letter downloads, the routine-use
registry, one person's accounting (with correction notices) and the correction log.

Thin: parse, call one service or selector, render. Refusals are shown in the form.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from caseledger.access import policies
from caseledger.access.policies import Ability
from caseledger.access.web import context_for, refuse_page
from caseledger.core import clock
from caseledger.core.errors import DomainError
from caseledger.ledger.vocabulary import Category, record_type_of
from caseledger.people.models import Person

from . import selectors, services
from .categories import label as category_label
from .forms import CorrectionForm, DecisionForm, RequestForm
from .models import DisclosureRequest, RequestStatus

View = Callable[..., HttpResponse]
PER_PAGE = 25
#: The records these pages name, for the event of a refused role (a request's event carries
#: its record id, so a request withheld from its subject stays out of their history).
PAGE_RECORDS = {
    "request_id": (DisclosureRequest, policies.person_path(DisclosureRequest),
                   services.RECORD_TYPE),
    "person_id": (None, "", record_type_of(Person)),
}


def disclosure_page(view: View) -> View:
    """Privacy officers and supervisors; times shown in the viewer's time zone (their office's,
    else the site's), as on every other staff page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not policies.allows(user, Ability.ENTER_DISCLOSURE):
            raise refuse_page(request, kwargs, category=Category.DISCLOSURE, records=PAGE_RECORDS,
                              message="These pages are for privacy officers and supervisors.")
        with timezone.override(clock.zone(user.office.time_zone if user.office_id else None)):
            return view(request, *args, **kwargs)

    return login_required(wrapper)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        return 1


def _paginated(request: HttpRequest, rows: list[Any], total: int) -> Any:
    """A Page object over `total` rows of which `rows` is the current page."""
    number = _page_number(request)
    paginator = Paginator(range(total), PER_PAGE)
    page = paginator.get_page(number)
    page.object_list = rows
    return page


def _form_error(form: Any, exc: DomainError) -> None:
    field = {"letter_base64": "letter"}.get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


@disclosure_page
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    ctx = context_for(request)
    rows, total = selectors.list_requests(ctx, page=_page_number(request), per_page=PER_PAGE)
    return render(
        request,
        "disclosures/queue.html",
        {
            "ctx": ctx,
            "rows": [(r, [category_label(c) for c in r.categories]) for r in rows],
            "page_obj": _paginated(request, rows, total),
        },
    )


@disclosure_page
@require_http_methods(["GET", "POST"])
def new_request(request: HttpRequest) -> HttpResponse:
    ctx = context_for(request)
    form = RequestForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            letter, content_type = form.letter_bytes()
            c = form.cleaned_data
            try:
                req = services.create_request(
                    ctx,
                    services.RequestInput(
                        person=c["person"],
                        agency=c["agency"],
                        official_name=c["official_name"],
                        official_title=c["official_title"],
                        official_rank=c["official_rank"],
                        authority=c["authority"],
                        activity=c["activity"],
                        categories=list(c["categories"]),
                        letter=letter,
                        letter_content_type=content_type,
                        withhold_from_subject=c["withhold_from_subject"],
                    ),
                )
            except DomainError as exc:
                _form_error(form, exc)
                status = exc.status_code
            else:
                messages.success(
                    request, "The request was entered. Another privacy officer decides it."
                )
                return redirect("disclosures:detail", req.pk)
        else:
            status = 422
    return render(request, "disclosures/new.html", {"ctx": ctx, "form": form}, status=status)


@disclosure_page
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, request_id: str) -> HttpResponse:
    ctx = context_for(request)
    req = selectors.get_request(ctx, request_id)
    form = DecisionForm(request.POST or None)
    status = 200
    confirm = False
    if request.method == "POST":
        if form.is_valid():
            c = form.cleaned_data
            if c["decision"] == "approve" and not c["confirmed"]:
                confirm = True  # show what will be released, ask once more
                form = DecisionForm(initial={**c, "confirmed": True})
            else:
                try:
                    services.decide(ctx, req.pk, decision=c["decision"], reason=c["reason"])
                except DomainError as exc:
                    _form_error(form, exc)
                    status = exc.status_code
                else:
                    messages.success(request, "Decision recorded.")
                    return redirect("disclosures:detail", req.pk)
        else:
            status = 422
    deciding = policies.allows(request.user, Ability.DECIDE_DISCLOSURE)
    return render(
        request,
        "disclosures/detail.html",
        {
            "ctx": ctx,
            "req": req,
            "form": form,
            "confirm": confirm,
            "categories": [(c, category_label(c)) for c in req.categories],
            "can_decide": (
                deciding
                and req.entered_by_id != request.user.pk
                and req.status == RequestStatus.PENDING
            ),
            "is_privacy": deciding,
        },
        status=status,
    )


def _download(data: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@disclosure_page
@require_GET
def package(request: HttpRequest, request_id: str, kind: str) -> HttpResponse:
    req, data = selectors.package(context_for(request), request_id, kind)
    content_type = "application/pdf" if kind == "pdf" else "application/json"
    return _download(data, content_type, f"disclosure-{req.pk}.{kind}")


@disclosure_page
@require_GET
def letter(request: HttpRequest, request_id: str) -> HttpResponse:
    req, data = selectors.letter(context_for(request), request_id)
    return _download(data, "application/pdf", f"request-letter-{req.pk}.pdf")


@disclosure_page
@require_GET
def routine_uses(request: HttpRequest) -> HttpResponse:
    uses = [(u, [category_label(c) for c in u.categories]) for u in selectors.routine_uses()]
    return render(request, "disclosures/routine_uses.html", {"uses": uses})


@disclosure_page
@require_http_methods(["GET", "POST"])
def accounting(request: HttpRequest, person_id: str) -> HttpResponse:
    ctx = context_for(request, person_id=person_id)
    form = CorrectionForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                notices = services.notify_prior_recipients(
                    ctx,
                    person_id=person_id,
                    categories=list(form.cleaned_data["categories"]),
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                if exc.status_code == 404:  # recorded once, by the service
                    raise
                _form_error(form, exc)
                status = exc.status_code
            else:
                messages.success(request, f"{len(notices)} earlier recipient(s) notified.")
                return redirect("disclosures:corrections")
        else:
            status = 422
    # The selector parses the id and answers 404 (with a denial event) for anything it may
    # not show; a privacy officer sees the accounting of any person named in a request.
    view = selectors.accounting_for_person(ctx, person_id)
    return render(
        request,
        "disclosures/accounting.html",
        {
            "ctx": ctx,
            "view": view,
            "form": form,
            "entries": [(e, [category_label(c) for c in e.categories]) for e in view.entries],
        },
        status=status,
    )


@disclosure_page
@require_GET
def corrections(request: HttpRequest) -> HttpResponse:
    ctx = context_for(request)
    rows, total = selectors.list_corrections(ctx, page=_page_number(request), per_page=PER_PAGE)
    return render(
        request,
        "disclosures/corrections.html",
        {
            "ctx": ctx,
            "rows": [(n, [category_label(c) for c in n.categories]) for n in rows],
            "page_obj": _paginated(request, rows, total),
        },
    )
