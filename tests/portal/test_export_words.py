"""The "My record" PDF in the person's language: every label and every code in words (English
and Spanish), dates written out, ids as short references; the JSON keeps its codes."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.utils import translation
from pypdf import PdfReader

from caseledger.portal import export
from tests.portal.test_my_record import (  # noqa: F401
    CERTIFICATE,
    deleted,
    disclosed,
    full_record,
    refused_with_statement,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CODES = ("case_officer", "self_service", "office_supervision", "identity,", "allowed", "denied",
         "(UTC)", "primary)", "refused ·", "received ·")


def _pdf(client, path: str = "/me/record/export.pdf") -> str:
    response = client.get(path)
    assert response.status_code == 200, response.content[:300]
    reader = PdfReader(io.BytesIO(response.content))
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


@pytest.mark.parametrize(("language", "words"), [
    ("en", ("My record", "Who accessed my record", "Case officer", "Looked at: Identity",
            "main name", "Refused")),
    ("es", ("Mi expediente", "Quién consultó mi expediente", "Oficial de caso",
            "Consultó: Identidad")),
])
def test_the_pdf_is_in_the_persons_language_with_codes_in_words(
    full_record, rosa_case, users, web_client, language, words  # noqa: F811
):
    client = web_client(users["participant"])
    client.cookies["django_language"] = language
    pdf = _pdf(client)
    for word in words:
        assert word in pdf, word
    for code in CODES:
        assert code not in pdf, code
    assert not UUID.search(pdf), UUID.search(pdf)
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", pdf)
    assert CERTIFICATE.hex[:8].upper() in pdf  # the deletion certificate, by short reference
    document = json.loads(client.get("/me/record/export.json").content)
    assert document["person"]["id"] == str(full_record.pk)  # the JSON keeps ids and codes
    assert {a["role"] for a in document["accesses"]["items"]} & {"case_officer", "supervisor"}


def test_the_representative_gets_the_pdf_in_words_too(full_record, users, web_client):  # noqa: F811
    pdf = _pdf(web_client(users["representative"]), f"/me/record/{full_record.pk}/export.pdf")
    assert "case_officer" not in pdf and not UUID.search(pdf)


def test_staff_get_no_export(full_record, users, web_client):  # noqa: F811
    for role in ("officer_east", "privacy", "admin"):
        response = web_client(users[role]).get(f"/me/record/{full_record.pk}/export.pdf")
        assert response.status_code == 404, role


def _document(**changes):
    base = {
        "format": export.FORMAT_VERSION, "generated_at": "2026-12-06T14:00:00Z",
        "person": {"id": "6a1f0c1e-0000-4000-8000-000000000000", "a_number": None,
                   "date_of_birth": None, "citizenship": ["ZZ"], "languages": ["xx"],
                   "interpreter_needed": False,
                   "names": [{"kind": "nickname", "full_name": "R", "given_names": "",
                              "family_names": ""}]},
        "addresses": [], "contacts": [{"kind": "fax", "value": "1", "preferred": False}],
        "cases": [], "supervision": [],
        "disclosures": {"entries": [{"disclosed_at": "2026-11-01", "categories": ["teleport"],
                                     "purpose": "p", "recipient": "r", "recipient_address": "",
                                     "authority": "b7"}], "withheld_count": 0},
        "accesses": {"total": 1, "items": [{"time": "2026-12-01T10:00:00Z", "role": "wizard",
                                            "office": "", "purpose": "fun", "action": "fly",
                                            "category": "sky", "outcome": "maybe"}]},
        "deletions": [], "amendments": [],
    }
    base.update(changes)
    return base


def test_unknown_codes_read_as_other_never_as_themselves():
    with translation.override("es"):
        words = export.in_words(_document())
    assert words["person"]["citizenship"] == "Otro" and words["person"]["languages"] == "Otro"
    assert words["person"]["names"][0]["kind"] == "Otro"
    assert words["contacts"][0]["kind"] == "Otro"
    access = words["accesses"]["items"][0]
    assert {access[k] for k in ("role", "purpose", "action", "category", "outcome")} == {"Otro"}
    assert access["office"] == "—"
    entry = words["disclosures"]["entries"][0]
    assert entry["categories"] == ["Otro"] and "552a(b)(7)" in entry["authority"]
    assert words["person"]["reference"] == "6A1F0C1E" and words["person"]["date_of_birth"] == "—"


def test_a_choice_the_json_holds_as_a_staff_label_is_said_in_the_persons_words():
    case = {"reference": "C-1", "type": "Removal proceedings", "status": "nonsense",
            "opened_on": "2026-01-05", "proceedings": [], "deadlines": []}
    from caseledger.cases.models import Case

    label = dict(Case._meta.get_field("case_type").choices)["removal"]
    with translation.override("en"):
        shown = export.in_words(_document(cases=[{**case, "type": str(label)}]))["cases"][0]
    assert shown["type"] == "Removal proceedings (INA 240)"
    assert shown["status"] == "Other" and shown["opened_on"] == "Jan. 5, 2026"
