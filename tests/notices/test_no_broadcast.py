"""No summoning people en masse: no function or endpoint sends to many people, none takes free
text, none selects recipients by office, status or date. Every reminder is one person's own
obligation rendered from an approved template."""

from __future__ import annotations

import inspect

from caseledger.notices import channels, delivery, services, tasks, urls
from caseledger.notices.models import Reminder

FREE_TEXT = {"text", "message", "body", "subject", "content", "note", "free_text"}
MANY = {"persons", "people", "recipients", "person_ids", "office", "offices", "everyone",
        "status", "audience", "filter", "query", "queryset"}
WRITING_TEMPLATES = {"draft_template"}  # writes a draft for approval; sends nothing
INBOUND = {"handle_inbound_sms"}  # reads a reply from the person (STOP); sends nothing
CONFIGURATION = {"set_office_contact"}  # the office's phone printed in reminders; sends nothing


def test_the_public_surface_takes_one_persons_obligation_and_no_free_text():
    for name in services.__all__:
        func = getattr(services, name)
        params = set(inspect.signature(func).parameters)
        if name not in CONFIGURATION:
            assert not params & MANY, f"{name} selects recipients: {params & MANY}"
        if name not in WRITING_TEMPLATES | INBOUND:
            assert not params & FREE_TEXT, f"{name} takes free text: {params & FREE_TEXT}"
        lowered = name.lower()
        assert not any(w in lowered for w in ("broadcast", "bulk", "mass", "everyone", "blast"))


def test_sending_works_from_reminders_only():
    # send_due takes a time and a batch size; send_reminder one reminder id
    assert set(inspect.signature(delivery.send_due).parameters) == {"now", "limit"}
    assert set(inspect.signature(delivery.send_reminder).parameters) == {"reminder_id", "now"}
    # a message is addressed to one recipient
    assert "to" in {f.name for f in channels.Message.__dataclass_fields__.values()}
    assert channels.Message.__dataclass_fields__["to"].type == "str"
    # and a reminder belongs to one person and one obligation, with no text of its own
    fields = {f.name for f in Reminder._meta.get_fields()}
    assert {"person", "obligation_type", "obligation_id"} <= fields
    assert not fields & FREE_TEXT


def test_tasks_take_ids_only():
    for task in (tasks.send_due_reminders, tasks.plan_reminders_for_hearing,
                 tasks.plan_upcoming_reminders):
        params = set(inspect.signature(task.func).parameters)
        assert params <= {"limit", "hearing_id"}, params


def test_no_endpoint_sends_anything():
    names = {p.name for p in urls.urlpatterns}
    assert names == {"calendar", "calendar_feed", "opt_out", "sms_inbound", "alerts",
                     "person_reminders", "templates", "template_approve"}
    # the only POST endpoints: feed create/revoke, opt-out, inbound STOP, mark read, templates
    assert not any(w in name for name in names for w in ("broadcast", "send", "blast", "mass"))
