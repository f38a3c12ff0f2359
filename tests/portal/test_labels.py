"""The person's pages show words, not codes or ids: every code they can meet has a label in
portal/labels.py, in English and Spanish, and "My record" uses them."""

from __future__ import annotations

import re
import uuid
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.utils import translation

from caseledger.ledger.models import Outcome
from caseledger.ledger.vocabulary import Action, Category, Purpose
from caseledger.portal import labels
from tests.portal.test_my_record import (  # noqa: F401
    CERTIFICATE,
    deleted,
    disclosed,
    full_record,  # noqa: F401 (fixture)
    refused_with_statement,  # noqa: F401
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.mark.parametrize(("vocabulary", "table"), [
    (Action, labels.ACTIONS), (Category, labels.CATEGORIES), (Purpose, labels.PURPOSES),
    (Outcome, labels.OUTCOMES),
])
def test_every_code_of_the_ledger_vocabulary_has_words(vocabulary, table):
    assert sorted(set(vocabulary.values) - set(table)) == []


def test_every_choice_of_the_rows_on_my_record_has_words():
    for key, table in labels.CHOICES.items():
        app, model, field = key.split(".")
        choices = apps.get_model(app, model)._meta.get_field(field).choices
        assert sorted({value for value, _label in choices} ^ set(table)) == [], key


def test_an_unknown_code_reads_as_other_never_as_itself():
    with translation.override("es"):
        assert labels.say(labels.ACTIONS, "teleport") == "Otro"
        row = SimpleNamespace(_meta=SimpleNamespace(label_lower="x.y"), kind="b7")
        assert labels.choice(row, "kind") == "Otro"


@pytest.mark.parametrize(("language", "words"), [
    ("en", ("Shared outside the agency", "Standard (weekly check-in)", "Mexico", "Spanish")),
    ("es", ("Compartió fuera de la agencia", "Estándar (presentación semanal)", "México",
            "Español")),
])
def test_words_in_the_pages_language(language, words):
    enrolment = apps.get_model("supervision", "enrolment")(level="standard")
    with translation.override(language):
        assert (labels.say(labels.ACTIONS, "disclose"), labels.choice(enrolment, "level"),
                labels.country_name("MX"), labels.language_name("es")) == words
        assert labels.language_name("spa") == words[3] == labels.language_name("es-MX")
        assert labels.country_name("ZZ") == labels.language_name("") == str(labels.OTHER)


def test_a_disclosures_rule_in_words():
    with translation.override("en"):
        assert labels.authority("b7").startswith("A written request from a law-enforcement")
        assert labels.authority("ICE-A") == (
            "Routine use ICE-A, published in the notice of this system of records "
            "(5 U.S.C. 552a(b)(3))")
    entry = SimpleNamespace(disclosed_on=None, recipient_name="Dana Cruz", recipient_address="",
                            purpose="p", authority="b7", categories=["identity", "nonsense"])
    with translation.override("es"):
        row = labels.disclosure_rows([entry])[0]
    assert "b7" not in row["authority"].replace("552a(b)(7)", "")
    assert row["categories"][1] == "Otro" and "identity" not in row["categories"]


def test_a_short_reference_is_short_and_stable():
    assert labels.short_reference(CERTIFICATE) == "6A1F0C1E"
    assert labels.short_reference(uuid.UUID(int=0)) == "00000000"


def _visible(html: str) -> str:
    """The text a person reads: tags, attributes and the hidden "next" field left out."""
    body = html.split("<main", 1)[1].split("</main>", 1)[0]
    return re.sub(r"<[^>]+>", " ", body)


@pytest.mark.parametrize("language", ["en", "es"])
def test_my_record_shows_words_not_codes(full_record, users, web_client, language):  # noqa: F811
    client = web_client(users["participant"])
    client.cookies["django_language"] = language
    html = client.get("/me/record/").content.decode()
    text = _visible(html)
    assert not UUID.search(text), UUID.search(text)
    for code in ("MX", "(no_match)", "failed_check", "disclose:", "b7 ", "identity,",
                 "case_officer", "east<"):
        assert code not in text, code
    expected = {"en": ("Mexico", "Spanish", "East office"),
                "es": ("México", "Español", "East office")}[language]
    for word in expected:
        assert word in text, word


def test_asking_for_a_correction_is_an_outline_button_not_a_red_one(
    full_record, users, web_client  # noqa: F811
):
    html = web_client(users["participant"]).get("/me/record/").content.decode()
    link = re.search(r'<a class="([^"]+)" href="/me/record/amendments/new/">', html)
    assert link is not None
    assert "usa-button--outline" in link.group(1).split()
    assert "usa-button--secondary" not in link.group(1)
