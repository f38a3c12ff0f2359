"""Plain-language names of the roles, for pages that tell a person who did something (the
portal's "who accessed my record"). Kept with the roles they name."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Role

#: Role of an event's actor -> what the person reads; "system" is the actor of background work.
ROLE_LABELS: dict[str, Promise] = {
    Role.CASE_OFFICER: _("Case officer"),
    Role.SUPERVISOR: _("Supervisor"),
    Role.PRIVACY_OFFICER: _("Privacy officer"),
    Role.ADMINISTRATOR: _("System administrator"),
    "system": _("The system"),
}

#: What the administrator's account pages call each role they give.
ACCOUNT_ROLE_LABELS: dict[str, Promise] = {
    Role.CASE_OFFICER: _("Case officer"),
    Role.SUPERVISOR: _("Supervisor"),
    Role.PRIVACY_OFFICER: _("Privacy officer"),
    Role.ADMINISTRATOR: _("Administrator"),
    Role.REPRESENTATIVE: _("Representative (attorney of record)"),
}


def role_name(role: str) -> str:
    """The account pages' name of a role; an empty role (a new account) is "none"."""
    if not role:
        return str(_("none (new account)"))
    return str(ACCOUNT_ROLE_LABELS.get(role, role))
