"""Forms that render with the U.S. Web Design System's markup.

Every `UswdsForm` gets it; no app form has to ask. Text inputs, text areas and selects get the
USWDS class on the element. Radio buttons and checkbox groups are rendered as USWDS
`usa-radio` / `usa-checkbox` items (input `usa-*__input`, then its `usa-*__label`) by the
project's widget template `django/forms/widgets/uswds_choices.html`; `_field.html` puts such
a group in a fieldset with a legend. A single checkbox gets `usa-checkbox__input` (its label
comes from `_field.html`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates
from django.utils.functional import cached_property

#: The group template of radio buttons and checkbox groups (in the project's templates).
CHOICES_TEMPLATE = "django/forms/widgets/uswds_choices.html"
# Django's own group templates, which the USWDS one replaces (a widget that names its own
# template keeps it).
_DJANGO_CHOICE_TEMPLATES = frozenset(
    {forms.RadioSelect.template_name, forms.CheckboxSelectMultiple.template_name}
)
# Classes whose error state USWDS draws with `usa-input--error`.
_TEXT_CLASSES = ("usa-input", "usa-textarea", "usa-select")


class UswdsRenderer(DjangoTemplates):
    """Django's form templates, plus the project's template directories (Django's default
    form renderer reads only its own and the apps' templates, so it would not find
    `CHOICES_TEMPLATE`)."""

    @cached_property
    def engine(self) -> Any:
        project_dirs = [
            directory
            for engine in settings.TEMPLATES
            if engine["BACKEND"] == "django.template.backends.django.DjangoTemplates"
            for directory in engine.get("DIRS", [])
        ]
        return self.backend(
            {
                "APP_DIRS": True,
                "DIRS": [*project_dirs, Path(forms.__file__).parent / "templates"],
                "NAME": "uswdsforms",
                "OPTIONS": {},
            }
        )


RENDERER = UswdsRenderer()


def _add_class(widget: forms.Widget, css: str) -> None:
    classes = widget.attrs.get("class", "").split()
    if css not in classes:
        widget.attrs["class"] = " ".join([*classes, css])


def uswds_class(widget: forms.Widget) -> str:
    """The USWDS class of a widget's input element."""
    if isinstance(widget, forms.CheckboxSelectMultiple):  # before RadioSelect: a subclass
        return "usa-checkbox__input"
    if isinstance(widget, forms.RadioSelect):
        return "usa-radio__input"
    if isinstance(widget, forms.CheckboxInput):
        return "usa-checkbox__input"
    if isinstance(widget, forms.Textarea):
        return "usa-textarea"
    if isinstance(widget, forms.Select):
        return "usa-select"
    return "usa-input"


def style_widget(widget: forms.Widget) -> None:
    """Give `widget` its USWDS class and, for radio buttons and checkbox groups, the USWDS
    group template. The widget is the form's own copy (Django deep-copies fields per form)."""
    _add_class(widget, uswds_class(widget))
    if isinstance(widget, forms.RadioSelect) and widget.template_name in _DJANGO_CHOICE_TEMPLATES:
        widget.template_name = CHOICES_TEMPLATE


class UswdsForm(forms.Form):
    """A form whose widgets carry the U.S. Web Design System classes and markup."""

    default_renderer = RENDERER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            style_widget(field.widget)

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                # Radio buttons and checkboxes show their error on the group (_field.html).
                if any(css in widget.attrs.get("class", "").split() for css in _TEXT_CLASSES):
                    _add_class(widget, "usa-input--error")
