"""Background tasks on the database queue (django-tasks-db) run by its worker, and the
`caseledger notices` command."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus, task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from caseledger.cases.courts import COURTS
from caseledger.cases.models import Court
from caseledger.notices import tasks
from caseledger.notices.defaults import seed
from caseledger.notices.models import Reminder, ReminderStatus


@pytest.fixture
def database_queue(transactional_db) -> Iterator[None]:
    """The real database backend for the test's thread; migration data a transactional
    test's flush removes is put back first."""
    from django.apps import apps

    for code, name, tz in COURTS:
        Court.objects.update_or_create(code=code, defaults={"name": name, "time_zone": tz})
    seed(apps)
    task_backends["default"] = DatabaseBackend(alias="default", params={"QUEUES": ["default"]})
    try:
        yield
    finally:
        del task_backends["default"]


def test_the_worker_sends_due_reminders_from_the_database_queue(database_queue, notice_settings,
                                                               make_hearing, tmp_path):
    notice_settings.NOTICE_CHANNELS = ["file"]
    hearing = make_hearing(days=30)
    result = tasks.send_due_reminders.enqueue(limit=50)
    row = DBTaskResult.objects.get(id=result.id)
    assert row.status == TaskResultStatus.READY
    notice = Reminder.objects.get(obligation_id=str(hearing.pk), kind="scheduled")
    assert notice.status == ReminderStatus.PLANNED  # nothing happens until the worker runs
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0",
                 "--verbosity", "0")
    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert row.task_result.return_value["sent"] == 1
    notice.refresh_from_db()
    assert notice.status == ReminderStatus.SENT and notice.channel == "file"
    [eml] = (tmp_path / "outbox").glob("*.eml")
    assert str(notice.pk) in eml.name


def test_the_loop_enqueues_once_per_tick_and_not_twice(database_queue, notice_settings):
    call_command("notices", "send-due", "--loop", "--max-ticks", "1", "--interval", "0")
    call_command("notices", "send-due", "--loop", "--max-ticks", "1", "--interval", "0")
    paths = sorted(DBTaskResult.objects.values_list("task_path", flat=True))
    # a send task and a planning top-up, not repeated while they wait for the worker
    assert paths == ["caseledger.notices.tasks.plan_upcoming_reminders",
                     "caseledger.notices.tasks.send_due_reminders"]
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0",
                 "--verbosity", "0")
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


def test_tasks_run_inline_with_the_immediate_backend(notice_settings, make_hearing, capsys):
    notice_settings.NOTICE_CHANNELS = ["file"]
    hearing = make_hearing(days=30)
    Reminder.objects.all().delete()
    result = tasks.plan_reminders_for_hearing.enqueue(str(hearing.pk))
    assert result.return_value["created"] == 4
    assert tasks.send_due_reminders.enqueue().return_value["sent"] == 1
    assert tasks.plan_reminders_for_hearing.enqueue(
        "00000000-0000-0000-0000-000000000000").return_value["created"] == 0
    call_command("notices", "send-due")
    assert "sent=0" in capsys.readouterr().out
