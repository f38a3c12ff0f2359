"""Every string marked on the participant's pages has its Spanish translation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from caseledger.portal import labels
from caseledger.portal.forms import AmendmentForm, StatementForm
from caseledger.portal.models import AmendmentCategory, AmendmentStatus
from tests.portal.conftest import record_translations

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "caseledger" / "templates"
PARTICIPANT_PAGES = [
    "record/record.html",
    "record/amendment_form.html",
    "record/statement_form.html",
    "record/export_pdf.html",
    "record/clients.html",
    "_pagination.html",
]
TRANSLATE = re.compile(r"""\{%\s*translate\s+"([^"]+)"\s*%\}""")
BLOCK = re.compile(r"\{%\s*blocktranslate\b[^%]*%\}(.*?)\{%\s*endblocktranslate\s*%\}", re.S)
VARIABLE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def marked(template: str) -> set[str]:
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    found = set(TRANSLATE.findall(text))
    found |= {VARIABLE.sub(r"%(\1)s", body) for body in BLOCK.findall(text)}
    return found


@pytest.mark.parametrize("template", PARTICIPANT_PAGES)
def test_every_marked_string_of_the_page_is_translated(template):
    table = record_translations()
    strings = marked(template)
    assert strings, template
    missing = sorted(s for s in strings if not table.get(s))
    assert missing == [], missing


def test_labels_choices_and_form_texts_are_translated():
    table = record_translations()
    with translation.override("en"):  # the msgids: English is the source language
        texts = [
            str(v)
            for group in (
                labels.ROLES,
                labels.PURPOSES,
                labels.ACTIONS,
                labels.CATEGORIES,
                labels.OUTCOMES,
            )
            for v in group.values()
        ]
        texts += [str(label) for label in AmendmentCategory.labels + AmendmentStatus.labels]
        for form in (AmendmentForm(), StatementForm()):
            for field in form.fields.values():
                texts += [str(field.label)] + ([str(field.help_text)] if field.help_text else [])
                texts += [str(label) for _value, label in getattr(field, "choices", [])]
    missing = sorted(t for t in texts if not table.get(t))
    assert missing == [], missing


def test_placeholders_are_kept_in_translation():
    for msgid, spanish in record_translations().items():
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(
            re.findall(r"%\(\w+\)s", spanish)
        ), msgid
