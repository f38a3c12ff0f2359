from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from caseledger.access.web import context_for
from caseledger.core.errors import DomainError
from caseledger.core.forms import UswdsForm

from . import selectors, services
from .models import Case, CaseStatus


class TransitionForm(UswdsForm):
    to_status = forms.ChoiceField(label=gettext_lazy("New status"), choices=CaseStatus.choices)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500, required=False)
    row_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


def _person_of(case_id: str) -> uuid.UUID | None:
    """The case's person id (a foreign key, not personal data) to choose the access purpose."""
    try:
        cid = uuid.UUID(case_id)
    except ValueError:
        return None
    return Case.objects.filter(pk=cid).values_list("person_id", flat=True).first()


@login_required
def case_detail(request: HttpRequest, case_id: str) -> HttpResponse:
    ctx = context_for(request, person_id=_person_of(case_id))
    detail = selectors.get_case(ctx=ctx, case_id=case_id)
    form = TransitionForm(initial={"row_version": detail.case.row_version})
    form.fields["to_status"].choices = [(s, CaseStatus(s).label) for s in detail.next_statuses]
    return render(request, "cases/case_detail.html", {"d": detail, "ctx": ctx, "form": form})


@login_required
@require_POST
def case_transition(request: HttpRequest, case_id: str) -> HttpResponse:
    ctx = context_for(request, person_id=_person_of(case_id))
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a new status."))
        return redirect("cases:detail", case_id=case_id)
    try:
        services.transition_case(
            ctx=ctx,
            case_id=case_id,
            to_status=form.cleaned_data["to_status"],
            reason=form.cleaned_data["reason"],
            row_version=form.cleaned_data["row_version"],
        )
    except DomainError as exc:
        if exc.status_code == 404:
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Status changed."))
    return redirect("cases:detail", case_id=case_id)
