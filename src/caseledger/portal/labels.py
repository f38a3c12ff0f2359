"""Plain-language labels for the codes the ledger records (shown on "My record")."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from caseledger.accounts.labels import ROLE_LABELS

ROLES = ROLE_LABELS

PURPOSES = {
    "caseload": _("Managing their caseload"),
    "office_supervision": _("Supervising the office's cases"),
    "privacy_review": _("Privacy review"),
    "break_glass": _("Emergency access"),
    "administration": _("System administration"),
    "notice": _("Sending you a reminder"),
}

ACTIONS = {
    "read": _("Looked at"),
    "list": _("Saw in a list"),
    "search": _("Found in a search"),
    "create": _("Created"),
    "update": _("Changed"),
    "assign": _("Assigned"),
    "export": _("Exported"),
    "decide": _("Decided"),
    "acknowledge": _("Acknowledged"),
    "correct": _("Corrected"),
    "break_glass": _("Opened emergency access"),
    "grant": _("Opened access"),
    "notify": _("Notified"),
}

CATEGORIES = {
    "identity": _("Identity"),
    "address": _("Address"),
    "contact": _("Contact details"),
    "case": _("Cases"),
    "hearing": _("Hearings"),
    "decision": _("Decision"),
    "access": _("Access permissions"),
    "retention": _("Data retention"),
    "supervision": _("Check-ins"),
    "biometric": _("Photo"),
    "ledger": _("Access history"),
    "amendment": _("Amendment request"),
    "notice": _("Reminders"),
    "disclosure": _("Disclosure"),
    "record": _("Whole record"),
}

OUTCOMES = {
    "allowed": _("Allowed"),
    "denied": _("Refused"),
    "failed": _("Failed"),
}


def access_rows(events: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "time": e.time,
            "role": ROLES.get(e.actor_role, e.actor_role),
            "office": e.office or "—",
            "purpose": PURPOSES.get(e.purpose, e.purpose),
            "action": ACTIONS.get(e.action, e.action),
            "category": CATEGORIES.get(e.data_category, e.data_category),
            "outcome": OUTCOMES.get(e.outcome, e.outcome),
            "denied": e.outcome != "allowed",
        }
        for e in events
    ]
