"""Many nodes, one engine: two `caseledger serve` processes (each with its own granian, loops
and task worker) on one PostgreSQL database, a shared signing key and a shared checkpoint
store. Check-ins and reads go through both nodes; afterwards every event is in the ledger
exactly once, the ledger verifies, and each background loop ran on one node only.

The real dlib verifier runs in the nodes (scikit-image's astronaut as the face); the
participants are enrolled in the test process with the same photo."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_otp.oath import totp

from caseledger.ledger import checkpoints
from caseledger.ledger.models import Checkpoint, Entry, Event
from caseledger.ledger.verify import verify_ledger
from caseledger.supervision import services
from caseledger.supervision.models import CheckIn, Review
from tests.conftest import PASSWORD, context, totp_code
from tests.core.test_serve_stop import kill_session

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.subprocess,
    pytest.mark.django_db(transaction=True),
]

CHECKINS = 6  # participants who check in, alternately through the two nodes
MISSED = 2  # participants whose window closed unattended: the sweep opens one review each
START_BOUND = 150  # seconds: only a bound on a hung start (two nodes boot at once)
SETTLE_BOUND = 90  # seconds: the leader integrates, signs, sweeps and runs the enqueued tasks
STOP_BOUND = 15  # seconds: serve stops its children within 6 s, then exits
LOOPS = (
    "ledger integrate",
    "supervision sweep",
    "notices send-due",
    "retention run",
    "report anomalies",
    "send_corrections",
)


# --- the nodes -----------------------------------------------------------------------------
@dataclass
class Node:
    name: str
    port: int
    root: Path
    proc: subprocess.Popen[bytes]

    def log(self) -> str:
        return "\n".join(
            (self.root / f"serve.{stream}").read_text(errors="replace") for stream in ("out", "err")
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The test database, as the nodes reach it (a Unix socket directory or a host)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "postgres")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"])
    query = f"?host={quote(db['HOST'])}" if db["HOST"] else ""
    if db["PORT"]:
        query += ("&" if query else "?") + f"port={db['PORT']}"
    return f"postgres://{auth}@/{quote(db['NAME'])}{query}"


def node_env(root: Path, store: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "caseledger.settings",  # the real settings, not the suite's
        "CASELEDGER_TESTING": "1",  # no HTTPS redirect, the fixed test encryption key
        "DATABASE_URL": database_url(),
        "CASELEDGER_VAR": str(root / "var"),  # node-local: static files only
        "CASELEDGER_LEDGER_SIGNING_KEY_FILE": settings.LEDGER_SIGNING_KEY_FILE,  # shared
        "CASELEDGER_CHECKPOINT_DIR": str(store),  # shared by every node
        "CASELEDGER_LEDGER_INLINE": "0",
        "CASELEDGER_LEDGER_INTERVAL": "0.5",
        "CASELEDGER_CHECKPOINT_INTERVAL": "1",
        "CASELEDGER_CHECKIN_UPLOADS_PER_ADDRESS": "0",
        # The nodes take single-photo check-ins (the liveness burst has its own tests).
        "CASELEDGER_LIVENESS_REQUIRED": "0",
        "CASELEDGER_NOTICE_CHANNELS": "file",
        "CASELEDGER_OUTBOX": str(root.parent / "outbox"),
        "CASELEDGER_LOG_LEVEL": "INFO",  # "'<loop>' leads on <host>:<pid>"
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CASELEDGER_LEDGER_SIGNING_KEY", None)
    return env


def start_node(name: str, tmp: Path, store: Path) -> Node:
    root = tmp / name
    root.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "caseledger.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
            "--threads",
            "4",
        ],
        env=node_env(root, store),
        cwd=root,
        stdout=(root / "serve.out").open("wb"),
        stderr=(root / "serve.err").open("wb"),
        start_new_session=True,
    )
    return Node(name, port, root, proc)


def wait_until_healthy(nodes: list[Node]) -> None:
    deadline = time.monotonic() + START_BOUND
    waiting = list(nodes)
    while waiting and time.monotonic() < deadline:
        for node in list(waiting):
            assert node.proc.poll() is None, f"{node.name} ended:\n{node.log()[-3000:]}"
            with contextlib.suppress(OSError, http.client.HTTPException):
                if request(node, "GET", "/healthz")[:2] == (200, b"ok"):
                    waiting.remove(node)
        time.sleep(0.3)
    assert not waiting, f"{[n.name for n in waiting]} did not answer within {START_BOUND} s"


def stop(nodes: list[Node]) -> list[int]:
    """SIGTERM to every node at once (as a service manager stopping the fleet), then their
    exit statuses."""
    for node in nodes:
        node.proc.send_signal(signal.SIGTERM)
    statuses = []
    for node in nodes:
        try:
            statuses.append(node.proc.wait(timeout=STOP_BOUND))
        except subprocess.TimeoutExpired:
            pytest.fail(f"{node.name} did not stop within {STOP_BOUND} s:\n{node.log()[-3000:]}")
    return statuses


def kill_leftovers(node: Node) -> None:
    """Whatever of the node is left (after a failure): its whole session, children included
    (each of serve's children leads a process group of its own)."""
    kill_session(node.proc.pid)
    if node.proc.poll() is None:
        node.proc.kill()
        node.proc.wait()


# --- HTTP ----------------------------------------------------------------------------------
def request(
    node: Node,
    method: str,
    path: str,
    *,
    token: str = "",
    body: bytes | None = None,
    content_type: str = "",
) -> tuple[int, bytes, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if content_type:
        headers["Content-Type"] = content_type
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=90)
    try:
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        answer = response.read()
        return response.status, answer, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def get_token(node: Node, username: str, password: str, otp: str = "") -> str:
    payload = json.dumps({"username": username, "password": password, "otp": otp}).encode()
    status, body, _ = request(
        node, "POST", "/api/v1/auth/token", body=payload, content_type="application/json"
    )
    assert status == 200, body
    return json.loads(body)["token"]


def multipart(image: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="selfie.jpg"'
        "\r\nContent-Type: image/jpeg\r\n\r\n".encode()
        + image
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def check_in(node: Node, token: str, image: bytes) -> dict[str, Any]:
    fields = {
        "latitude": "29.5519",
        "longitude": "-95.0970",
        "accuracy": "15",
        "submission_id": str(uuid.uuid4()),
    }
    body, content_type = multipart(image, fields)
    status, answer, _ = request(
        node, "POST", "/api/v1/checkins", token=token, body=body, content_type=content_type
    )
    assert status == 201, (node.name, answer)
    return json.loads(answer)


# --- the people ----------------------------------------------------------------------------
def photo(quality: int) -> bytes:
    """The astronaut (one frontal face) on a 640x480 canvas; each quality gives other bytes."""
    from PIL import Image
    from skimage import data

    face = Image.fromarray(data.astronaut()).resize((480, 480), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (640, 480), (128, 128, 128))
    canvas.paste(face, (80, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def enrol(officer: Any, person: Any, *, window_opened: timedelta, window_hours: int) -> Any:
    return services.enrol(
        ctx=context(officer),
        person_id=person.pk,
        data=services.EnrolmentInput(
            level="standard",
            photo=photo(95),
            language="en",
            acknowledged=True,
            alternatives_offered=["office_visit", "phone_call"],
            conditions=["attend_hearings"],
            first_window_at=timezone.now() - window_opened,
            every_days=7,
            window_hours=window_hours,
            grace_minutes=60,
            max_attempts=3,
        ),
    )


def wait_for(what: str, condition: Callable[[], bool], nodes: list[Node]) -> None:
    deadline = time.monotonic() + SETTLE_BOUND
    while time.monotonic() < deadline:
        if condition():
            return
        for node in nodes:
            assert node.proc.poll() is None, f"{node.name} ended:\n{node.log()[-3000:]}"
        time.sleep(0.5)
    pytest.fail(
        f"not within {SETTLE_BOUND} s: {what}\n"
        + "\n".join(f"--- {n.name}\n{n.log()[-2000:]}" for n in nodes)
    )


def task_results(task: Any) -> list[Any]:
    from django_tasks_db.models import DBTaskResult

    return list(DBTaskResult.objects.filter(task_path=task.module_path))


def read_person(node: Node, token: str, person: Any) -> str:
    """An officer's read of one person through `node`; the request id the node gave it."""
    status, body, headers = request(node, "GET", f"/api/v1/persons/{person.pk}", token=token)
    assert status == 200, (node.name, body)
    assert json.loads(body)["id"] == str(person.pk)
    return headers["x-request-id"]


def all_integrated_and_signed() -> bool:
    events = Event.objects.count()
    return Entry.objects.count() == events and Checkpoint.objects.filter(size=events).exists()


def leaders(nodes: list[Node]) -> dict[str, list[str]]:
    """Per loop, the nodes whose log says they led it."""
    return {
        loop: [n.name for n in nodes if re.search(rf"'{re.escape(loop)}' leads on", n.log())]
        for loop in LOOPS
    }


# --- the test ------------------------------------------------------------------------------
def test_two_nodes_one_database_every_event_once_and_each_loop_on_one_node(
    users: dict[str, Any],
    make_person: Callable[..., Any],
    tmp_path: Path,
    checkpoint_dir: Path,
) -> None:
    from django.tasks import TaskResultStatus as Status
    from django_tasks_db.models import DBTaskResult

    from caseledger.notices.tasks import plan_upcoming_reminders
    from caseledger.reports.tasks import build_weekly_anomaly_report
    from caseledger.retention.tasks import purge_due

    checkpoints.log_id()  # as a migrated database has it: the nodes must not race to make it
    officer = users["officer_east"]
    present = [make_person("officer_east", "Astrid", f"Collins {i}") for i in range(CHECKINS)]
    absent = [make_person("officer_east", "Bruno", f"Diaz {i}") for i in range(MISSED)]
    enrolled = [
        enrol(officer, p, window_opened=timedelta(hours=1), window_hours=24) for p in present
    ]
    for person in absent:  # the window closed (with its grace) an hour ago, unattended
        enrol(officer, person, window_opened=timedelta(hours=3), window_hours=1)
    _code, device = totp_code(officer)

    nodes = [
        start_node("node-a", tmp_path, checkpoint_dir),
        start_node("node-b", tmp_path, checkpoint_dir),
    ]
    try:
        wait_until_healthy(nodes)
        # Stateless nodes: a token issued by one node is good on the other.
        staff_token = get_token(nodes[0], officer.username, PASSWORD, f"{totp(device.bin_key):06d}")
        tokens = [
            get_token(nodes[i % 2], e.username, e.temporary_password)
            for i, e in enumerate(enrolled)
        ]

        # Check-ins, two at a time on each node, alternating between the nodes; then reads.
        with ThreadPoolExecutor(max_workers=4) as pool:
            receipts = list(
                pool.map(
                    lambda i: check_in(nodes[i % 2], tokens[i], photo(90 - 2 * i)),
                    range(CHECKINS),
                )
            )
        assert {r["outcome"] for r in receipts} == {"verified"}
        reads = {
            read_person(nodes[(i + 1) % 2], staff_token, person): person.pk
            for i, person in enumerate(present + absent)
        }

        # The leaders settle everything: the missed windows swept, the tasks run, each event
        # placed and a checkpoint signed over all of them.
        wait_for(
            "the missed windows swept into reviews", lambda: Review.objects.count() == MISSED, nodes
        )
        wait_for(
            "the enqueued tasks run",
            lambda: bool(
                task_results(purge_due)
                and task_results(build_weekly_anomaly_report)
                and not DBTaskResult.objects.filter(
                    status__in=[Status.READY, Status.RUNNING]
                ).exists()
            ),
            nodes,
        )
        wait_for("every event integrated and signed", all_integrated_and_signed, nodes)
        status, body, _ = request(nodes[1], "GET", "/api/v1/reviews", token=staff_token)
        assert status == 200 and {r["kind"] for r in json.loads(body)} == {"missed_window"}
        led = leaders(nodes)  # each loop ran on exactly one node
        assert all(len(names) == 1 for names in led.values()), led

        # The node that integrates stops; the other takes over at its next tick.
        gone = next(n for n in nodes if n.name == led["ledger integrate"][0])
        survivor = next(n for n in nodes if n is not gone)
        assert stop([gone]) == [0], gone.log()
        reads.update(
            {read_person(survivor, staff_token, person): person.pk for person in present[:2]}
        )
        wait_for("the survivor integrating and signing", all_integrated_and_signed, [survivor])
        assert leaders([survivor])["ledger integrate"] == [survivor.name]
        assert stop([survivor]) == [0], survivor.log()
    finally:
        for node in nodes:
            kill_leftovers(node)

    # Every event exactly once, in a dense chain, and the ledger verifies.
    events = Event.objects.count()
    entries = list(Entry.objects.order_by("position").values_list("position", "event_id"))
    assert [p for p, _e in entries] == list(range(events))
    assert sorted(e for _p, e in entries) == sorted(Event.objects.values_list("id", flat=True))
    result = verify_ledger()
    assert result.ok and result.pending == 0 and result.entries == events, result.summary()

    # Each check-in is one row and one event, the one its receipt names.
    checkins = list(CheckIn.objects.all())
    assert len(checkins) == CHECKINS
    for checkin in checkins:
        found = Event.objects.filter(record_type="supervision.checkin", record_id=str(checkin.pk))
        assert found.count() == 1
    assert {r["event_id"] for r in receipts} == {
        str(u)
        for u in Event.objects.filter(record_type="supervision.checkin").values_list(
            "uuid", flat=True
        )
    }
    # Each read is in the ledger with its person, on whichever node served it.
    for request_id, person_id in reads.items():
        assert Event.objects.filter(
            request_id=request_id, subject_id=person_id, action="read"
        ).exists()

    # One review per missed window, none for those who checked in.
    assert sorted(Review.objects.values_list("enrolment__person_id", flat=True)) == sorted(
        p.pk for p in absent
    )

    # The jobs enqueued once per interval were enqueued once, not once per node.
    for task in (purge_due, build_weekly_anomaly_report, plan_upcoming_reminders):
        assert [r.status for r in task_results(task)] == [Status.SUCCESSFUL], task.module_path

    # Checkpoints: kept in the shared store exactly as signed, in this database's store.
    store = {p.name: p.read_text() for p in checkpoint_dir.iterdir() if p.name.isdigit()}
    assert store == {str(c.size): c.note for c in Checkpoint.objects.all()}
    assert (checkpoint_dir / checkpoints.LOG_ID_FILE).read_text().strip() == checkpoints.log_id()


# --- reports on a read replica ---------------------------------------------------------------
def test_reports_and_verification_run_on_a_read_only_replica(
    make_person: Callable[..., Any],
    tmp_path: Path,
    checkpoint_dir: Path,
) -> None:
    """What DEPLOY.md sends to a streaming replica (a hot standby accepts read-only
    transactions only) must not write: the transparency report and `ledger verify
    --no-integrate`. A replica is emulated by a session whose every transaction is read-only;
    signing a checkpoint, which writes, is refused there (the emulation works)."""
    from caseledger.ledger.services import integrate_pending

    make_person("officer_east", "Ana", "Ramirez")
    integrate_pending()
    checkpoints.sign_checkpoint()
    make_person("officer_east", "Luis", "Fernandez")
    integrate_pending()  # the log has grown past its last checkpoint
    env = {
        **node_env(tmp_path / "replica", checkpoint_dir),
        "PGOPTIONS": "-c default_transaction_read_only=on",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "caseledger.cli", *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=START_BOUND,
        )

    year = str(timezone.now().year)
    report = run("report", "transparency", "--period", year, "--format", "json")
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["period"] == year
    verified = run("ledger", "verify", "--no-integrate", "--quiet")
    assert verified.returncode == 0, verified.stderr
    assert f"ledger intact: {Entry.objects.count()} entries" in verified.stdout
    signing = run("ledger", "checkpoint")
    assert signing.returncode != 0 and "read-only transaction" in signing.stderr
