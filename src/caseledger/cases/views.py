from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from caseledger.access import policies
from caseledger.access.context import AccessContext, Purpose
from caseledger.access.policies import Ability
from caseledger.access.web import context_for
from caseledger.core.errors import DomainError

from . import selectors, services
from .forms import ConfirmHearingForm, HearingForm, MoveHearingForm, TransitionForm
from .models import Case, CaseStatus, Hearing


def _context(request: HttpRequest, model: type[Case] | type[Hearing], pk: Any) -> AccessContext:
    """The page's access context: the role's ordinary purpose, or break-glass where only the
    user's open break-glass grant reaches the record's person. The record is looked up only
    through the break-glass policy, so nothing is read about a record the user may not see:
    the gated read that follows decides, and records a refusal naming the person."""
    ctx = context_for(request)
    if not policies.allows(request.user, Ability.BREAK_GLASS):
        return ctx
    glass = AccessContext(user=request.user, purpose=Purpose.BREAK_GLASS,
                          request_id=ctx.request_id)
    person_id = selectors.person_within_reach(glass, model, pk)
    return ctx if person_id is None else context_for(request, person_id=person_id)


@login_required
def case_detail(request: HttpRequest, case_id: str) -> HttpResponse:
    ctx = _context(request, Case, case_id)
    detail = selectors.get_case(ctx=ctx, case_id=case_id)
    form = TransitionForm(initial={"row_version": detail.case.row_version})
    form.fields["to_status"].choices = [(s, CaseStatus(s).label) for s in detail.next_statuses]
    return render(
        request,
        "cases/case_detail.html",
        {
            "d": detail,
            "ctx": ctx,
            "form": form,
            "can_edit_hearings": policies.allows(request.user, Ability.EDIT_HEARING),
        },
    )


@login_required
@require_POST
def case_transition(request: HttpRequest, case_id: str) -> HttpResponse:
    ctx = _context(request, Case, case_id)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a new status."))
        return redirect("cases:detail", case_id=case_id)
    try:
        services.transition_case(ctx=ctx, case_id=case_id, data=form.input)
    except DomainError as exc:
        if exc.status_code in (403, 404):  # access refusals: recorded, error page
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Status changed."))
    return redirect("cases:detail", case_id=case_id)


@login_required
def hearing_new(request: HttpRequest, case_id: str) -> HttpResponse:
    ctx = _context(request, Case, case_id)
    detail = selectors.get_case(ctx=ctx, case_id=case_id)
    form = HearingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            hearing = services.schedule_hearing(ctx=ctx, case_id=case_id, data=form.input)
        except DomainError as exc:
            if exc.status_code in (403, 404):  # access refusals: recorded, error page
                raise
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request, _("Hearing scheduled. The person's reminders have been planned.")
            )
            return redirect("cases:hearing", case_id=case_id, hearing_id=hearing.pk)
    return render(
        request,
        "cases/hearing_form.html",
        {"d": detail, "ctx": ctx, "form": form},
        status=422 if form.errors else 200,
    )


@login_required
def hearing_detail(request: HttpRequest, case_id: str, hearing_id: str) -> HttpResponse:
    ctx = _context(request, Hearing, hearing_id)
    detail = selectors.get_hearing(ctx=ctx, hearing_id=hearing_id)
    if str(detail.case.pk) != case_id:
        return redirect("cases:hearing", case_id=detail.case.pk, hearing_id=detail.hearing.pk)
    h = detail.hearing
    form = MoveHearingForm(
        initial={
            "row_version": h.row_version,
            "scheduled_at": h.local_time().strftime("%Y-%m-%dT%H:%M"),
        }
    )
    return render(
        request,
        "cases/hearing_detail.html",
        {
            "d": detail,
            "ctx": ctx,
            "form": form,
            "can_edit": policies.allows(request.user, Ability.EDIT_HEARING),
        },
    )


@login_required
@require_POST
def hearing_move(request: HttpRequest, case_id: str, hearing_id: str) -> HttpResponse:
    ctx = _context(request, Hearing, hearing_id)
    form = MoveHearingForm(request.POST)
    if form.is_valid():
        try:
            services.reschedule_hearing(ctx=ctx, hearing_id=hearing_id, data=form.input)
        except DomainError as exc:
            if exc.status_code in (403, 404):  # access refusals: recorded, error page
                raise
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                _("Hearing moved. The person is told of the new time and reminded again."),
            )
            return redirect("cases:hearing", case_id=case_id, hearing_id=hearing_id)
    detail = selectors.get_hearing(ctx=ctx, hearing_id=hearing_id)
    return render(
        request,
        "cases/hearing_detail.html",
        {"d": detail, "ctx": ctx, "form": form, "can_edit": True},
        status=422,
    )


HEARING_ACTIONS = {
    "adjourn": (
        services.adjourn_hearing,
        gettext_lazy("Adjourn this hearing"),
        gettext_lazy(
            "Use this when the court postponed the hearing and the new date is not known yet. "
            "The person gets a postponement notice instead of reminders for the old date, and "
            "you are alerted until you enter the new date."
        ),
        gettext_lazy("Hearing adjourned. Enter the new date as soon as the court sets it."),
    ),
    "cancel": (
        services.cancel_hearing,
        gettext_lazy("Cancel this hearing"),
        gettext_lazy(
            "The hearing will not take place. Its unsent reminders are cancelled and the "
            "person is told that it is cancelled. This cannot be undone: a new hearing must "
            "be scheduled instead."
        ),
        gettext_lazy("Hearing cancelled. The person has been told."),
    ),
}


@login_required
def hearing_confirm(
    request: HttpRequest, case_id: str, hearing_id: str, action: str
) -> HttpResponse:
    """A confirmation page (GET), then the change (POST): adjourning and cancelling change
    what the person is told, so they are never one click away."""
    if action not in HEARING_ACTIONS:
        raise Http404
    service, title, explanation, done = HEARING_ACTIONS[action]
    ctx = _context(request, Hearing, hearing_id)
    error = ""
    if request.method == "POST":
        form = ConfirmHearingForm(request.POST)
        if form.is_valid():
            try:
                service(ctx=ctx, hearing_id=hearing_id, row_version=form.input)
            except DomainError as exc:
                if exc.status_code in (403, 404):  # access refusals: recorded, error page
                    raise
                error = exc.message
            else:
                messages.success(request, done)
                return redirect("cases:hearing", case_id=case_id, hearing_id=hearing_id)
        else:
            error = _("The form was incomplete; reload the page and try again.")
    detail = selectors.get_hearing(ctx=ctx, hearing_id=hearing_id)
    return render(
        request,
        "cases/hearing_confirm.html",
        {
            "d": detail,
            "ctx": ctx,
            "action": action,
            "title": title,
            "explanation": explanation,
            "error": error,
        },
        status=409 if error else 200,
    )
