"""Forms of the administrator's account pages (USWDS markup through `UswdsForm`)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from caseledger.core.forms import UswdsForm

from .labels import ACCOUNT_ROLE_LABELS
from .models import Office
from .services import MANAGED_ROLES


def _role_choices(blank: Promise) -> list[tuple[str, Any]]:
    return [("", blank)] + [(role, ACCOUNT_ROLE_LABELS[role]) for role in MANAGED_ROLES]


def _office_choices(blank: Promise) -> list[tuple[str, str]]:
    return [("", str(blank))] + [(o.code, o.name) for o in Office.objects.order_by("code")]


class FilterForm(UswdsForm):
    """The list's filters (GET): every field optional; a wrong value is simply not applied."""

    q = forms.CharField(label=_("Username contains"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("Role"), required=False)
    office = forms.ChoiceField(label=_("Office"), required=False)
    active = forms.ChoiceField(
        label=_("Status"), required=False,
        choices=[("", _("Active and inactive")), ("yes", _("Active only")),
                 ("no", _("Inactive only"))],
    )
    locked = forms.ChoiceField(
        label=_("Sign-in"), required=False,
        choices=[("", _("Locked or not")), ("yes", _("Locked only")), ("no", _("Not locked"))],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(_("Any role"))
        self.fields["office"].choices = _office_choices(_("Any office"))

    def value(self, name: str) -> Any:
        """The cleaned value of a field; empty when the field was not given or not valid."""
        if not self.is_bound:
            return None if name in ("active", "locked") else ""
        self.is_valid()
        value = self.cleaned_data.get(name, "")
        if name in ("active", "locked"):
            return {"yes": True, "no": False}.get(value)
        return value


class AccountForm(UswdsForm):
    username = forms.CharField(
        label=_("Username"), max_length=150,
        help_text=_("English letters, digits and @ . + - _ only. The person signs in with it."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    role = forms.ChoiceField(
        label=_("Role"),
        help_text=_("Privacy officer and administrator need a second administrator's approval: "
                    "the account stays inactive until then."),
    )
    office = forms.ChoiceField(
        label=_("Office"), required=False,
        help_text=_("Required for case officers and supervisors."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(_("Choose a role"))
        self.fields["office"].choices = _office_choices(_("No office"))


class RoleForm(UswdsForm):
    role = forms.ChoiceField(
        label=_("New role"),
        help_text=_("Privacy officer and administrator need a second administrator's approval: "
                    "until then the account keeps its role."),
    )
    office = forms.ChoiceField(
        label=_("Office"), required=False,
        help_text=_("Required for case officers and supervisors."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(_("Choose a role"))
        self.fields["office"].choices = _office_choices(_("No office"))


class DecisionForm(UswdsForm):
    decision = forms.ChoiceField(
        label=_("Your decision"),
        choices=[("approve", _("Approve: give the account this role")),
                 ("decline", _("Decline: the account keeps its role"))],
        widget=forms.RadioSelect,
    )
