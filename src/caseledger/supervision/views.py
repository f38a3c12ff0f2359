"""Supervision pages.

Participant (portal, /me/): their check-in status and the check-in itself, in their language.
Staff (/supervision/): dashboard with the weekly outcome chart, the review queue and review
decisions, enrolment, the enrolment page (level change, end, departure), pending changes.

Thin: parse, call one service or selector, render. A refusal (DomainError) is shown in the
form with its status code.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseledger.access import policies
from caseledger.access.policies import Ability
from caseledger.access.web import context_for, refuse_page
from caseledger.biometrics import images, liveness
from caseledger.biometrics.verifier import PHOTO_PROBLEMS
from caseledger.cases import selectors as case_selectors
from caseledger.core import clock
from caseledger.core.errors import DomainError, NotFound, RateLimited
from caseledger.ledger.vocabulary import Category, record_type_of
from caseledger.people import selectors as people_selectors
from caseledger.people.models import Address, Person

from . import charts, consent, review_words, selectors, services
from .forms import (
    ALTERNATIVE_LABELS,
    BurstForm,
    CheckInForm,
    DecideChangeForm,
    DepartureForm,
    DispositionForm,
    EnrolForm,
    ProposeChangeForm,
    read_frames,
    read_upload,
)
from .models import (
    Enrolment,
    EnrolmentStatus,
    Review,
)
from .participant_web import as_participant, participant_language

View = Callable[..., HttpResponse]
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


def _form_error(form: Any, exc: DomainError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# --- participant ------------------------------------------------------------------------------
#: The record a participant page names (their address receipt), for a refused role's event.
PORTAL_RECORDS = {
    "address_id": (Address, policies.person_path(Address), record_type_of(Address)),
}


def participant_page(view: View) -> View:
    """Participants only; the page speaks their language and shows their office's time."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not policies.allows(request.user, Ability.CHECK_IN):
            with translation.override(participant_language(request)):
                raise refuse_page(request, kwargs, category=Category.SUPERVISION,
                                  records=PORTAL_RECORDS,
                                  message=_("This page is for people who check in."))
        return as_participant(request, view, *args, **kwargs)

    return login_required(wrapper)


@participant_page
@require_GET
def portal_home(request: HttpRequest) -> HttpResponse:
    ctx = context_for(request)
    state = selectors.participant_state(ctx=ctx)
    obligations = case_selectors.my_obligations(ctx=ctx)
    return render(request, "portal/home.html", {"s": state, "obligations": obligations})


def _state_after(request: HttpRequest) -> selectors.ParticipantState | None:
    """The participant's state after a check-in was stored or refused (None when the refusal
    was that they have no schedule)."""
    try:
        return selectors.participant_state(ctx=context_for(request))
    except NotFound:
        return None


#: Refusals of a burst after which recording it again can help (a new challenge each time).
BURST_PROBLEMS = frozenset({
    liveness.NO_FRAMES, liveness.TOO_MANY_FRAMES, liveness.FRAME_TOO_LARGE, liveness.BAD_FRAME,
    liveness.TOO_FEW_FACES, liveness.KEY_FRAME_PROBLEM, liveness.MOTION_UNCLEAR,
    "challenge_expired", "challenge_used", "challenge_unknown", "liveness_required",
})
# Refusals after which trying again right away can help; for the others the form is not shown.
RETRYABLE = frozenset({*PHOTO_PROBLEMS, *BURST_PROBLEMS, "bad_location", "bad_submission"})


def _next_step(code: str) -> str:
    if code == "bad_location":
        return _(
            "Allow this site to use your location (in your browser's settings), "
            "then press “Send check-in” again."
        )
    if code in BURST_PROBLEMS:
        return _("Press “Start” again and follow the words on the screen.")
    if code in PHOTO_PROBLEMS:
        return _("Take a new photo and press “Send check-in” again.")
    if code in {"replay", "already_checked_in"}:
        return _("You do not need to do anything else.")
    if code == "attempts_used":
        return _("Do not try again. Your officer will contact you.")
    if code == "outside_window":
        return _("Come back when your check-in opens.")
    if code in {"rate_limited", "rate_limited_address"}:
        return _("Wait as long as it says above, then open the check-in page again.")
    return _("Please try again. If it keeps failing, call your officer.")


def _check_in_form(data: Any = None, files: Any = None) -> BurstForm | CheckInForm:
    """The liveness burst's form, or (liveness off) the single photo's."""
    if settings.LIVENESS_REQUIRED:
        return BurstForm(data)
    return CheckInForm(data, files)


@participant_page
@require_http_methods(["GET", "POST"])
def portal_check_in(request: HttpRequest) -> HttpResponse:
    """One form, one submission: the face (a burst recorded while following the server's
    prompts, or one photo while liveness is off) and the location of this moment."""
    posted = request.method == "POST"
    form = _check_in_form(request.POST if posted else None, request.FILES if posted else None)
    refusal: DomainError | None = None
    if posted and form.is_valid():
        try:
            receipt = _submit(request, form)
        except DomainError as exc:
            refusal = exc
        else:
            if receipt.retake:
                state = _state_after(request)
                return _render_check_in(request, state, {"retake": receipt}, status=201)
            return render(
                request,
                "portal/receipt.html",
                {"receipt": receipt, "s": _state_after(request)},
                status=200 if receipt.repeated else 201,
            )
    if refusal is not None:
        return _refused(request, refusal)
    state = selectors.participant_state(ctx=context_for(request))
    return _render_check_in(request, state, {"form": form}, status=422 if form.errors else 200)


def _submit(request: HttpRequest, form: BurstForm | CheckInForm) -> services.Receipt:
    c = form.cleaned_data
    burst = isinstance(form, BurstForm)
    return services.submit_check_in(
        user=request.user,
        language=translation.get_language(),
        image=b"" if burst else read_upload(c["image"]) or b"",
        frames=read_frames(request.FILES.getlist("frames")) if burst else None,
        challenge_id=c["challenge_id"] if burst else None,
        latitude=c["latitude"],
        longitude=c["longitude"],
        accuracy=c["accuracy"],
        submission_id=c["submission_id"] or None,
        request_id=getattr(request, "request_id", ""),
        client_address=request.META.get("REMOTE_ADDR", ""),
        user_agent=request.headers.get("User-Agent", ""),
    )


def _render_check_in(
    request: HttpRequest,
    state: selectors.ParticipantState | None,
    context: dict[str, Any],
    status: int,
) -> HttpResponse:
    """The check-in page with the participant's state; the form (a fresh one unless given)
    only while a try is wanted."""
    wanted = state is not None and state.can_check_in
    form = context.pop("form", None) or _check_in_form()
    context = {
        "s": state,
        "form": form if wanted else None,
        "burst": isinstance(form, BurstForm),
        **context,
    }
    return render(request, "portal/check_in.html", context, status=status)


@login_required
@require_POST
@participant_page
def portal_check_in_challenge(request: HttpRequest) -> HttpResponse:
    """The prompts for one burst, chosen by the server (JSON for the check-in page's script):
    the id to send back, the words to show, the expiry and how to record."""
    try:
        issued = services.issue_challenge(
            user=request.user,
            request_id=getattr(request, "request_id", ""),
            language=translation.get_language(),
        )
    except DomainError as exc:
        response = JsonResponse({"code": exc.code, "message": exc.message},
                                status=exc.status_code)
        if isinstance(exc, RateLimited):
            response["Retry-After"] = str(exc.retry_after)
        return response
    body = {**issued.__dict__, "id": str(issued.id), "issued_at": issued.issued_at.isoformat(),
            "expires_at": issued.expires_at.isoformat()}
    return JsonResponse(body, status=201)


def _refused(request: HttpRequest, refusal: DomainError) -> HttpResponse:
    """The refusal in plain words with the next step, the participant's state as it is now,
    and the form again only when trying again right away can help and a try is still wanted."""
    state = _state_after(request)
    again = refusal.code in RETRYABLE and state is not None and state.can_check_in
    form = _check_in_form()
    response = render(
        request,
        "portal/check_in.html",
        {
            "form": form if again else None,
            "burst": isinstance(form, BurstForm),
            "refusal": refusal,
            "next_step": _next_step(refusal.code),
            "s": state,
        },
        status=refusal.status_code,
    )
    if isinstance(refusal, RateLimited):
        response["Retry-After"] = str(refusal.retry_after)
    return response


# --- staff ------------------------------------------------------------------------------------
#: The records the staff pages name, for the event of a refused role.
STAFF_RECORDS = {
    "review_id": (Review, policies.person_path(Review), record_type_of(Review)),
    "enrolment_id": (Enrolment, policies.person_path(Enrolment), record_type_of(Enrolment)),
    "person_id": (None, "", record_type_of(Person)),
}


def staff_page(view: View) -> View:
    """Case officers and supervisors; times shown in their office's time zone."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not policies.allows(user, Ability.SUPERVISE):
            raise refuse_page(request, kwargs, category=Category.SUPERVISION,
                              records=STAFF_RECORDS,
                              message=_("These pages are for case officers and supervisors."))
        with timezone.override(clock.zone(user.office.time_zone if user.office_id else None)):
            return view(request, *args, **kwargs)

    return login_required(wrapper)


@staff_page
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    ctx = context_for(request)
    board = selectors.dashboard_page(ctx=ctx, page=request.GET.get("page"))
    return render(
        request,
        "supervision/dashboard.html",
        {
            "ctx": ctx,
            "rows": board.rows,
            "page_obj": board.page,
            "chart": mark_safe(outcomes_chart(board.weekly)),  # noqa: S308 - drawn here, no input
            "chart_rows": charts.outcome_rows(board.weekly),
            "chart_labels": charts.series_labels(),
            "departures": selectors.recent_departures(ctx=ctx),
            "now": clock.now(),
        },
    )


#: How long a drawn chart is kept; the key holds every figure it shows, so it is never stale.
CHART_CACHE_SECONDS = 24 * 3600


def outcomes_chart(weekly: dict[str, Any]) -> str:
    """The outcome chart's SVG, drawn once per set of figures and language (matplotlib costs
    ~0.1 s of CPU a drawing) and kept in Django's cache. The key is a hash of everything the
    drawing shows (the weeks, the three series and the language of its labels), so two users
    share a drawing only when it shows the same numbers: nothing else is in it."""
    shown = {key: weekly[key] for key in ("weeks", "verified", "review", "missed")}
    digest = hashlib.sha256(
        json.dumps([shown, translation.get_language()], sort_keys=True).encode()
    ).hexdigest()
    return cache.get_or_set(
        f"supervision:outcomes-svg:{digest}",
        lambda: charts.outcomes_svg(weekly),
        CHART_CACHE_SECONDS,
    )


@staff_page
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    ctx = context_for(request)
    page_obj = selectors.review_queue_page(ctx=ctx, page=request.GET.get("page"))
    return render(
        request,
        "supervision/review_queue.html",
        {
            "ctx": ctx,
            "reviews": page_obj.object_list,
            "page_obj": page_obj,
            "now": clock.now(),
            "sla_hours": settings.REVIEW_SLA_HOURS,
        },
    )


@staff_page
@require_http_methods(["GET", "POST"])
def review_detail(request: HttpRequest, review_id: str) -> HttpResponse:
    ctx = context_for(request)
    form = DispositionForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                review = services.dispose_review(
                    ctx=ctx,
                    review_id=review_id,
                    disposition=form.cleaned_data["disposition"],
                    note=form.cleaned_data["note"],
                )
            except DomainError as exc:
                if exc.status_code == 404:  # recorded once, by the service
                    raise
                _form_error(form, exc)
                status = exc.status_code
            else:
                messages.success(
                    request,
                    _("Decision recorded: %(disposition)s. Compliance is now “%(compliance)s”.")
                    % {
                        "disposition": review.get_disposition_display(),
                        "compliance": review.enrolment.get_compliance_display(),
                    },
                )
                return redirect("supervision:review", review_id=review.pk)
        else:
            status = 422
    detail = selectors.get_review(ctx=ctx, review_id=review_id)
    return render(
        request,
        "supervision/review_detail.html",
        {
            "ctx": ctx,
            "d": detail,
            "review": detail.review,
            "attempts": [
                (c, _measures(c.quality), review_words.liveness_facts(c),
                 review_words.frames(c, selectors.burst_frames_kept(c)))
                for c in detail.attempts
            ],
            "form": form,
        },
        status=status,
    )


QUALITY_LABELS = {
    "face_width_px": "Face width (pixels)",
    "sharpness": "Sharpness",
    "brightness": "Brightness",
    "contrast": "Contrast",
    "overexposed_pct": "Overexposed (%)",
}


def _measures(quality: dict[str, Any]) -> list[tuple[str, Any]]:
    """The photo's quality measures with readable names (the image hash left out)."""
    return [
        (QUALITY_LABELS.get(key, key.replace("_", " ").capitalize()), value)
        for key, value in quality.items()
        if key != "image_sha256"
    ]


def _image_response(data: bytes) -> HttpResponse:
    """A decrypted photo: typed from its bytes, never cached, sandboxed; anything that is not
    a known image type is sent as a download."""
    content_type = IMAGE_TYPES.get(images.sniff_format(data) or "", "application/octet-stream")
    response = HttpResponse(data, content_type=content_type)
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    if content_type == "application/octet-stream":
        response["Content-Disposition"] = "attachment"
    return response


@staff_page
@require_GET
def review_image(request: HttpRequest, review_id: str, checkin_id: str) -> HttpResponse:
    """The photo of a check-in under review (or, `?frame=N`, a frame of its liveness burst):
    never cached, typed from its bytes."""
    ctx = context_for(request)
    frame = request.GET.get("frame", "")
    return _image_response(
        selectors.review_image(
            ctx=ctx,
            review_id=review_id,
            checkin_id=checkin_id,
            frame=int(frame) if frame.isdigit() and len(frame) < 3 else None,
        )
    )


@staff_page
@require_GET
def review_reference_image(request: HttpRequest, review_id: str) -> HttpResponse:
    """The enrolment photo, shown next to the check-in photos of a review."""
    ctx = context_for(request)
    return _image_response(selectors.review_reference_image(ctx=ctx, review_id=review_id))


def _notice_context(language: str) -> dict[str, Any]:
    notice = consent.notice(language)
    paragraphs = [" ".join(p.split()) for p in notice.text.split("\n\n") if p.strip()]
    return {"notice": notice, "notice_title": paragraphs[0], "notice_paragraphs": paragraphs[1:]}


@staff_page
@require_GET
def notice(request: HttpRequest) -> HttpResponse:
    """The consent notice in a language (htmx swaps it in when the officer picks another)."""
    return render(
        request, "supervision/_notice.html", _notice_context(request.GET.get("language", "en"))
    )


@staff_page
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest, person_id: str) -> HttpResponse:
    ctx = context_for(request, person_id=person_id)
    detail = people_selectors.get_person(ctx=ctx, person_id=person_id)
    if request.method == "GET":
        current = selectors.current_enrolment(ctx, detail.person.pk)
        if current is not None:  # no second enrolment: say so, and where the enrolment is
            return _already_enrolled(request, ctx, detail, current, status=200)
    spoken = [code[:2] for code in detail.person.languages]
    language = next((code for code in spoken if code in consent.NOTICE_LANGUAGES), "en")
    opens = timezone.localtime(clock.now()).replace(second=0, microsecond=0)
    form = EnrolForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial={"language": language, "first_window_at": opens},
    )
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                result = services.enrol(
                    ctx=ctx, person_id=detail.person.pk, data=form.enrolment_input()
                )
            except DomainError as exc:
                if exc.code == "already_enrolled":  # refused and recorded by the service
                    current = selectors.current_enrolment(ctx, detail.person.pk)
                    if current is not None:
                        return _already_enrolled(request, ctx, detail, current, status=409)
                _form_error(form, exc)
                status = exc.status_code
            else:
                response = render(
                    request,
                    "supervision/enrolled.html",
                    {"ctx": ctx, "d": detail, "result": result},
                    status=201,
                )
                response["Cache-Control"] = "no-store"  # the temporary password, shown once
                return response
    chosen = form["language"].value() or language
    return render(
        request,
        "supervision/enrol.html",
        {"ctx": ctx, "d": detail, "form": form, **_notice_context(chosen)},
        status=status,
    )


def _already_enrolled(
    request: HttpRequest, ctx: Any, detail: Any, current: Enrolment, *, status: int
) -> HttpResponse:
    """The enrol page of a person who is enrolled: what is so, and the way to their enrolment
    (there is no re-enrolment: end the enrolment first, then enrol again)."""
    return render(
        request,
        "supervision/enrol.html",
        {"ctx": ctx, "d": detail, "current": current},
        status=status,
    )


@staff_page
@require_http_methods(["GET", "POST"])
def enrolment_detail(request: HttpRequest, enrolment_id: str) -> HttpResponse:
    ctx = context_for(request)
    page = selectors.get_enrolment(ctx=ctx, enrolment_id=enrolment_id)
    action = request.POST.get("action") if request.method == "POST" else None
    change_form = ProposeChangeForm(request.POST if action == "propose" else None)
    departure_form = DepartureForm(
        request.POST if action == "departure" else None,
        request.FILES if action == "departure" else None,
        checkins=page.verified_checkins,
        # today at the person's office, the day the service checks against: UTC's date is
        # already tomorrow in an American evening
        initial={"departed_on": clock.today_in(page.enrolment.person.office.time_zone)},
    )
    status = 422 if action else 200
    if action == "propose" and change_form.is_valid():
        c = change_form.cleaned_data
        try:
            services.propose_change(
                ctx=ctx,
                enrolment_id=page.enrolment.pk,
                kind=c["kind"],
                reason=c["reason"],
                proposed_level=c["proposed_level"],
            )
        except DomainError as exc:
            _form_error(change_form, exc)
            status = exc.status_code
        else:
            messages.success(request, _("Change proposed. It waits for a supervisor's decision."))
            return redirect("supervision:enrolment", enrolment_id=page.enrolment.pk)
    elif action == "departure" and departure_form.is_valid():
        c = departure_form.cleaned_data
        try:
            services.confirm_departure(
                ctx=ctx,
                enrolment_id=page.enrolment.pk,
                kind=c["kind"],
                evidence_kind=c["evidence_kind"],
                departed_on=c["departed_on"],
                evidence_reference=c["evidence_reference"],
                evidence_file=read_upload(c["evidence_file"]),
                checkin_id=c["checkin"] or None,
            )
        except DomainError as exc:
            _form_error(departure_form, exc)
            status = exc.status_code
        else:
            messages.success(
                request, _("Departure confirmed. Supervision has ended and the case is closed.")
            )
            return redirect("supervision:enrolment", enrolment_id=page.enrolment.pk)
    return render(
        request,
        "supervision/enrolment_detail.html",
        {
            "ctx": ctx,
            "page": page,
            "e": page.enrolment,
            "active": page.enrolment.status == EnrolmentStatus.ACTIVE,
            "windows": _windows(page.enrolment),
            "conditions": [services.CONDITIONS.get(c, c) for c in page.enrolment.conditions],
            "alternatives": [
                ALTERNATIVE_LABELS.get(a, a)
                for a in (page.consent.alternatives_offered if page.consent else [])
            ],
            "change_form": change_form,
            "departure_form": departure_form,
            "now": clock.now(),
        },
        status=status,
    )


def _windows(enrolment: Enrolment) -> dict[str, Any]:
    schedule = getattr(enrolment, "schedule", None)
    if schedule is None:
        return {}
    now = clock.now()
    return {"current": schedule.current_window(now), "next": schedule.next_window(now)}


@staff_page
@require_http_methods(["GET", "POST"])
def changes(request: HttpRequest) -> HttpResponse:
    """Pending level changes and terminations: a supervisor other than the proposer decides."""
    ctx = context_for(request)
    status, failed, error = 200, "", ""
    if request.method == "POST":
        form = DecideChangeForm(request.POST)
        failed = request.POST.get("change", "")
        if form.is_valid():
            try:
                decided = services.decide_change(
                    ctx=ctx,
                    request_id=failed,
                    approve=form.cleaned_data["decision"] == "approve",
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                status, error = exc.status_code, exc.message
            else:
                messages.success(
                    request,
                    _("Change approved and applied.")
                    if decided.decision == "approved"
                    else _("Change declined."),
                )
                return redirect("supervision:changes")
        else:
            status, error = 422, _("Choose to approve or decline.")
    return render(
        request,
        "supervision/changes.html",
        {
            "ctx": ctx,
            "changes": selectors.pending_changes(ctx=ctx),
            "failed": failed,
            "error": error,
            "reason": request.POST.get("reason", "") if error else "",
            "is_supervisor": policies.allows(request.user, Ability.DECIDE_SUPERVISION_CHANGE),
        },
        status=status,
    )
