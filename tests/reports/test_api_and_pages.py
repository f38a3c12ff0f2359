"""The reports API and pages: who may use them, closing an item, and the refusals."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from caseledger.ledger.models import Event
from caseledger.reports.models import AnomalyItem, Rule
from caseledger.reports.services import build_anomaly_report
from tests.conftest import last_event_id
from tests.reports.conftest import MONDAY, WEEK, random_subjects, write

API = "/api/v1/reports"

pytestmark = pytest.mark.usefixtures("fixed_now")


@pytest.fixture
def report(users):
    """A built week with one bulk-viewing item."""
    for i, subject in enumerate(random_subjects(60)):
        write(
            users["officer_west"],
            MONDAY + timedelta(days=1, hours=15, seconds=i),
            subject_id=subject,
        )
    return build_anomaly_report(WEEK).report


def item_of(report):
    return AnomalyItem.objects.get(report=report, rule=Rule.BULK_VIEWING)


def test_api_lists_reports_for_privacy_officers_only(report, users, api_client):
    response = api_client(users["privacy"]).get(f"{API}/anomalies")
    assert response.status_code == 200, response.content
    [body] = response.json()
    assert body["week"] == WEEK
    assert [i["rule"] for i in body["items"]] == ["bulk_viewing"]
    assert body["items"][0]["status"] == "open"
    one = api_client(users["privacy"]).get(f"{API}/anomalies", {"week": WEEK})
    assert one.status_code == 200 and one.json()[0]["week"] == WEEK
    for role in ("officer_east", "supervisor_east", "admin", "participant"):
        refused = api_client(users[role]).get(f"{API}/anomalies")
        assert refused.status_code == 403, role
        assert refused.json()["code"] == "role"
    assert (
        api_client(users["privacy"]).get(f"{API}/anomalies", {"week": "2026-W99"}).status_code
        == 422
    )
    assert (
        api_client(users["privacy"]).get(f"{API}/anomalies", {"week": "2026-W10"}).status_code
        == 404
    )


def test_api_closes_an_item_with_a_finding(report, users, api_client):
    item = item_of(report)
    client = api_client(users["privacy"])
    url = f"{API}/anomalies/items/{item.pk}/finding"
    mark = last_event_id()
    bad_bodies = [
        ({"finding": "Looked at it carefully.", "outcome": "fine"}, 422),
        ({"finding": "short", "outcome": "justified"}, 422),
        ({"finding": "x" * 5000, "outcome": "justified"}, 422),
        ({"finding": "Looked at it carefully.", "outcome": "justified", "extra": 1}, 422),
        ({"finding": "Looked at it\x00 carefully.", "outcome": "justified"}, 422),
        ({"finding": 12345678901, "outcome": "justified"}, 422),
        ({"finding": "Looked at it carefully.", "outcome": "justified", "row_version": 7}, 409),
    ]
    for body, status in bad_bodies:
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == status, (body, response.content)
    refused = api_client(users["officer_east"]).post(
        url,
        {"finding": "I close my own item.", "outcome": "justified"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    missing = client.post(
        f"{API}/anomalies/items/not-an-id/finding",
        {"finding": "Looked at it carefully.", "outcome": "justified"},
        content_type="application/json",
    )
    assert missing.status_code == 404
    assert not Event.objects.filter(id__gt=mark, action="close", outcome="allowed").exists()
    item.refresh_from_db()
    assert item.is_open
    short = client.post(
        url, {"finding": "short", "outcome": "justified"}, content_type="application/json"
    )
    assert "at least 10 characters" in short.json()["detail"]

    ok = client.post(
        url,
        {
            "finding": "Bulk review ordered by the office for an audit.",
            "outcome": "referred",
            "row_version": 1,
        },
        content_type="application/json",
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["status"] == "closed" and ok.json()["outcome"] == "referred"
    [event] = Event.objects.filter(id__gt=mark, action="close", outcome="allowed")
    assert (event.data_category, event.record_type, event.record_id) == (
        "anomaly",
        "reports.anomalyitem",
        str(item.pk),
    )
    assert event.detail == {
        "week": WEEK,
        "rule": "bulk_viewing",
        "outcome": "referred",
        "actor": item.actor_id,
    }
    assert b"audit" not in bytes(event.leaf)  # the finding's text stays out of the ledger
    again = client.post(
        url,
        {"finding": "A second finding, later on.", "outcome": "training"},
        content_type="application/json",
    )
    assert again.status_code == 409 and again.json()["code"] == "already_closed"


def test_api_transparency(users, api_client):
    write(
        users["privacy"],
        MONDAY,
        action="disclose",
        category="disclosure",
        purpose="privacy_review",
        detail={"authority": "b7", "agency": "CBP"},
    )
    response = api_client(users["officer_east"]).get(f"{API}/transparency", {"period": "2026-11"})
    assert response.status_code == 200, response.content
    assert response.json()["figures"]["disclosures"]["disclosed"] == "fewer than 10"
    bad = api_client(users["officer_east"]).get(f"{API}/transparency", {"period": "2026-Q9"})
    assert bad.status_code == 422 and bad.json()["code"] == "bad_period"
    assert bad.json()["field"] == "period"
    assert (
        api_client(users["participant"]).get(f"{API}/transparency", {"period": "2026"}).status_code
        == 403
    )
    assert (
        api_client(users["representative"])
        .get(f"{API}/transparency", {"period": "2026"})
        .status_code
        == 403
    )


def test_pages_list_report_item_events_and_close_with_confirmation(report, users, web_client):
    client = web_client(users["privacy"])
    item = item_of(report)
    listing = client.get("/reports/anomalies/")
    assert listing.status_code == 200 and WEEK in listing.content.decode()
    page = client.get(f"/reports/anomalies/{WEEK}/")
    assert page.status_code == 200 and str(item.pk) in page.content.decode()
    mark = last_event_id()
    detail = client.get(f"/reports/anomalies/items/{item.pk}/")
    html = detail.content.decode()
    assert detail.status_code == 200 and "60 ledger events" in html
    [read] = Event.objects.filter(id__gt=mark)
    assert (read.action, read.record_type) == ("read", "reports.anomalyitem")
    first_event = Event.objects.filter(actor_id=item.actor_id).order_by("time").first()
    event_page = client.get(f"/reports/events/{first_event.pk}/")
    assert event_page.status_code == 200
    assert bytes(first_event.leaf_hash).hex() in event_page.content.decode()
    assert client.get("/reports/events/999999999/").status_code == 404

    url = f"/reports/anomalies/items/{item.pk}/"
    bad = client.post(url, {"outcome": "justified", "finding": "short"})
    assert bad.status_code == 200 and "at least 10 characters" in bad.content.decode()
    finding = "The officer was covering for a colleague on leave."
    confirm = client.post(url, {"outcome": "training", "finding": finding})
    assert "Close this item?" in confirm.content.decode()
    item.refresh_from_db()
    assert item.is_open
    done = client.post(
        url, {"outcome": "training", "finding": finding, "confirm": "yes", "row_version": "1"}
    )
    assert done.status_code == 302
    item.refresh_from_db()
    assert (item.outcome, item.finding, item.closed_by) == ("training", finding, users["privacy"])
    assert finding in client.get(url).content.decode()


def test_pages_refuse_other_roles(report, users, web_client):
    item = item_of(report)
    officer = web_client(users["officer_east"])
    for url in (
        "/reports/anomalies/",
        f"/reports/anomalies/{WEEK}/",
        f"/reports/anomalies/items/{item.pk}/",
        "/reports/events/1/",
    ):
        assert officer.get(url).status_code == 403, url
    assert web_client(users["participant"]).get("/reports/transparency/").status_code == 403


def test_build_from_the_page(users, web_client):
    client = web_client(users["privacy"])
    bad = client.post("/reports/anomalies/", {"week": "2026-47"})
    assert bad.status_code == 200 and "ISO week" in bad.content.decode()
    done = client.post("/reports/anomalies/", {"week": "2026-W46"})
    assert done.status_code == 302 and done["Location"].endswith("/reports/anomalies/2026-W46/")


def test_a_week_that_has_not_ended_is_refused_by_the_page_and_the_api(
    users, web_client, api_client
):
    from caseledger.reports.models import AnomalyReport

    mark = last_event_id()
    client = web_client(users["privacy"])
    page = client.post("/reports/anomalies/", {"week": "2026-W49"})  # the current week
    html = page.content.decode()
    assert page.status_code == 200
    assert "2026-W49 has not ended yet" in html and "Monday 07 December 2026" in html
    api = api_client(users["privacy"])
    refused = api.post(f"{API}/anomalies", {"week": "2026-W50"}, content_type="application/json")
    assert refused.status_code == 422
    assert refused.json()["code"] == "week_not_over"
    assert "Monday 14 December 2026 at 00:00 UTC" in refused.json()["detail"]
    assert AnomalyReport.objects.count() == 0
    assert not Event.objects.filter(id__gt=mark, data_category="anomaly", action="create").exists()
    built = api.post(f"{API}/anomalies", {"week": WEEK}, content_type="application/json")
    assert built.status_code == 201 and built.json()["week"] == WEEK
    again = api.post(f"{API}/anomalies", {"week": WEEK}, content_type="application/json")
    assert again.status_code == 200 and again.json()["id"] == built.json()["id"]
    bad = api.post(f"{API}/anomalies", {"week": "2026-47"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["code"] == "bad_week"
    officer = api_client(users["officer_east"])
    denied = officer.post(f"{API}/anomalies", {"week": WEEK}, content_type="application/json")
    assert denied.status_code == 403


def test_transparency_page_and_downloads(users, web_client):
    for i in range(12):
        write(
            users["privacy"],
            MONDAY + timedelta(minutes=i),
            action="disclose",
            category="disclosure",
            purpose="privacy_review",
            detail={"authority": "b7", "agency": "CBP" if i else "FBI"},
        )
    client = web_client(users["supervisor_east"])
    page = client.get("/reports/transparency/", {"period": "2026-Q4"})
    html = page.content.decode()
    assert page.status_code == 200 and "Transparency report 2026-Q4" in html
    assert html.count('role="img"') == 2  # by authority and by agency; none declined
    assert "CBP" in html and "fewer than 10" in html
    # The suppression rule names its bound, and the period is written as dates, not as
    # ISO timestamps.
    assert "a figure from 1 to 9 is shown as" in html
    assert "T00:00:00" not in html and "Oct. 1, 2026" in html and "Jan. 1, 2027" in html
    as_json = client.get("/reports/transparency/", {"period": "2026-Q4", "format": "json"})
    assert as_json["Content-Type"] == "application/json"
    assert json.loads(as_json.content)["period"] == "2026-Q4"
    # 12 = CBP 11 + FBI 1: CBP is withheld, or FBI would be 12 - 11
    agency = json.loads(as_json.content)["figures"]["disclosures"]["disclosed_by_agency"]
    assert agency == {"CBP": "withheld", "FBI": "fewer than 10"}
    assert "<td>withheld</td>" in html and "<td>11</td>" not in html
    as_pdf = client.get("/reports/transparency/", {"period": "2026-Q4", "format": "pdf"})
    assert as_pdf["Content-Type"] == "application/pdf" and as_pdf.content.startswith(b"%PDF")
    bad = client.get("/reports/transparency/", {"period": "2026-Q7"})
    assert bad.status_code == 422 and "quarter (2026-Q4)" in bad.content.decode()


def test_household_page(users, web_client):
    client = web_client(users["officer_east"])
    assert client.get("/reports/household/").status_code == 200
    empty = client.post("/reports/household/", {"full_name": "", "relationship": ""})
    assert empty.status_code == 200
    assert (
        client.post(
            "/reports/household/", {"full_name": "Rosa Díaz", "relationship": "sibling"}
        ).status_code
        == 302
    )
    member = users["officer_east"].household_members.get()
    assert "Rosa Díaz" in client.get("/reports/household/").content.decode()
    confirm = client.get(f"/reports/household/{member.pk}/remove/")
    assert "Yes, withdraw" in confirm.content.decode()
    other = web_client(users["officer_east2"])
    assert other.post(f"/reports/household/{member.pk}/remove/").status_code == 404
    assert client.post(f"/reports/household/{member.pk}/remove/").status_code == 302
    assert not users["officer_east"].household_members.exists()
    assert web_client(users["participant"]).get("/reports/household/").status_code == 403
