"""Pages and endpoints of the notices app: thin, each calls one service or selector."""

from __future__ import annotations

import hmac
import json

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseledger.access import policies
from caseledger.access.policies import Ability
from caseledger.access.web import context_for, refuse_page
from caseledger.core.errors import DomainError, NotFound
from caseledger.core.forms import UswdsForm
from caseledger.ledger.vocabulary import Category

from . import calendars, selectors, services
from .models import Medium, TemplateKind, TemplateStatus


# --- calendar feeds ------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def calendar_page(request: HttpRequest) -> HttpResponse:
    """Create (or replace) and revoke one's own secret calendar feed."""
    user = request.user
    if not policies.allows(user, Ability.SUBSCRIBE_CALENDAR):
        raise refuse_page(request, {}, category=Category.CALENDAR_FEED,
                          message=_("Calendar feeds are for participants and representatives."))
    feed_url = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "create":
            token = calendars.create_feed(user)
            feed_url = request.build_absolute_uri(
                reverse("notices:calendar_feed", kwargs={"token": token}))
            messages.success(request, _("Your calendar link is ready. Copy it now: it is shown "
                                        "only once."))
        elif action == "revoke":
            calendars.revoke_feed(user)
            messages.success(request, _("Your calendar link no longer works."))
            return redirect("notices:calendar")
    return render(request, "notices/calendar.html",
                  {"feed": calendars.active_feed(user), "feed_url": feed_url})


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The ICS feed: no login (calendar apps cannot log in); the secret URL is the key."""
    try:
        body = calendars.feed_ics(token, request_id=getattr(request, "request_id", ""))
    except NotFound:
        return HttpResponseNotFound("No such calendar.\n", content_type="text/plain")
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["Content-Disposition"] = 'inline; filename="caseledger.ics"'
    return response


# --- opt-out ----------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def opt_out(request: HttpRequest, token: str) -> HttpResponse:
    """The link at the foot of every reminder email: confirm, then no more emails."""
    if request.method == "POST":
        try:
            services.opt_out_by_token(token)
        except NotFound as exc:
            return render(request, "notices/opt_out.html", {"error": exc.message}, status=404)
        return render(request, "notices/opt_out.html", {"done": True})
    return render(request, "notices/opt_out.html", {"token": token})


# --- the SMS gateway's inbound webhook --------------------------------------------------------
def _gateway_authorised(request: HttpRequest) -> bool:
    expected = getattr(settings, "SMS_INBOUND_TOKEN", "") or settings.SMS_GATEWAY_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """POST {"from": "+1...", "text": "STOP"} (JSON, or form fields From/Body) with the
    gateway's bearer token. Answers {"action", "reply"}."""
    if not _gateway_authorised(request):
        return JsonResponse({"error": "not authorised"}, status=403)
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"error": "the body is not JSON"}, status=400)
        if not isinstance(data, dict):
            return JsonResponse({"error": "send a JSON object"}, status=400)
    else:
        data = request.POST
    sender = str(data.get("from") or data.get("From") or "")
    text = str(data.get("text") or data.get("Body") or "")
    if not sender:
        return JsonResponse({"error": "'from' is required"}, status=400)
    try:
        result = services.handle_inbound_sms(sender, text)
    except DomainError as exc:
        return JsonResponse({"error": exc.message}, status=400)
    return JsonResponse({"action": result.action, "reply": result.reply})


# --- alerts and a person's reminders (staff, representatives) ---------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def alerts(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not policies.allows(user, Ability.SEE_REMINDERS):
        raise refuse_page(request, {}, category=Category.NOTICE,
                          message=_("Alerts are for staff and representatives."))
    if request.method == "POST":
        selectors.mark_alert_read(user, request.POST.get("alert", ""))
        return redirect("notices:alerts")
    return render(request, "notices/alerts.html", {"alerts": selectors.my_alerts(user)})


@login_required
def person_reminders(request: HttpRequest, person_id: str) -> HttpResponse:
    if not policies.allows(request.user, Ability.SEE_REMINDERS):
        raise refuse_page(request, {"person_id": person_id}, category=Category.NOTICE,
                          message=_("A person's reminders are for staff and representatives."))
    ctx = context_for(request, person_id=person_id)
    data = selectors.reminders_for_person(ctx=ctx, person_id=person_id)
    return render(request, "notices/person_reminders.html", {"d": data, "ctx": ctx})


# --- templates: drafts and approval -----------------------------------------------------------
class TemplateForm(UswdsForm):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=TemplateKind.choices)
    language = forms.CharField(label=gettext_lazy("Language (two letters)"), max_length=2)
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=Medium.choices)
    subject = forms.CharField(label=gettext_lazy("Subject (email)"), max_length=200,
                              required=False)
    body = forms.CharField(label=gettext_lazy("Text"), widget=forms.Textarea, max_length=5000)


@login_required
@require_http_methods(["GET", "POST"])
def template_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not policies.allows(user, Ability.AUTHOR_NOTICE_TEMPLATE):
        raise refuse_page(request, {}, category=Category.NOTICE_TEMPLATE,
                          message=_("Reminder texts are for privacy officers, supervisors and "
                                    "administrators."))
    form = TemplateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.draft_template(user=user, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, _("Draft saved. A privacy officer must approve it before "
                                        "it is used."))
            return redirect("notices:templates")
    return render(request, "notices/templates.html", {
        "drafts": selectors.templates(status=TemplateStatus.DRAFT),
        "approved": selectors.templates(status=TemplateStatus.APPROVED),
        "form": form,
    })


@login_required
@require_POST
def template_approve(request: HttpRequest, template_id: str) -> HttpResponse:
    try:
        services.approve_template(user=request.user, template_id=template_id,
                                  request_id=getattr(request, "request_id", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Approved: reminders use this text from now on."))
    return redirect("notices:templates")
