"""What the administrator's account pages call each role. (The words for the role of an
event's actor, on "who accessed my record" and the audit pages, are the formatting layer's:
`core/templatetags/show.py` ROLES.)"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import Role

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
