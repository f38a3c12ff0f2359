"""Filters that put the person's words where a page would show a code (portal/labels.py).

    {% load plain_words %}
    {{ enrolment|choice:"level" }}     Standard (weekly check-in) / Estándar (presentación semanal)
    {{ "MX"|country }}                 Mexico / México
    {{ "es"|language }}                Spanish / Español
"""

from __future__ import annotations

from typing import Any

from django import template

from caseledger.portal import labels

register = template.Library()


@register.filter
def choice(row: Any, field: str) -> str:
    return labels.choice(row, field)


@register.filter
def country(code: str) -> str:
    return labels.country_name(code)


@register.filter
def language(code: str) -> str:
    return labels.language_name(code)


@register.filter
def countries(codes: Any) -> str:
    """A list of country codes as names, joined with commas; "—" when there is none."""
    return ", ".join(labels.country_name(c) for c in codes or []) or "—"


@register.filter
def languages(codes: Any) -> str:
    """A list of language codes as names, joined with commas; "—" when there is none."""
    return ", ".join(labels.language_name(c) for c in codes or []) or "—"


TABLES = {
    "role": labels.ROLES,
    "purpose": labels.PURPOSES,
    "action": labels.ACTIONS,
    "category": labels.CATEGORIES,
    "outcome": labels.OUTCOMES,
}


@register.filter
def word(code: str, table: str) -> str:
    """A code of the ledger's vocabulary in words: {{ a.action|word:"action" }}."""
    return labels.say(TABLES[table], code)
