"""Placeholders, their check when a template is drafted, and rendering in a language.

A template may use only the named placeholders of its kind (no attribute access, no
indexing, no format specifications): the values are computed here from the one person's one
obligation, so a template cannot reach any other data and no caller can add free text.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import dateformat, translation

from caseledger.core.errors import ValidationError

from .models import Medium, NoticeTemplate, TemplateKind, TemplateStatus

COMMON = frozenset({"given_name", "office_name", "office_phone", "officer_name"})
PLACEHOLDERS: dict[str, frozenset[str]] = {
    TemplateKind.HEARING: COMMON | {"date", "time", "time_zone", "court_name", "when"},
    TemplateKind.HEARING_MOVED: COMMON
    | {"date", "time", "time_zone", "court_name", "when", "old_date", "old_time"},
    TemplateKind.HEARING_CANCELLED: COMMON | {"date", "time", "time_zone", "court_name"},
    TemplateKind.HEARING_POSTPONED: COMMON | {"old_date", "old_time", "time_zone", "court_name"},
    TemplateKind.CHECKIN: COMMON
    | {"date", "time", "time_zone", "closes_date", "closes_time", "when"},
    TemplateKind.DEADLINE: COMMON | {"date", "when", "deadline_label"},
    TemplateKind.ADDRESS_CHANGE: COMMON | {"date", "when"},
    TemplateKind.DELIVERY_FAILURE: frozenset({"alert_url", "error"}),
}
EMAIL_ONLY = frozenset({"opt_out_url"})
SMS_MAX_CHARS = 480  # three concatenated segments
SUBJECT_MAX_CHARS = 200

# Django's own translations supply month and weekday names; these patterns order them.
DATE_FORMATS = {"en": "l, F j, Y", "es": r"l j \d\e F \d\e Y"}
TIME_FORMATS = {"en": "g:i A", "es": "H:i"}
SHORT_DATE_FORMATS = {"en": "M j", "es": "j M"}

WHEN = {
    "en": {"today": "today", "tomorrow": "tomorrow", "days": "in {n} days"},
    "es": {"today": "hoy", "tomorrow": "mañana", "days": "en {n} días"},
}
DEADLINE_LABELS = {
    "bia-appeal": {"en": "appeal to the Board of Immigration Appeals",
                   "es": "apelación ante la Junta de Apelaciones de Inmigración (BIA)"},
    "vd-pre": {"en": "voluntary departure: leave the United States",
               "es": "salida voluntaria: salir de los Estados Unidos"},
    "vd-post": {"en": "voluntary departure: leave the United States",
                "es": "salida voluntaria: salir de los Estados Unidos"},
    "vd-bond": {"en": "voluntary departure bond: pay it to DHS",
                "es": "fianza de salida voluntaria: pagarla al DHS"},
    "address-change": {"en": "change of address (form EOIR-33)",
                       "es": "cambio de dirección (formulario EOIR-33)"},
    "motion-reopen": {"en": "motion to reopen", "es": "moción para reabrir el caso"},
    "absentia-rescission": {"en": "motion to rescind an in-absentia order",
                            "es": "moción para anular una orden in absentia"},
}
OFFICE_PHONE_FALLBACK = {
    "en": "the number on your release papers",
    "es": "el número que figura en sus documentos de liberación",
}


def placeholders_in(text: str) -> list[str]:
    """The placeholder names in `text`; a clear error for anything but a bare name."""
    names = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValidationError(
            f"The text has an unmatched brace ({exc}). Write a literal brace as {{{{ or }}}}.",
            field="body",
        ) from None
    for _literal, field_name, spec, conversion in parsed:
        if field_name is None:
            continue
        if not field_name.isidentifier() or spec or conversion:
            raise ValidationError(
                f"'{{{field_name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}}' is not a plain placeholder; use a name such "
                "as {date}.",
                field="body",
            )
        names.append(field_name)
    return names


def check_template(kind: str, channel: str, subject: str, body: str) -> None:
    """Raise ValidationError unless the template can be rendered for its kind and channel."""
    if kind not in PLACEHOLDERS:
        raise ValidationError(
            f"Unknown template kind '{kind}'. Kinds: {', '.join(PLACEHOLDERS)}.", field="kind"
        )
    if channel not in Medium.values:
        raise ValidationError(
            f"Unknown channel '{channel}'. Channels: {', '.join(Medium.values)}.", field="channel"
        )
    if not body.strip():
        raise ValidationError("The text is empty.", field="body")
    allowed = PLACEHOLDERS[kind] | (EMAIL_ONLY if channel == Medium.EMAIL else frozenset())
    for text, field in ((subject, "subject"), (body, "body")):
        unknown = sorted(set(placeholders_in(text)) - allowed)
        if unknown:
            raise ValidationError(
                f"Unknown placeholder(s) in the {field}: {', '.join(unknown)}. "
                f"This kind may use: {', '.join(sorted(allowed))}.",
                field=field,
            )
    if channel == Medium.EMAIL:
        if not subject.strip():
            raise ValidationError("An email template needs a subject.", field="subject")
        if len(subject) > SUBJECT_MAX_CHARS or "\n" in subject or "\r" in subject:
            raise ValidationError(
                f"The subject must be one line of at most {SUBJECT_MAX_CHARS} characters.",
                field="subject",
            )
    else:
        if subject.strip():
            raise ValidationError("A text message has no subject.", field="subject")
        if len(body) > SMS_MAX_CHARS:
            raise ValidationError(
                f"A text message template may be at most {SMS_MAX_CHARS} characters "
                f"(it is {len(body)}).",
                field="body",
            )


def render(text: str, values: Mapping[str, str]) -> str:
    """Fill the placeholders; a value missing from `values` is an error, not blank text."""
    missing = [name for name in placeholders_in(text) if name not in values]
    if missing:
        raise KeyError(f"no value for placeholder(s): {', '.join(missing)}")
    return text.format_map({k: str(v) for k, v in values.items()})


def base_language(language: str) -> str:
    return (language or "en").split("-")[0].split("_")[0].lower()[:8] or "en"


def format_date(value: date | datetime, language: str) -> str:
    lang = base_language(language)
    with translation.override(lang if lang in DATE_FORMATS else "en"):
        return dateformat.format(value, DATE_FORMATS.get(lang, DATE_FORMATS["en"]))


def format_time(value: datetime, language: str) -> str:
    lang = base_language(language)
    with translation.override(lang if lang in TIME_FORMATS else "en"):
        return dateformat.format(value, TIME_FORMATS.get(lang, TIME_FORMATS["en"]))


def when_phrase(days: int, language: str) -> str:
    words = WHEN.get(base_language(language), WHEN["en"])
    if days <= 0:
        return words["today"]
    if days == 1:
        return words["tomorrow"]
    return words["days"].format(n=days)


def days_until(moment: datetime, now: datetime, time_zone: str) -> int:
    tz = ZoneInfo(time_zone)
    return (moment.astimezone(tz).date() - now.astimezone(tz).date()).days


def deadline_label(rule: str, language: str) -> str:
    labels = DEADLINE_LABELS.get(rule)
    if labels is None:
        return rule
    return labels.get(base_language(language), labels["en"])


def find_template(kind: str, languages: Iterable[str], medium: str) -> NoticeTemplate | None:
    """The approved template for the first language that has one; English last."""
    tried: list[str] = []
    for language in [*languages, "en"]:
        code = base_language(language)
        if code in tried:
            continue
        tried.append(code)
        template = NoticeTemplate.objects.filter(
            kind=kind, language=code, channel=medium, status=TemplateStatus.APPROVED
        ).first()
        if template is not None:
            return template
    return None
