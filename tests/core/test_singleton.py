"""One node at a time (core/singleton.py): advisory locks on PostgreSQL, always the leader on
SQLite; every background loop skips its ticks where another node leads; two signers racing
leave one checkpoint and a store without conflict."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, connection, connections

from caseledger.core import loop, singleton
from caseledger.core.singleton import Leadership, leader, lock_key, run_as_leader
from caseledger.ledger import checkpoints
from caseledger.ledger.models import Checkpoint, Entry, Event
from caseledger.ledger.services import SYSTEM, integrate_pending, record_event
from caseledger_verify import note

postgres_only = pytest.mark.postgres_only

LOOP_NAMES = (
    "ledger integrate",
    "supervision sweep",
    "notices send-due",
    "retention run",
    "report anomalies",
    "send_corrections",
)


def in_other_session(work: Callable[[], Any]) -> Any:
    """`work()` in a thread, hence on a database connection (a session) of its own."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            out["value"] = work()
        except BaseException as exc:  # handed back to the test
            out["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "error" in out:
        raise out["error"]
    return out["value"]


@contextlib.contextmanager
def held_elsewhere(name: str) -> Iterator[None]:
    """Another node (session) holds `name`'s lock for the block."""
    taken, done = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def hold() -> None:
        try:
            with leader(name) as mine:
                assert mine, f"{name} was already held"
                taken.set()
                done.wait(60)
        except BaseException as exc:
            failure.append(exc)
            taken.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(30) and not failure, failure
        yield
    finally:
        done.set()
        thread.join(30)


# --- the key -------------------------------------------------------------------------------------
def test_lock_keys_are_stable_signed_64_bit_and_distinct_per_loop():
    # Fixed forever: nodes of two releases (or two PostgreSQL versions) must agree on them.
    assert lock_key("ledger integrate") == -2953452858018310290
    assert lock_key("supervision sweep") == -3151765012598417360
    keys = {lock_key(name) for name in LOOP_NAMES}
    assert len(keys) == len(LOOP_NAMES)
    assert all(-(2**63) <= key < 2**63 for key in keys)


# --- SQLite: one machine, always the leader ----------------------------------------------------
@pytest.mark.django_db
def test_without_postgresql_every_caller_leads(monkeypatch):
    monkeypatch.setattr(singleton, "_on_postgresql", lambda using: False)
    with leader("retention run") as first, leader("retention run") as second:
        assert first and second
    ran: list[int] = []
    assert run_as_leader("retention run", lambda: ran.append(1), every=0.01, max_ticks=2) == 2
    assert ran == [1, 1]


# --- PostgreSQL: one session at a time ------------------------------------------------------------
@postgres_only
@pytest.mark.django_db
def test_leader_lets_one_session_in_and_releases_at_the_end_of_the_block():
    with leader("retention run") as mine:
        assert mine
        assert in_other_session(lambda: _try("retention run")) is False
        assert in_other_session(lambda: _try("report anomalies")) is True  # another name
    assert in_other_session(lambda: _try("retention run")) is True


def _try(name: str) -> bool:
    with leader(name) as mine:
        return mine


@postgres_only
@pytest.mark.django_db
def test_leadership_is_kept_across_ticks_until_released():
    leadership = Leadership("supervision sweep")
    assert leadership.acquire() and leadership.acquire()  # the second tick keeps it
    assert in_other_session(lambda: _try("supervision sweep")) is False
    leadership.release()
    assert in_other_session(lambda: _try("supervision sweep")) is True
    assert not leadership.held


@postgres_only
@pytest.mark.django_db
def test_a_follower_skips_its_ticks_and_runs_none(caplog):
    ran: list[int] = []
    with held_elsewhere("notices send-due"), caplog.at_level(logging.DEBUG, "caseledger"):
        led = run_as_leader("notices send-due", lambda: ran.append(1), every=0.01, max_ticks=3)
    assert led == 0 and ran == []
    assert "'notices send-due' leads on another node; tick skipped" in caplog.text


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_leader_whose_session_ended_knows_it_lost_the_lock(caplog):
    """The lock ends with the database session. A leader whose connection was dropped must
    not go on believing it leads: it checks pg_locks at each tick."""
    leadership = Leadership("ledger integrate")
    assert leadership.acquire()
    connection.close()  # the session ends (a restarted database, a dropped connection)
    with held_elsewhere("ledger integrate"), caplog.at_level(logging.INFO, "caseledger"):
        assert leadership.acquire() is False
    assert "'ledger integrate' lost its lock" in caplog.text
    assert leadership.acquire() is True  # free again: the next tick takes it back
    leadership.release()


@postgres_only
@pytest.mark.django_db
def test_run_as_leader_releases_the_lock_when_the_loop_ends():
    assert run_as_leader("send_corrections", lambda: None, every=0.01, max_ticks=2) == 2
    assert in_other_session(lambda: _try("send_corrections")) is True


# --- every background loop is guarded by its own name ---------------------------------------------
LOOPS = [
    pytest.param(
        "ledger integrate",
        ["ledger", "integrate", "--loop", "--max-ticks", "1"],
        "(1 led by this node)",
        "(0 led by this node)",
        id="ledger",
    ),
    pytest.param(
        "notices send-due",
        ["notices", "send-due", "--loop", "--max-ticks", "1"],
        "enqueued 1 send task(s)",
        "enqueued 0 send task(s)",
        id="notices",
    ),
    pytest.param(
        "retention run",
        ["retention", "run", "--loop", "--max-ticks", "1"],
        "enqueued 1 purge task(s)",
        "enqueued 0 purge task(s)",
        id="retention",
    ),
    pytest.param(
        "report anomalies",
        ["report", "anomalies", "--loop", "--max-ticks", "1"],
        "enqueued 1 anomaly report build(s)",
        "enqueued 0 anomaly report build(s)",
        id="anomalies",
    ),
]


def _run(argv: list[str], capsys: Any) -> str:
    call_command(*argv)
    return capsys.readouterr().out


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "argv", "led", "skipped"), LOOPS)
def test_each_loop_runs_its_tick_where_it_leads(name, argv, led, skipped, capsys):
    out = _run(argv, capsys)
    assert led in out, out


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize(("name", "argv", "led", "skipped"), LOOPS)
def test_each_loop_skips_its_tick_where_another_node_leads(name, argv, led, skipped, capsys):
    with held_elsewhere(name):
        out = _run(argv, capsys)
    assert skipped in out, out


@postgres_only
@pytest.mark.django_db
def test_the_ledger_loop_of_a_follower_neither_integrates_nor_signs(capsys):
    record_event(actor=SYSTEM, action="read", category="ledger", purpose="administration")
    with held_elsewhere("ledger integrate"):
        call_command("ledger", "integrate", "--loop", "--max-ticks", "1")
    assert Entry.objects.count() < Event.objects.count()  # left to the leader
    assert not Checkpoint.objects.exists()
    call_command("ledger", "integrate", "--loop", "--max-ticks", "1")
    assert Entry.objects.count() == Event.objects.count()
    assert Checkpoint.objects.get().size == Entry.objects.count()


@pytest.fixture
def corrections(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each run of the correction retries, recorded instead of delivered."""
    from caseledger.disclosures import delivery

    calls: list[int] = []
    monkeypatch.setattr(delivery, "retry_due", lambda *a, **k: calls.append(1) or {"sent": 0})
    return calls


@pytest.fixture
def sweeps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each sweep, recorded; the sweep loop (which has no --max-ticks) stops after one tick."""
    from caseledger.supervision.management.commands import supervision

    real_run_every = loop.run_every

    def one_tick(tick: Callable[[], Any], *, every: float, max_ticks: int = 0) -> int:
        return real_run_every(tick, every=every, max_ticks=1)

    monkeypatch.setattr(loop, "run_every", one_tick)
    calls: list[int] = []
    monkeypatch.setattr(supervision, "sweep_missed_windows", lambda: calls.append(1))
    return calls


@pytest.mark.django_db
def test_the_corrections_and_sweep_loops_work_where_they_lead(corrections, sweeps):
    call_command("send_corrections", "--loop", "--max-ticks", "1")
    call_command("supervision", "sweep", "--loop")
    assert corrections == [1] and sweeps == [1]


@postgres_only
@pytest.mark.django_db
def test_the_corrections_and_sweep_loops_do_nothing_where_another_node_leads(corrections, sweeps):
    with held_elsewhere("send_corrections"), held_elsewhere("supervision sweep"):
        call_command("send_corrections", "--loop", "--max-ticks", "1")
        call_command("supervision", "sweep", "--loop")
    assert corrections == [] and sweeps == []


# --- checkpoints: two signers, one store -------------------------------------------------------
def _placed_events(n: int) -> None:
    for _ in range(n):
        record_event(actor=SYSTEM, action="read", category="ledger", purpose="administration")
    integrate_pending()


@pytest.mark.django_db
def test_a_second_node_writing_the_same_checkpoint_finds_identical_bytes(checkpoint_dir):
    """Ed25519 signatures are deterministic: the note of a tree size and root is the same
    bytes whichever node signs it, so a store shared by every node never holds two versions
    of one checkpoint."""
    _placed_events(3)
    made = checkpoints.sign_checkpoint()
    assert made is not None
    again = note.sign_checkpoint(
        settings.LEDGER_ORIGIN, made.size, bytes(made.root), checkpoints.signer()
    )
    assert again == made.note
    checkpoints._write_out(made)  # the other node's write: accepted, the file unchanged
    assert (checkpoint_dir / str(made.size)).read_text() == made.note


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_nodes_racing_to_sign_leave_one_checkpoint_and_no_conflict(checkpoint_dir):
    """Without the loop's lock (e.g. `caseledger ledger checkpoint` run by hand while the
    loop signs): the checkpoint's primary key lets one signer in; the other finds nothing new
    or fails on the key before writing any file."""
    _placed_events(2)
    checkpoints.sign_checkpoint()
    _placed_events(3)
    barrier = threading.Barrier(2, timeout=30)
    results: list[Any] = []

    def sign() -> None:
        try:
            barrier.wait()
            results.append(checkpoints.sign_checkpoint())
        except IntegrityError as exc:  # lost the race on the checkpoint's primary key
            results.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sign) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    made = [r for r in results if isinstance(r, Checkpoint)]
    assert len(results) == 2 and len(made) == 1, results
    loser = next(r for r in results if r is not made[0])
    assert loser is None or isinstance(loser, IntegrityError), loser
    assert list(Checkpoint.objects.order_by("size").values_list("size", flat=True)) == [2, 5]
    store = {p.name: p.read_text() for p in checkpoint_dir.iterdir() if p.name.isdigit()}
    assert store == {str(c.size): c.note for c in Checkpoint.objects.all()}
