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


class RoleOfficeFields(UswdsForm):
    """The role and office fields that the new-account form and the role form share: the
    roles an administrator gives, the offices; each form words the role's help for its case."""

    role_label: Promise = _("Role")
    role_help: Promise | str = ""

    role = forms.ChoiceField(label=_("Role"))
    office = forms.ChoiceField(
        label=_("Office"), required=False,
        help_text=_("Required for case officers and supervisors."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].label = self.role_label
        self.fields["role"].help_text = self.role_help
        self.fields["role"].choices = _role_choices(_("Choose a role"))
        self.fields["office"].choices = _office_choices(_("No office"))


class NewAccountForm(RoleOfficeFields):
    role_help = _("Privacy officer and administrator need a second administrator's approval: "
                  "the account stays inactive until then.")
    field_order = ("username", "role", "office")

    username = forms.CharField(
        label=_("Username"), max_length=150,
        help_text=_("English letters, digits and @ . + - _ only. The person signs in with it."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class RoleForm(RoleOfficeFields):
    role_label = _("New role")
    role_help = _("Privacy officer and administrator need a second administrator's approval: "
                  "until then the account keeps its role.")


class NewPasswordForm(UswdsForm):
    """The password a person chooses after an administrator gave them a temporary one (the
    password rules are the service's: AUTH_PASSWORD_VALIDATORS)."""

    password = forms.CharField(
        label=_("New password"), max_length=200, strip=False,
        help_text=_("At least 12 characters, not a common password and not like your "
                    "username."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    confirm = forms.CharField(
        label=_("The new password again"), max_length=200, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password") and data.get("confirm") and data["password"] != data["confirm"]:
            self.add_error("confirm", _("The two passwords are not the same."))
        return data


class DecisionForm(UswdsForm):
    decision = forms.ChoiceField(
        label=_("Your decision"),
        choices=[("approve", _("Approve: give the account this role")),
                 ("decline", _("Decline: the account keeps its role"))],
        widget=forms.RadioSelect,
    )
