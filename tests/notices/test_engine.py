"""The one delivery engine (`notices/engine.py`), run on both kinds it delivers: a reminder to a
person and a correction notice to an agency. Each test scripts the kind's channel and checks
the claim, the back-off, the give-up, the log of every attempt and what an unexpected error
leaves behind."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from django.db import connections
from django.utils import timezone
from tests.conftest import context, last_event_id, seed_reference_data

from caseledger.ledger.models import Event
from caseledger.notices import channels, engine
from caseledger.notices.channels import PERMANENT, SENT, TRANSIENT, DeliveryResult

pytestmark = pytest.mark.django_db

KINDS = ["reminder", "correction"]


@dataclass
class Harness:
    """One due item of one kind, its channel answering from `script` (a DeliveryResult, or an
    exception to raise; "sent" when the script is empty)."""

    kind: engine.Kind
    pk: Any
    log: Callable[[], list[tuple[int, bool, str]]]  # (attempt, sent, error) per attempt
    claimed: str  # the item's status while it is held
    script: list[Any] = field(default_factory=list)
    sends: list[Any] = field(default_factory=list)
    during_send: Callable[[], None] | None = None

    def answer(self, reference: Any) -> DeliveryResult:
        self.sends.append(str(reference))
        if self.during_send:
            self.during_send()
        step = self.script.pop(0) if self.script else DeliveryResult(SENT)
        if isinstance(step, BaseException):
            raise step
        return step

    def item(self) -> Any:
        return self.kind.model.objects.get(pk=self.pk)


def _reminder_harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
                      ) -> Harness:
    from caseledger.notices.delivery import REMINDERS
    from caseledger.notices.models import Delivery, Reminder

    notice_settings = request.getfixturevalue("notice_settings")
    notice_settings.NOTICE_CHANNELS = ["file"]
    hearing = request.getfixturevalue("make_hearing")(days=30)
    reminder = Reminder.objects.get(obligation_id=str(hearing.pk), kind="scheduled")

    def log() -> list[tuple[int, bool, str]]:
        rows = Delivery.objects.filter(reminder=reminder).order_by("attempt", "at")
        return [(d.attempt, d.status == "sent", d.error) for d in rows]

    harness = Harness(REMINDERS, reminder.pk, log, claimed="sending")
    monkeypatch.setattr(channels.FileChannel, "send",
                        lambda self, message: harness.answer(message.reference))
    return harness


def _correction_harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
                        ) -> Harness:
    from tests.disclosures.conftest import request_input

    from caseledger.accounts.models import Role
    from caseledger.disclosures import delivery, services
    from caseledger.disclosures.models import DeliveryLog

    request.getfixturevalue("settings").VAR_DIR = request.getfixturevalue("tmp_path")
    # Its first attempt, made when the notice's transaction commits, is left to the tests.
    monkeypatch.setattr(delivery, "deliver", lambda notice: notice)
    users = request.getfixturevalue("users")
    person = request.getfixturevalue("make_person")("officer_east", "Ana", "Ramirez")
    decider = request.getfixturevalue("make_user")("privacy2", Role.PRIVACY_OFFICER)
    entered = services.create_request(context(users["privacy"]), request_input(person))
    services.decide(context(decider), entered.pk, decision="approve",
                    reason="Meets the rule for its authority.")
    (notice,) = services.notify_prior_recipients(
        context(users["officer_east"]), person_id=person.pk, categories=["identity"],
        reason="Date of birth corrected.",
    )

    def log() -> list[tuple[int, bool, str]]:
        rows = DeliveryLog.objects.filter(notice=notice).order_by("attempt")
        return [(d.attempt, d.status == "sent", d.error) for d in rows]

    harness = Harness(delivery.CORRECTIONS, notice.pk, log, claimed="pending")
    monkeypatch.setitem(delivery.CHANNELS, notice.channel,
                        lambda item, subject, body: harness.answer(item.pk))
    return harness


@pytest.fixture(params=KINDS)
def harness(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Harness:
    make = _reminder_harness if request.param == "reminder" else _correction_harness
    return make(request, monkeypatch)


# --- back-off ---------------------------------------------------------------------------------
def test_a_failure_is_retried_on_the_one_back_off_schedule(harness: Harness) -> None:
    harness.script = [DeliveryResult(TRANSIENT, error="smtp_temporary")] * 2
    statuses = harness.kind.statuses
    start = timezone.now()
    assert engine.deliver_due(harness.kind, now=start) == {harness.pk: statuses.retry}
    item = harness.item()
    assert (item.status, item.attempts, item.last_error) == (statuses.retry, 1, "smtp_temporary")
    assert item.next_attempt_at == start + timedelta(minutes=5)
    # not due before the wait is over
    assert engine.deliver_due(harness.kind, now=start + timedelta(minutes=4, seconds=59)) == {}
    second = start + timedelta(minutes=5)
    assert engine.deliver(harness.kind, harness.pk, now=second) == statuses.retry
    assert harness.item().next_attempt_at == second + timedelta(minutes=30)
    third = second + timedelta(minutes=30)
    assert engine.deliver(harness.kind, harness.pk, now=third) == statuses.sent
    item = harness.item()
    assert (item.status, item.attempts, item.last_error, item.sent_at) == (
        statuses.sent, 3, "", third)
    assert harness.log() == [(1, False, "smtp_temporary"), (2, False, "smtp_temporary"),
                             (3, True, "")]
    assert len(harness.sends) == 3


def test_the_schedule_and_its_limit() -> None:
    assert [engine.retry_delay(n) for n in range(1, 6)] == [
        timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2), timedelta(hours=12),
        timedelta(hours=12)]
    assert engine.max_attempts() == 5


# --- give-up ----------------------------------------------------------------------------------
def test_the_last_attempt_gives_up(harness: Harness) -> None:
    harness.script = [DeliveryResult(TRANSIENT, error="timeout")] * 10
    moment = timezone.now()
    for _ in range(engine.max_attempts()):
        engine.deliver(harness.kind, harness.pk, now=moment)
        moment += timedelta(hours=13)  # past the longest wait
    item = harness.item()
    assert (item.status, item.attempts, item.last_error) == (
        harness.kind.statuses.failed, 5, "gave_up_timeout")
    assert harness.log() == [(n, False, "timeout") for n in range(1, 6)]
    # given up is final: nothing is due, nothing is tried again
    assert engine.deliver_due(harness.kind, now=moment + timedelta(days=2)) == {}
    assert engine.deliver(harness.kind, harness.pk, now=moment + timedelta(days=2)) is None
    assert len(harness.sends) == 5


def test_a_permanent_failure_gives_up_at_once(harness: Harness) -> None:
    harness.script = [DeliveryResult(PERMANENT, error="smtp_recipient_refused")]
    start = timezone.now()
    assert engine.deliver(harness.kind, harness.pk, now=start) == harness.kind.statuses.failed
    item = harness.item()
    assert (item.attempts, item.last_error) == (1, "smtp_recipient_refused")
    assert engine.deliver_due(harness.kind, now=start + timedelta(days=1)) == {}
    assert harness.log() == [(1, False, "smtp_recipient_refused")]


# --- the claim --------------------------------------------------------------------------------
def test_a_second_worker_finds_the_item_taken_and_sends_nothing(harness: Harness) -> None:
    """While one worker is sending, another (a node, or the retry loop) reaches the same item:
    it is not due for anyone else until the first settles it or its claim runs out."""
    now = timezone.now()
    second_tries: list[str | None] = []
    harness.during_send = lambda: second_tries.append(
        engine.deliver(harness.kind, harness.pk, now=now))
    assert engine.deliver(harness.kind, harness.pk, now=now) == harness.kind.statuses.sent
    assert second_tries == [None]
    assert harness.sends == [str(harness.pk)]
    assert harness.log() == [(1, True, "")]


def test_a_claim_left_by_a_dead_worker_is_taken_back_after_the_timeout(harness: Harness) -> None:
    start = timezone.now()
    assert engine.claim(harness.kind, harness.pk, start)  # ... and the worker dies
    assert engine.deliver_due(harness.kind, now=start + timedelta(minutes=14)) == {}
    later = start + engine.claim_timeout() + timedelta(seconds=1)
    assert engine.deliver_due(harness.kind, now=later) == {harness.pk: harness.kind.statuses.sent}
    assert harness.log() == [(1, True, "")]


@pytest.fixture
def reference_data(transactional_db: None) -> None:
    """Courts and agencies again: an earlier transactional test's flush removed them."""
    seed_reference_data()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_one_sends(
    reference_data: None, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two threads (two connections) read the item as due at the same moment; the barrier
    holds both until each has read its version. One claim wins; the other sends nothing."""
    barrier = threading.Barrier(2, timeout=30)
    real_claim_fields = harness.kind.claim_fields

    def claim_fields(now):  # noqa: ANN001, ANN202 (called after the row was read)
        barrier.wait()
        return real_claim_fields(now)

    monkeypatch.setattr(harness.kind, "claim_fields", claim_fields)
    now = timezone.now()
    results: list[str | None] = []

    def worker() -> None:
        try:
            results.append(engine.deliver(harness.kind, harness.pk, now=now))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results, key=str) == sorted([None, harness.kind.statuses.sent], key=str)
    assert harness.sends == [str(harness.pk)]
    assert harness.log() == [(1, True, "")]


# --- what an unexpected error leaves -----------------------------------------------------------
def test_a_channel_that_raises_is_a_failed_attempt(harness: Harness, caplog) -> None:  # noqa: ANN001
    harness.script = [RuntimeError("the driver broke")]
    start = timezone.now()
    mark = last_event_id()
    assert engine.deliver(harness.kind, harness.pk, now=start) == harness.kind.statuses.retry
    item = harness.item()
    assert (item.attempts, item.last_error) == (1, "internal_error")
    assert item.next_attempt_at == start + timedelta(minutes=5)
    assert harness.log() == [(1, False, "internal_error")]
    assert "the driver broke" in caplog.text  # the traceback is in the server log only
    events = Event.objects.filter(id__gt=mark)
    assert "the driver broke" not in str([e.detail for e in events])
    if harness.kind.what == "reminder":  # a reminder's every attempt is a ledger event
        [event] = events.filter(action="notify")
        assert (event.outcome, event.detail["error"]) == ("failed", "internal_error")
    else:  # a correction's event was written when it was made, not per attempt
        assert not events.exists()
    # the next attempt goes out as usual
    assert engine.deliver(harness.kind, harness.pk, now=start + timedelta(minutes=5)) == (
        harness.kind.statuses.sent)
    assert harness.log() == [(1, False, "internal_error"), (2, True, "")]


def test_an_outcome_that_cannot_be_written_leaves_no_half_written_row(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log rows, events and the item's new state are one transaction: when writing them
    fails halfway, none is kept; the item stays claimed and is tried again after the claim
    timeout."""
    real_record = harness.kind.record

    def record(*args: Any) -> Any:
        real_record(*args)  # the log row (and event) are written ...
        raise RuntimeError("database went away")  # ... and then the write fails

    monkeypatch.setattr(harness.kind, "record", record)
    start = timezone.now()
    mark = last_event_id()
    with pytest.raises(RuntimeError):
        engine.deliver(harness.kind, harness.pk, now=start)
    assert harness.log() == []
    assert not Event.objects.filter(id__gt=mark).exists()
    item = harness.item()
    assert (item.status, item.attempts, item.last_error, item.sent_at) == (
        harness.claimed, 0, "", None)
    monkeypatch.setattr(harness.kind, "record", real_record)
    assert engine.deliver_due(harness.kind, now=start + timedelta(minutes=1)) == {}
    later = start + engine.claim_timeout() + timedelta(seconds=1)
    assert engine.deliver(harness.kind, harness.pk, now=later) == harness.kind.statuses.sent
    assert harness.log() == [(1, True, "")]


def test_an_item_that_is_not_there_is_nobodys(harness: Harness) -> None:
    import uuid

    assert engine.deliver(harness.kind, uuid.uuid4(), now=timezone.now()) is None
    assert not harness.sends
    assert harness.item().attempts == 0
