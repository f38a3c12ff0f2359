"""The privacy office's audit pages in words: the ledger event page and the anomaly item page
show the ledger's codes (action, category, purpose, outcome, role, office, record type) as
words through the formatting layer (core/templatetags/show.py), the actor by username and
moments in the viewer's zone; ids only where they are the point (to quote for a proof or a
person's ledger), labelled, never as the visible text of the page's table."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.template import Context, Template
from django.utils import translation

from caseledger.accounts.models import Role
from caseledger.core.templatetags import show
from caseledger.ledger.models import Event, Outcome
from caseledger.ledger.vocabulary import Action, Category, Purpose
from caseledger.reports.models import AnomalyItem, Rule
from caseledger.reports.services import build_anomaly_report
from tests.conftest import last_event_id
from tests.reports.conftest import MONDAY, WEEK, fixed_now, random_subjects, write  # noqa: F401

pytestmark = pytest.mark.usefixtures("fixed_now")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def render(text: str, **values: object) -> str:
    return Template("{% load show %}" + text).render(Context(values))


def visible(page: str) -> str:
    """What a reader sees without opening anything: the main content, tags and attributes
    out, the closed "as the ledger holds them" block out."""
    body = page.split("<main", 1)[1].split("</main>", 1)[0]
    body = re.sub(r"<details.*?</details>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


@pytest.mark.parametrize(("vocabulary", "table"), [
    (Action, show.ACTIONS), (Category, show.CATEGORIES), (Purpose, show.PURPOSES),
    (Outcome, show.OUTCOMES), (Role, show.ROLES),
])
def test_every_code_of_the_ledger_vocabulary_has_words(vocabulary, table):
    assert sorted(set(vocabulary.values) - set(table)) == []


def test_codes_in_words_in_english_and_spanish():
    with translation.override("en"):
        assert render('{{ v|label:"action" }}', v="disclose") == "Shared outside the agency"
        assert render('{{ v|label:"category" }}', v="hearings") == "Hearings"
        assert render('{{ v|label:"outcome" }}', v="denied") == "Refused"
        assert render('{{ v|label:"purpose" }}', v="notice") == "Sending the person a reminder"
        assert render('{{ v|label:"role" }}', v="privacy_officer") == "Privacy officer"
        assert render('{{ v|label:"record" }}', v="people.person") == "Person"
    with translation.override("es"):
        assert render('{{ v|label:"action" }}', v="disclose") == "Compartió fuera de la agencia"
        assert render('{{ v|label:"outcome" }}', v="denied") != "Refused"


def test_an_unknown_code_or_record_type_is_shown_as_it_is():
    assert render('{{ v|label:"action" }}', v="teleport") == "teleport"
    assert render('{{ v|label:"record" }}', v="nowhere.nothing") == "nowhere.nothing"
    assert render('{{ v|label:"record" }}', v="not a label") == "not a label"


def test_detail_in_words_ids_short_and_lists_of_ids_counted():
    ids = [str(s) for s in random_subjects(3)]
    with translation.override("en"):
        rows = dict(show.detail_rows({"outcome": "denied", "subjects": ids, "event": ids[0],
                                      "match": "spelling", "new_key": 4, "flag": True}))
    assert rows["Outcome"] == "Refused"
    assert rows["Persons named"] == "3"
    assert rows["Event"] == ids[0].replace("-", "")[:8].upper()
    assert rows["How the name matched"] == "a name spelled alike"
    assert rows["New key"] == "4" and rows["Flag"] == "yes"
    assert show.detail_rows("not a dict") == [] and show.detail_rows(None) == []


def test_an_actor_is_named_by_username_never_by_id(users):
    show._ACCOUNT_NAMES.clear()
    officer = users["officer_west"]
    assert render("{{ v|account }}", v=officer.pk) == "officer.west"
    assert render("{{ v|account }}", v="") == "The system"
    assert render("{{ v|account }}", v=random_subjects(1)[0]) == "An account that no longer exists"


@pytest.fixture
def report(users):
    """A built week with one bulk-viewing item of officer.west, and one refused read."""
    for i, subject in enumerate(random_subjects(60)):
        write(users["officer_west"], MONDAY + timedelta(days=1, hours=15, seconds=i),
              subject_id=subject)
    write(users["officer_west"], MONDAY + timedelta(days=1, hours=16), outcome="denied",
          category="hearings", purpose="caseload")
    return build_anomaly_report(WEEK).report


def test_the_event_page_says_the_event_in_words(report, users, web_client):
    event = Event.objects.filter(outcome="denied", actor_id=str(users["officer_west"].pk)).get()
    with translation.override("en"):
        page = web_client(users["privacy"]).get(f"/reports/events/{event.pk}/")
    assert page.status_code == 200
    text = visible(page.content.decode())
    for words in ("officer.west", "Case officer", "West office", "Looked at", "Hearings",
                  "Managing their caseload", "Refused", "Person (reference)"):
        assert words in text, words
    for code in ("case_officer", " west ", "denied", "hearings"):
        assert code not in text, code
    assert not re.search(r">\s*(caseload|read|allowed|denied)\s*<", page.content.decode().split(
        "<details", 1)[0])  # no cell that is a bare code
    assert not UUID.search(text), UUID.search(text)
    assert re.search(r"Nov\. 17, 2026, 4 p\.m\. [A-Z]{3}", text)  # in words, the zone named
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    raw = page.content.decode()
    ledger_block = raw.split("<details", 1)[1]
    assert str(event.uuid) in ledger_block and "data-reference" in ledger_block
    assert bytes(event.leaf_hash).hex() in ledger_block


def test_the_anomaly_item_page_says_the_item_and_its_events_in_words(report, users, web_client):
    item = AnomalyItem.objects.get(report=report, rule=Rule.BULK_VIEWING)
    page = web_client(users["privacy"]).get(f"/reports/anomalies/items/{item.pk}/")
    assert page.status_code == 200
    text = visible(page.content.decode())
    assert "officer.west" in text and "Case officer, West office" in text
    assert "Persons on the caseload" in text and "Weeks compared" in text  # detail in words
    assert "Looked at: Identity" in text and "Managing their caseload" in text
    for code in ("case_officer", "read:", " identity ", "allowed"):
        assert code not in text, code
    assert not UUID.search(text), UUID.search(text)  # bulk viewing names no single person


def test_an_item_about_one_person_names_their_record_id_labelled(report, users, web_client):
    item = AnomalyItem.objects.get(report=report, rule=Rule.BULK_VIEWING)
    subject = random_subjects(1)[0]
    AnomalyItem.objects.filter(pk=item.pk).update(subject_id=subject)
    raw = web_client(users["privacy"]).get(f"/reports/anomalies/items/{item.pk}/").content
    found = re.search(r"<th scope=\"row\">([^<]+)</th><td[^>]*data-reference>([^<]+)<",
                      raw.decode())
    assert found is not None
    assert "record id" in html.unescape(found.group(1)) and found.group(2) == str(subject)


@pytest.mark.parametrize("role", ["officer_east", "supervisor_east", "admin", "participant",
                                  "representative"])
def test_other_roles_get_neither_page_and_each_refusal_is_recorded(report, users, web_client,
                                                                   role):
    event = Event.objects.order_by("id").first()
    item = AnomalyItem.objects.get(report=report, rule=Rule.BULK_VIEWING)
    client = web_client(users[role])
    for url in (f"/reports/events/{event.pk}/", f"/reports/anomalies/items/{item.pk}/"):
        mark = last_event_id()
        response = client.get(url)
        assert response.status_code in (403, 404), (role, url)
        assert "officer.west" not in response.content.decode()
        refusals = Event.objects.filter(id__gt=mark, outcome="denied")
        assert refusals.count() == 1, (role, url)


@pytest.mark.parametrize("event_id", ["0", "-1", "abc", "99999999999", "9" * 30])
def test_a_bad_event_id_is_a_recorded_404(users, web_client, event_id):
    mark = last_event_id()
    response = web_client(users["privacy"]).get(f"/reports/events/{event_id}/")
    assert response.status_code == 404
    assert Event.objects.filter(id__gt=mark, outcome="denied", actor_role="privacy_officer",
                                record_type="ledger.event").count() == 1
