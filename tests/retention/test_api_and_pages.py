"""The retention API and pages: privacy officers only; bad input gets a 4xx naming the rule."""

from __future__ import annotations

import uuid

import pytest

from caseledger.retention import services
from caseledger.retention.models import DeletionCertificate, LegalHold
from caseledger.retention.services import run_purge
from tests.conftest import context
from tests.retention.conftest import PAST, make_checkin

REASON = "Preserve for litigation: Doe v. Agency"


@pytest.fixture
def privacy_api(api_client, users):
    return api_client(users["privacy"])


def test_api_schedules(privacy_api):
    response = privacy_api.get("/api/v1/retention/schedules")
    assert response.status_code == 200
    rows = {r["data_class"]: r for r in response.json()}
    assert rows["ledger_event"]["method"] == "permanent"
    assert rows["ledger_event"]["period_days"] is None
    assert rows["failed_check_image"]["period_days"] == 28


def test_api_place_list_and_release_holds(privacy_api, enrolled):
    pid = str(enrolled.enrolment.person_id)
    response = privacy_api.post(
        "/api/v1/retention/holds",
        {"person": pid, "reason": REASON, "data_class": "notes"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    hold = response.json()
    assert hold["person"] == pid and hold["active"] and hold["placed_by"] == "privacy"

    listed = privacy_api.get("/api/v1/retention/holds?active_only=true").json()
    assert [h["id"] for h in listed] == [hold["id"]]

    released = privacy_api.post(
        f"/api/v1/retention/holds/{hold['id']}/release",
        {"reason": "Litigation settled."},
        content_type="application/json",
    )
    assert released.status_code == 200 and released.json()["active"] is False
    again = privacy_api.post(
        f"/api/v1/retention/holds/{hold['id']}/release",
        {"reason": "Litigation settled."},
        content_type="application/json",
    )
    assert again.status_code == 409 and again.json()["code"] == "already_released"
    assert privacy_api.get("/api/v1/retention/holds?active_only=true").json() == []


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"person": str(uuid.uuid4()), "reason": REASON}, 404, "unknown_person"),
        ({"person": "x", "reason": REASON}, 422, None),
        ({"person": "PID", "reason": "short"}, 422, None),
        ({"person": "PID", "reason": REASON, "data_class": "ledger_event"}, 422, "not_holdable"),
        ({"person": "PID", "reason": REASON, "data_class": "everything"}, 422, "unknown_class"),
        ({"person": ["PID", "PID"], "reason": REASON}, 422, None),
        ({"person": "PID", "reason": REASON, "persons": ["PID"]}, 422, None),
    ],
)
def test_api_bad_holds_are_refused(privacy_api, enrolled, body, status, code):
    pid = str(enrolled.enrolment.person_id)
    body = {
        k: (
            [pid if x == "PID" else x for x in v]
            if isinstance(v, list)
            else pid
            if v == "PID"
            else v
        )
        for k, v in body.items()
    }
    response = privacy_api.post("/api/v1/retention/holds", body, content_type="application/json")
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
    assert response.json()["detail"]
    assert not LegalHold.objects.exists()


def test_api_certificates(privacy_api, enrolled, privacy_ctx):
    for _ in range(3):
        make_checkin(enrolled.enrolment, location_due=PAST)
    run_purge(privacy_ctx, batch_size=2)
    page = privacy_api.get("/api/v1/retention/certificates?per_page=2").json()
    assert page["total"] == 4 and len(page["items"]) == 2
    first = page["items"][0]
    cert = DeletionCertificate.objects.get(pk=first["id"])
    assert first["ledger_event"] == str(cert.ledger_event)
    only = privacy_api.get("/api/v1/retention/certificates?data_class=checkin_location").json()
    assert {c["data_class"] for c in only["items"]} == {"checkin_location"}
    assert sum(c["count"] for c in only["items"]) == 3


@pytest.mark.parametrize(
    "role", ["officer_east", "supervisor_east", "admin", "participant", "representative"]
)
def test_api_other_roles_are_refused(api_client, users, enrolled, role):
    client = api_client(users[role])
    pid = str(enrolled.enrolment.person_id)
    for response in (
        client.get("/api/v1/retention/schedules"),
        client.get("/api/v1/retention/holds"),
        client.get("/api/v1/retention/certificates"),
        client.post(
            "/api/v1/retention/holds",
            {"person": pid, "reason": REASON},
            content_type="application/json",
        ),
        client.post(
            f"/api/v1/retention/holds/{uuid.uuid4()}/release",
            {"reason": REASON},
            content_type="application/json",
        ),
    ):
        assert response.status_code == 403, response.content
        assert "privacy officer" in response.json()["detail"]
    assert not LegalHold.objects.exists()


# --- pages ----------------------------------------------------------------------------------
@pytest.fixture
def privacy_web(web_client, users):
    return web_client(users["privacy"])


def test_pages_render_for_the_privacy_officer(privacy_web, enrolled, privacy_ctx):
    make_checkin(enrolled.enrolment)
    preview = privacy_web.get("/retention/preview/")
    assert preview.status_code == 200
    assert b'data-class="failed_check_image"' in preview.content
    run_purge(privacy_ctx)
    cert = DeletionCertificate.objects.get()
    for url in (
        "/retention/",
        "/retention/holds/",
        "/retention/certificates/",
        f"/retention/certificates/{cert.pk}/",
    ):
        response = privacy_web.get(url)
        assert response.status_code == 200, url
    detail = privacy_web.get(f"/retention/certificates/{cert.pk}/").content.decode()
    assert str(cert.ledger_event) in detail and cert.record_ids[0] in detail
    assert privacy_web.get(f"/retention/certificates/{uuid.uuid4()}/").status_code == 404


def test_place_a_hold_with_the_form_and_release_it_after_confirmation(privacy_web, enrolled):
    pid = enrolled.enrolment.person_id
    response = privacy_web.post(
        "/retention/holds/", {"person": str(pid), "data_class": "", "reason": REASON}
    )
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    confirm = privacy_web.get(f"/retention/holds/{hold.pk}/release/")
    assert confirm.status_code == 200 and b"falls due again" in confirm.content
    hold.refresh_from_db()
    assert hold.active  # showing the confirmation changes nothing
    done = privacy_web.post(
        f"/retention/holds/{hold.pk}/release/", {"reason": "Litigation settled."}
    )
    assert done.status_code == 302
    hold.refresh_from_db()
    assert not hold.active


def test_the_hold_form_refuses_bad_input(privacy_web, enrolled):
    unknown = privacy_web.post("/retention/holds/", {"person": str(uuid.uuid4()), "reason": REASON})
    assert unknown.status_code == 422 and b"existing person" in unknown.content
    short = privacy_web.post(
        "/retention/holds/", {"person": str(enrolled.enrolment.person_id), "reason": "short"}
    )
    assert short.status_code == 422
    assert not LegalHold.objects.exists()


def test_releasing_twice_through_the_page_is_refused(privacy_web, enrolled, privacy_ctx):
    hold = services.place_hold(
        ctx=privacy_ctx, person_id=enrolled.enrolment.person_id, reason=REASON
    )
    services.release_hold(ctx=privacy_ctx, hold_id=hold.pk, reason="Litigation settled.")
    page = privacy_web.get(f"/retention/holds/{hold.pk}/release/")
    assert b"already been released" in page.content
    again = privacy_web.post(
        f"/retention/holds/{hold.pk}/release/", {"reason": "Litigation settled, again."}
    )
    assert again.status_code == 422 and b"already been released" in again.content


@pytest.mark.parametrize("role", ["officer_east", "supervisor_east", "admin", "participant"])
def test_pages_refuse_other_roles(web_client, users, role):
    client = web_client(users[role])
    for url in (
        "/retention/",
        "/retention/holds/",
        "/retention/certificates/",
        "/retention/preview/",
        f"/retention/holds/{uuid.uuid4()}/release/",
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(
            "/retention/holds/", {"person": str(uuid.uuid4()), "reason": REASON}
        ).status_code
        == 403
    )


def test_certificates_are_paginated(privacy_web, enrolled, users):
    for _ in range(30):
        make_checkin(enrolled.enrolment)
    run_purge(context(users["privacy"]), batch_size=1)
    first = privacy_web.get("/retention/certificates/").content.decode()
    assert first.count("data-certificate=") == 25 and "Page 1 of 2" in first
    second = privacy_web.get("/retention/certificates/?page=2").content.decode()
    assert second.count("data-certificate=") == 5
