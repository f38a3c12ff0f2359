from __future__ import annotations

from typing import Any

from django import forms

_CLASSES = {
    "checkbox": "usa-checkbox__input",
    "select": "usa-select",
    "textarea": "usa-textarea",
}


class UswdsForm(forms.Form):
    """A form whose widgets carry the U.S. Web Design System classes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            kind = getattr(widget, "input_type", None) or widget.__class__.__name__.lower()
            css = _CLASSES.get(kind, "usa-input")
            if isinstance(widget, forms.Textarea):
                css = "usa-textarea"
            elif isinstance(widget, forms.Select):
                css = "usa-select"
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " usa-input--error"
