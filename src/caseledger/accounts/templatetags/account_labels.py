"""`{{ code|role_name }}`: what the account pages call a role."""

from __future__ import annotations

from django import template

from caseledger.accounts.labels import role_name as _role_name

register = template.Library()


@register.filter
def role_name(role: str) -> str:
    return _role_name(role or "")
