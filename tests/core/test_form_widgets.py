"""Every UswdsForm renders radio buttons and checkboxes as USWDS `usa-radio` / `usa-checkbox`
items in a fieldset with a legend, never as `usa-input` text boxes (issue #12, item 1: the
disclosure Decision form showed an empty text box above each radio button)."""

from __future__ import annotations

import copy
import importlib
import pkgutil
from collections.abc import Iterator

import pytest
from django import forms
from django.template.loader import render_to_string
from django.test.html import Element, parse_html
from django.utils import translation

import caseledger
from caseledger.core.forms import CHOICES_TEMPLATE, UswdsForm, style_widget

COLOURS = [("red", "Red"), ("green", "Green"), ("blue", "Blue")]


class SampleForm(UswdsForm):
    colour = forms.ChoiceField(label="Colour", choices=COLOURS, widget=forms.RadioSelect,
                               help_text="Pick one.")
    extras = forms.MultipleChoiceField(label="Extras", choices=COLOURS,
                                       widget=forms.CheckboxSelectMultiple)
    agree = forms.BooleanField(label="I agree", help_text="You must agree.")
    name = forms.CharField(label="Name")
    notes = forms.CharField(label="Notes", widget=forms.Textarea)
    size = forms.ChoiceField(label="Size", choices=[("s", "Small"), ("l", "Large")])


# --- a small HTML walker over django.test.html's tree -------------------------------------------
def _elements(node: Element) -> Iterator[Element]:
    for child in node.children:
        if isinstance(child, Element):
            yield child
            yield from _elements(child)


def _attr(element: Element, name: str) -> str | None:
    return dict(element.attributes).get(name)


def _classes(element: Element) -> set[str]:
    return set((_attr(element, "class") or "").split())


def _text(element: Element) -> str:
    return " ".join(c if isinstance(c, str) else _text(c) for c in element.children).strip()


def _find(root: Element, tag: str, css: str | None = None) -> list[Element]:
    """`root` and its descendants of this tag (and class)."""
    return [e for e in [root, *_elements(root)]
            if e.name == tag and (css is None or css in _classes(e))]


def _field_html(form: forms.Form, name: str) -> Element:
    with translation.override("en"):
        return parse_html(render_to_string("_field.html", {"field": form[name]}))


# --- the markup ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "kind", "count"), [("colour", "radio", 3), ("extras", "checkbox", 3)]
)
def test_choice_groups_are_uswds_items_in_a_fieldset_with_a_legend(name, kind, count):
    root = _field_html(SampleForm(), name)
    [fieldset] = _find(root, "fieldset", "usa-fieldset")
    [legend] = _find(fieldset, "legend", "usa-legend")
    assert _text(legend).startswith(SampleForm.base_fields[name].label)
    items = _find(fieldset, "div", f"usa-{kind}")
    assert len(items) == count
    for item in items:
        [control, label] = [c for c in item.children if isinstance(c, Element)]
        assert control.name == "input" and _attr(control, "type") == kind
        assert _classes(control) == {f"usa-{kind}__input"}
        assert label.name == "label" and _classes(label) == {f"usa-{kind}__label"}
        assert _attr(label, "for") == _attr(control, "id")
    assert [_text(label) for label in _find(fieldset, "label")] == ["Red", "Green", "Blue"]
    # No text-box class anywhere: the bug was a usa-input on each radio button.
    assert not [e for e in _elements(root) if _classes(e) & {"usa-input", "usa-label"}]


def test_a_radio_group_names_its_help_text_on_the_fieldset():
    root = _field_html(SampleForm(), "colour")
    [fieldset] = _find(root, "fieldset")
    assert _attr(fieldset, "aria-describedby") == "id_colour_helptext"
    assert [_text(e) for e in _elements(root) if _attr(e, "id") == "id_colour_helptext"] == [
        "Pick one."
    ]


def test_a_single_checkbox_is_a_uswds_checkbox_with_its_label_and_help_text():
    root = _field_html(SampleForm(), "agree")
    [item] = _find(root, "div", "usa-checkbox")
    [control] = _find(item, "input")
    [label] = _find(item, "label", "usa-checkbox__label")
    assert _classes(control) == {"usa-checkbox__input"} and _attr(control, "type") == "checkbox"
    assert _attr(label, "for") == _attr(control, "id") == "id_agree"
    assert _attr(control, "aria-describedby") == "id_agree_helptext"
    assert [_text(e) for e in _find(label, "span", "usa-checkbox__label-description")] == [
        "You must agree."
    ]


@pytest.mark.parametrize(
    ("name", "tag", "css"),
    [("name", "input", "usa-input"), ("notes", "textarea", "usa-textarea"),
     ("size", "select", "usa-select")],
)
def test_other_fields_keep_their_label_and_uswds_class(name, tag, css):
    root = _field_html(SampleForm(), name)
    [control] = _find(root, tag)
    assert _classes(control) == {css}
    [label] = _find(root, "label", "usa-label")
    assert _attr(label, "for") == _attr(control, "id")
    assert not _find(root, "fieldset")


def test_errors_are_shown_on_the_group_and_text_boxes_turn_red():
    form = SampleForm(data={"colour": "purple", "extras": ["nope"], "name": ""})
    assert not form.is_valid()
    for name, kind in (("colour", "radio"), ("extras", "checkbox")):
        root = _field_html(form, name)
        [group] = _find(root, "div", "usa-form-group--error")
        [fieldset] = _find(group, "fieldset")
        assert f"id_{name}_error" in (_attr(fieldset, "aria-describedby") or "").split()
        [error] = [e for e in _elements(root) if _attr(e, "id") == f"id_{name}_error"]
        assert "usa-error-message" in _classes(error) and _text(error)
        for control in _find(root, "input"):
            assert _classes(control) == {f"usa-{kind}__input"}  # no usa-input--error box
            assert _attr(control, "aria-invalid") == "true"
    [text] = _find(_field_html(form, "name"), "input")
    assert _classes(text) == {"usa-input", "usa-input--error"}


def test_a_chosen_radio_stays_checked_after_an_error():
    form = SampleForm(data={"colour": "green"})
    assert not form.is_valid()
    controls = _find(_field_html(form, "colour"), "input")
    checked = [e for e in controls if "checked" in dict(e.attributes)]
    assert [_attr(e, "value") for e in checked] == ["green"]


def test_the_whole_form_still_renders_with_djangos_templates():
    html = str(SampleForm())
    assert 'class="usa-radio__input"' in html and 'name="name"' in html and "<textarea" in html


def test_a_radio_tag_alone_is_only_the_input_with_the_uswds_class():
    """Templates that lay out choices themselves (`{{ choice.tag }}`) get a bare USWDS input."""
    [first, *_] = list(SampleForm()["colour"])
    [control] = _find(parse_html(str(first.tag())), "input")
    assert _classes(control) == {"usa-radio__input"}
    assert "<label" not in str(first.tag())


def test_a_widget_that_names_its_own_template_keeps_it():
    class Custom(forms.RadioSelect):
        template_name = "custom/radios.html"

    widget = Custom(choices=COLOURS)
    style_widget(widget)
    assert widget.template_name == "custom/radios.html"
    assert widget.attrs["class"] == "usa-radio__input"


def test_styling_twice_adds_each_class_once():
    widget = forms.RadioSelect(attrs={"class": "usa-radio__input"}, choices=COLOURS)
    style_widget(widget)
    style_widget(widget)
    assert widget.attrs["class"] == "usa-radio__input"


# --- the project's forms -------------------------------------------------------------------------
def test_the_disclosure_decision_form_has_no_text_box_above_its_radio_buttons():
    from caseledger.disclosures.forms import DecisionForm

    form = DecisionForm()
    for template in ("_field.html", "supervision/_choices.html"):  # the page uses the second
        root = parse_html(render_to_string(template, {"field": form["decision"]}))
        controls = _find(root, "input")
        assert [_attr(c, "value") for c in controls] == ["approve", "decline"]
        assert all(_classes(c) == {"usa-radio__input"} for c in controls)
        assert len(_find(root, "div", "usa-radio")) == 2
        assert not [e for e in _elements(root) if "usa-input" in _classes(e)]


def _all_uswds_forms() -> list[type[UswdsForm]]:
    for module in pkgutil.walk_packages(caseledger.__path__, "caseledger."):
        if module.name.rsplit(".", 1)[-1] in {"forms", "views"}:
            importlib.import_module(module.name)
    found, todo = [], [UswdsForm]
    while todo:
        cls = todo.pop()
        found += cls.__subclasses__()
        todo += cls.__subclasses__()
    return [cls for cls in found if cls.__module__.startswith("caseledger.")]


def test_every_project_form_with_choices_gets_the_uswds_markup():
    forms_with_choices = 0
    for form_class in _all_uswds_forms():
        for field in form_class.base_fields.values():
            widget = copy.deepcopy(field.widget)
            style_widget(widget)
            classes = set(widget.attrs.get("class", "").split())
            if isinstance(widget, forms.RadioSelect):
                forms_with_choices += 1
                assert widget.template_name == CHOICES_TEMPLATE, form_class
                kind = "checkbox" if isinstance(widget, forms.CheckboxSelectMultiple) else "radio"
                assert classes == {f"usa-{kind}__input"}, form_class
            elif isinstance(widget, forms.CheckboxInput):
                assert classes == {"usa-checkbox__input"}, form_class
    assert forms_with_choices >= 5  # disclosures, supervision, reports all have some
