"""Retention pages (privacy officers): schedules, legal holds, certificates, dry-run preview."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from caseledger.access.context import AccessContext
from caseledger.access.web import context_for
from caseledger.core.errors import DomainError
from caseledger.core.forms import UswdsForm
from caseledger.ledger.vocabulary import Action, record_type_of

from . import selectors, services
from .classes import NOT_PURGED
from .models import DataClass, DeletionCertificate, LegalHold, Schedule

PER_PAGE = 25


def _privacy_officer(request: HttpRequest, **record: Any) -> AccessContext:
    """The page's context, for a privacy officer; anyone else: one denied event and 403."""
    ctx = context_for(request)
    action = Action.READ if request.method in ("GET", "HEAD") else Action.UPDATE
    selectors.require_privacy_officer(ctx, action=action, **record)
    return ctx


def _holdable_choices() -> list[tuple[str, str]]:
    return [("", gettext_lazy("Every data class"))] + [
        (value, label)
        for value, label in DataClass.choices
        if value not in NOT_PURGED and value != DataClass.IMPORT_QUARANTINE
    ]


class HoldForm(UswdsForm):
    person = forms.UUIDField(
        label=gettext_lazy("Person id"),
        help_text=gettext_lazy("The id of one person (shown on the person's page)."),
    )
    data_class = forms.ChoiceField(
        label=gettext_lazy("Data class"), choices=_holdable_choices, required=False
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for the hold"),
        help_text=gettext_lazy("For example the litigation or request it serves."),
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=services.MIN_REASON,
        max_length=2000,
    )


class ReleaseForm(UswdsForm):
    reason = forms.CharField(
        label=gettext_lazy("Reason for the release"),
        widget=forms.Textarea(attrs={"rows": 3}),
        min_length=services.MIN_REASON,
        max_length=2000,
    )


@login_required
@require_GET
def schedules(request: HttpRequest) -> HttpResponse:
    rows = selectors.schedules(_privacy_officer(request, record_type=record_type_of(Schedule)))
    return render(request, "retention/schedules.html", {"schedules": rows})


@login_required
@require_http_methods(["GET", "POST"])
def holds(request: HttpRequest) -> HttpResponse:
    ctx = _privacy_officer(request, record_type=record_type_of(LegalHold))
    form = HoldForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.place_hold(
                ctx=ctx,
                person_id=form.cleaned_data["person"],
                reason=form.cleaned_data["reason"],
                data_class=form.cleaned_data["data_class"],
            )
        except DomainError as exc:
            field = {"person": "person", "data_class": "data_class", "reason": "reason"}.get(
                exc.field or ""
            )
            form.add_error(field, exc.message)
        else:
            messages.success(request, _("The legal hold is in force."))
            return redirect("retention:holds")
    status = 422 if request.method == "POST" else 200
    return render(
        request,
        "retention/holds.html",
        {"holds": selectors.holds(ctx), "form": form},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def release(request: HttpRequest, hold_id: str) -> HttpResponse:
    """Releasing is a confirmation step: the page states what falls due again."""
    ctx = _privacy_officer(request, record_type=record_type_of(LegalHold), record_id=hold_id,
                           hold_id=hold_id)
    hold = selectors.hold(ctx, hold_id)
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.release_hold(ctx=ctx, hold_id=hold.pk, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("The legal hold was released."))
            return redirect("retention:holds")
    status = 422 if request.method == "POST" else 200
    return render(request, "retention/release.html", {"hold": hold, "form": form}, status=status)


@login_required
@require_GET
def certificates(request: HttpRequest) -> HttpResponse:
    qs = selectors.certificates(
        _privacy_officer(request, record_type=record_type_of(DeletionCertificate))
    )
    page_obj = Paginator(qs, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "retention/certificates.html", {"page_obj": page_obj})


@login_required
@require_GET
def certificate(request: HttpRequest, certificate_id: str) -> HttpResponse:
    ctx = _privacy_officer(request, record_type=record_type_of(DeletionCertificate),
                           record_id=certificate_id)
    cert, persons = selectors.certificate(ctx, certificate_id)
    return render(request, "retention/certificate.html", {"c": cert, "persons": persons})


@login_required
@require_GET
def preview(request: HttpRequest) -> HttpResponse:
    ctx = _privacy_officer(request, record_type=record_type_of(Schedule))
    result = services.run_purge(ctx, dry_run=True)  # what a purge would delete now: no writes
    labels = dict(DataClass.choices)
    rows = [(code, labels[code], r) for code, r in result.classes.items()]
    return render(request, "retention/preview.html", {"result": result, "rows": rows})
