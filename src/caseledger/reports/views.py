"""Pages of the reports app: thin, each calls one service or selector."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from caseledger.access import policies
from caseledger.access.web import context_for, refuse_page
from caseledger.core.errors import DomainError
from caseledger.core.forms import UswdsForm
from caseledger.ledger.vocabulary import Category

from . import charts, field, rendering, selectors, services
from .models import FindingOutcome

PER_PAGE = 25


def _page(request: HttpRequest, qs, per_page: int = PER_PAGE):  # type: ignore[no-untyped-def]
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


class FindingForm(UswdsForm):
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"), choices=FindingOutcome.choices, widget=forms.RadioSelect
    )
    finding = forms.CharField(
        label=gettext_lazy("Finding"),
        widget=forms.Textarea(attrs={"rows": 5}),
        min_length=services.FINDING_MIN,
        max_length=services.FINDING_MAX,
        help_text=gettext_lazy("What you found, and why the access was or was not justified."),
    )


class BuildForm(UswdsForm):
    week = forms.CharField(
        label=gettext_lazy("ISO week"),
        max_length=8,
        help_text=gettext_lazy("For example 2026-W47. Only a week that has ended can be built."),
    )


class HouseholdForm(UswdsForm):
    full_name = forms.CharField(label=gettext_lazy("Full name"), max_length=services.NAME_MAX)
    relationship = forms.ChoiceField(
        label=gettext_lazy("Relationship"),
        choices=[("", "-")] + [(r, r.title()) for r in services.RELATIONSHIPS],
        required=False,
    )


# --- anomaly review (privacy officers) --------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def anomaly_list(request: HttpRequest) -> HttpResponse:
    ctx = context_for(request)
    reports = selectors.anomaly_reports(ctx)
    form = BuildForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.build_anomaly_report(form.cleaned_data["week"], ctx=ctx)
        except DomainError as exc:
            form.add_error("week" if exc.field == "week" else None, exc.message)
        else:
            if result.created:
                messages.success(request, _("The report was built."))
            else:
                messages.info(request, _("That week's report had already been built."))
            return redirect("reports:anomaly_report", week=result.report.week)
    return render(
        request, "reports/anomaly_list.html", {"page_obj": _page(request, reports), "form": form}
    )


@login_required
@require_GET
def anomaly_report(request: HttpRequest, week: str) -> HttpResponse:
    ctx = context_for(request)
    report = selectors.get_report(ctx, week)
    status = request.GET.get("status", "")
    items = selectors.report_items(ctx, report, status=status)
    return render(
        request,
        "reports/anomaly_report.html",
        {"report": report, "page_obj": _page(request, items), "status": status},
    )


@login_required
@require_http_methods(["GET", "POST"])
def anomaly_item(request: HttpRequest, item_id: str) -> HttpResponse:
    """The item and its events; the finding form posts to itself, then a confirmation step."""
    ctx = context_for(request)
    confirming = False
    form = FindingForm(request.POST or None)
    if request.method == "POST":
        item = selectors.get_item(ctx, item_id, record=False)
        if form.is_valid():
            if request.POST.get("confirm") == "yes":
                try:
                    services.close_item(
                        ctx=ctx,
                        item_id=item.pk,
                        finding=form.cleaned_data["finding"],
                        outcome=form.cleaned_data["outcome"],
                        row_version=_int(request.POST.get("row_version")),
                    )
                except DomainError as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                else:
                    messages.success(request, _("The item is closed with your finding."))
                    return redirect("reports:anomaly_item", item_id=item.pk)
            else:
                confirming = True
    else:
        item = selectors.get_item(ctx, item_id)
    events = selectors.item_events(ctx, item)
    return render(
        request,
        "reports/anomaly_item.html",
        {
            "item": item,
            "page_obj": _page(request, events),
            "form": form,
            "confirming": confirming,
            "outcome_label": dict(FindingOutcome.choices).get(form.data.get("outcome", ""), ""),
        },
    )


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
@require_GET
def event_detail(request: HttpRequest, event_id: str) -> HttpResponse:
    ctx = context_for(request)
    event = selectors.get_event(ctx, event_id)
    return render(
        request,
        "reports/event_detail.html",
        {"event": event, "leaf_hash": bytes(event.leaf_hash).hex()},
    )


# --- household declarations (every staff member, their own) -----------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def household(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not policies.is_staff(user):
        raise refuse_page(request, {}, category=Category.HOUSEHOLD,
                          message=_("Only staff members declare household members."))
    form = HouseholdForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.declare_household_member(
                user=user, request_id=getattr(request, "request_id", ""), **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Declared."))
            return redirect("reports:household")
    return render(
        request, "reports/household.html", {"members": selectors.my_household(user), "form": form}
    )


@login_required
@require_http_methods(["GET", "POST"])
def household_remove(request: HttpRequest, member_id: str) -> HttpResponse:
    """Confirm, then withdraw one of one's own declarations."""
    if request.method == "GET":
        member = services.own_declaration(
            request.user, member_id, request_id=getattr(request, "request_id", "")
        )
        return render(request, "reports/household_remove.html", {"member": member})
    services.remove_household_member(
        user=request.user, member_id=member_id, request_id=getattr(request, "request_id", "")
    )
    messages.success(request, _("The declaration was withdrawn."))
    return redirect("reports:household")


# --- transparency report (staff) ---------------------------------------------------------------
@login_required
@require_GET
def transparency_page(request: HttpRequest) -> HttpResponse:
    from caseledger.core import clock

    ctx = context_for(request)
    selectors.require_staff(ctx)
    today = clock.today()
    default = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    period = request.GET.get("period", "").strip() or default
    fmt = request.GET.get("format", "html")
    try:
        data = selectors.transparency_report(ctx, period)
    except DomainError as exc:
        return render(
            request,
            "reports/transparency_error.html",
            {"error": exc.message, "period": period[:40]},
            status=exc.status_code,
        )
    if fmt in ("pdf", "json"):
        body = rendering.render(data, fmt)
        kind = "application/pdf" if fmt == "pdf" else "application/json"
        response = HttpResponse(body, content_type=kind)
        name = f"transparency-{data.report['period']}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return render(
        request,
        "reports/transparency.html",
        {
            "data": data,
            "period": data.report["period"],
            "headline": data.headline,
            "tables": rendering.with_charts(data.tables),
            "threshold": rendering.transparency.SUPPRESSION_THRESHOLD,
            "suppressed": rendering.transparency.SUPPRESSED,
            "withheld": rendering.transparency.WITHHELD,
        },
    )


# --- the verifier's record in the field (supervisors, privacy officers) ------------------------
@login_required
@require_GET
def field_page(request: HttpRequest) -> HttpResponse:
    """The field report of a period and office, in words, tables and a chart per breakdown."""
    from caseledger.core import clock

    ctx = context_for(request)
    today = clock.today()
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    period = request.GET.get("period", "").strip()[:40] or quarter
    office = request.GET.get("office", "").strip()[:40]
    try:
        report = field.field_report(ctx, period, office)
    except DomainError as exc:
        if exc.status_code == 403:
            raise
        return render(request, "reports/field_error.html",
                      {"error": exc.message, "period": period, "office": office},
                      status=exc.status_code)
    if request.GET.get("format") == "json":
        response = HttpResponse(field.to_json(report), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="field-{report["period"]}.json"'
        return response
    sections = [
        {**s, "rows": field.device_rows(s),
         "tables": [{**t, "svg": mark_safe(charts.bar_chart(f"chart-{t['id']}", t["title"],  # noqa: S308
                                                              t["rows"]))}
                    for t in field.tables(s)]}
        for s in report["offices"]
    ]
    return render(request, "reports/field.html", {
        "report": report, "sections": sections, "period": report["period"], "office": office,
        "threshold": field.transparency.SUPPRESSION_THRESHOLD,
        "suppressed": field.transparency.SUPPRESSED, "withheld": field.transparency.WITHHELD,
    })
