"""The disclosure pages: queue, new request (letter upload), decision with confirmation,
package downloads, routine uses, accounting (with a correction), corrections log."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from caseledger.disclosures import services
from caseledger.disclosures.models import AccountingEntry, CorrectionNotice, DisclosureRequest
from tests.conftest import context
from tests.disclosures.conftest import LETTER, request_input


def _form(who, **overrides):
    data = {
        "person": who.a_number,
        "agency": "EOIR",
        "official_name": "Dana Cruz",
        "official_title": "Court Administrator",
        "official_rank": "supervisor",
        "authority": "ICE-A",
        "activity": "Removal proceedings before the Newark court",
        "categories": ["identity", "hearings"],
        "letter": SimpleUploadedFile("letter.pdf", LETTER, content_type="application/pdf"),
    }
    data.update(overrides)
    return data


def test_new_request_by_a_number_then_confirmed_approval(
    web_client, users, person, privacy2, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.VAR_DIR = tmp_path
    enterer = web_client(users["privacy"])
    assert enterer.get("/disclosures/new/").status_code == 200
    response = enterer.post("/disclosures/new/", _form(person))
    assert response.status_code == 302, response.content.decode()[:2000]
    req = DisclosureRequest.objects.get()
    assert req.person_id == person.pk
    page = enterer.get(f"/disclosures/{req.pk}/").content.decode()
    assert "waits for a privacy officer who did not enter it" in page
    assert enterer.get("/disclosures/").status_code == 200

    decider = web_client(privacy2)
    # First POST asks for confirmation and writes nothing.
    response = decider.post(
        f"/disclosures/{req.pk}/",
        {"decision": "approve", "reason": "Routine use A: proceedings pending."},
    )
    assert response.status_code == 200 and "data-confirm" in response.content.decode()
    req.refresh_from_db()
    assert req.status == "pending" and not AccountingEntry.objects.exists()
    response = decider.post(
        f"/disclosures/{req.pk}/",
        {
            "decision": "approve",
            "reason": "Routine use A: proceedings pending.",
            "confirmed": "True",
        },
    )
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.status == "approved"
    pdf = decider.get(f"/disclosures/{req.pk}/package.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "[identity]" in text and "[addresses]" not in text
    assert decider.get(f"/disclosures/{req.pk}/package.json").status_code == 200
    assert decider.get(f"/disclosures/{req.pk}/letter.pdf").content == LETTER
    assert decider.get(f"/disclosures/{req.pk}/package.exe").status_code == 404

    # The accounting: a privacy officer sees it for a person named in a request, without a
    # grant on the person's record.
    from caseledger.access.models import Grant

    grants = Grant.objects.filter(user=privacy2).count()
    url = f"/disclosures/persons/{person.pk}/accounting/"
    page = decider.get(url).content.decode()
    assert "Executive Office for Immigration Review" in page
    assert "Open a privacy review" not in page
    assert Grant.objects.filter(user=privacy2).count() == grants
    with django_capture_on_commit_callbacks(execute=True):
        response = decider.post(
            url,
            {"action": "correct", "categories": ["identity"], "reason": "Name spelling corrected."},
        )
    assert response.status_code == 302
    assert CorrectionNotice.objects.count() == 1
    page = decider.get("/disclosures/corrections/").content.decode()
    assert "Delivery log" in page and "sent" in page


def test_new_request_refusals_are_shown_in_the_form(web_client, users, person):
    client = web_client(users["privacy"])
    response = client.post("/disclosures/new/", _form(person, categories=["contacts"]))
    assert response.status_code == 422
    assert "does not allow the categories: contacts" in response.content.decode()
    response = client.post(
        "/disclosures/new/",
        _form(
            person, letter=SimpleUploadedFile("x.pdf", b"not a pdf", content_type="application/pdf")
        ),
    )
    assert response.status_code == 422 and "must be a PDF" in response.content.decode()
    response = client.post("/disclosures/new/", _form(person, person="A000000001"))
    assert response.status_code == 404
    assert DisclosureRequest.objects.count() == 0


def test_enterer_sees_no_decision_form_and_others_are_refused(web_client, users, person):
    req = services.create_request(context(users["privacy"]), request_input(person))
    page = web_client(users["privacy"]).get(f"/disclosures/{req.pk}/").content.decode()
    assert 'name="decision"' not in page
    response = web_client(users["privacy"]).post(
        f"/disclosures/{req.pk}/",
        {"decision": "decline", "reason": "Self-decided, must be refused.", "confirmed": "True"},
    )
    assert response.status_code == 403
    for role in ("officer_east", "admin"):
        client = web_client(users[role])
        assert client.get("/disclosures/").status_code == 403
        assert client.get(f"/disclosures/{req.pk}/").status_code == 403
    assert web_client(users["supervisor_west"]).get(f"/disclosures/{req.pk}/").status_code == 404
    assert web_client(users["supervisor_east"]).get(f"/disclosures/{req.pk}/").status_code == 200
    req.refresh_from_db()
    assert req.status == "pending"


def test_routine_use_registry_page(web_client, users):
    page = web_client(users["supervisor_east"]).get("/disclosures/routine-uses/")
    assert page.status_code == 200
    text = page.content.decode()
    for code in ("ICE-A", "ICE-B", "ICE-C", "ICE-D", "ICE-E"):
        assert f'data-use="{code}"' in text
    assert "552a(b)(3)" in text


def test_demo_seeding_through_the_services(users, make_person):
    from caseledger.disclosures.demo import seed_demo

    for given in ("Ana", "Luis", "Rosa"):
        make_person("officer_east", given, "Demo")
    out = io.StringIO()
    seed_demo(out=out)
    assert "Seeded 4" in out.getvalue()
    statuses = sorted(DisclosureRequest.objects.values_list("status", flat=True))
    assert statuses == ["approved", "approved", "declined", "pending"]
    assert AccountingEntry.objects.filter(withheld_from_subject=True).count() == 1
