"""Load: check-ins arriving at a steady rate (15 a second) on `caseledger serve`, then an audit.

Open loop: a dispatcher sends check-in *i* at `start + i / rate`, whatever the server's
answers, to the next idle client of a pool of keep-alive connections (`http.client`, one
per thread). An arrival that finds every client busy (or no participant free) is not sent
and counts as *backlogged*: that is the server falling behind. Each request carries a new
`submission_id` and a 640x480 selfie of `bench.checkins`; latency is from the request's
first byte to the end of its answer. The server is `caseledger serve` (granian, its
default worker count, its background loops) on the benchmark database, with the upload
rate limits off (`python -m bench` sets them to 0; the server inherits the environment).

Participants: `bench.checkins.participants` (a window open for three days). One window
takes one verified check-in, so after each answer the benchmark moves the participant's
schedule one second earlier (`first_window_at`): the window open now is a new one, and the
next check-in is again a first attempt. Nothing is deleted: afterwards the server is
stopped with SIGTERM, the ledger integrator is run in process, and every 2xx receipt is
matched with exactly one CheckIn row and exactly one `checkin`/`allowed` ledger event (and
no refused submission left a row); then `verify_ledger()` checks the whole chain.

The cost per check-in is the CPU time (from /proc) of the server's process tree and of
PostgreSQL's processes during the timed run, divided by the receipts: from it follows how
many cores the target rate needs. Settings: `Sizes` (FULL 600 s, QUICK 20 s), or the
environment: CASELEDGER_BENCH_LOAD_RATE (arrivals per second), CASELEDGER_BENCH_LOAD_SECONDS.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import http.client
import json
import math
import os
import queue
import re
import signal
import statistics
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from . import report
from .checkins import (
    FIELDS,
    Participant,
    Server,
    _multipart,
    free_port,
    participants,
    pictures,
    single_photo_checkins,
)

NAME = "load"
TITLE = "Load: check-ins at a steady arrival rate on `caseledger serve`"
NEEDS_POPULATION = False
RATE_ENV = "CASELEDGER_BENCH_LOAD_RATE"
SECONDS_ENV = "CASELEDGER_BENCH_LOAD_SECONDS"
LIMIT_ENVS = (
    "CASELEDGER_CHECKIN_UPLOADS_PER_PARTICIPANT",
    "CASELEDGER_CHECKIN_UPLOADS_PER_ADDRESS",
)
REQUEST_TIMEOUT = 60.0  # seconds; a request without an answer by then is an error (status 0)
LATE_AFTER = 0.1  # seconds behind schedule: the load generator itself was starved
NEXT_WINDOW = timedelta(seconds=1)  # how far a participant's schedule moves after each try
# A request on a kept-alive connection that the server had closed (granian closes idle ones)
# fails before any answer: it is sent once more on a new connection, as HTTP clients do; the
# same submission id and photo make that safe (the API answers a true repeat with its receipt).
STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
IDLE_SECONDS = 15.0  # the server's CPU while no request arrives (its background loops)
HELD_SHARE = 0.95  # "held": the pace kept while arrivals ran >= this share of the target
LOG_ERRORS = ("Traceback", "Internal Server Error", "exited unexpectedly", "exited on its own")
KILLED = re.compile(r"'(.+)' did not stop in time; killed")  # serve's log on a late child


@dataclass(frozen=True)
class Sizes:
    rate: float  # arrivals per second
    seconds: float  # how long arrivals run
    participants: int
    clients: int  # client threads, one keep-alive connection each
    warmup: int  # untimed check-ins per server worker first (each loads its dlib models)


FULL = Sizes(rate=15.0, seconds=600.0, participants=200, clients=64, warmup=3)
QUICK = Sizes(rate=15.0, seconds=20.0, participants=48, clients=32, warmup=2)


def sizes_for(quick: bool) -> Sizes:
    """FULL or QUICK, with the rate and duration from the environment when set."""
    sizes = QUICK if quick else FULL
    overrides = {}
    for name, key in ((RATE_ENV, "rate"), (SECONDS_ENV, "seconds")):
        value = os.environ.get(name, "").strip()
        if value:
            overrides[key] = float(value)
            if overrides[key] <= 0:
                raise ValueError(f"{name} must be positive, not {value!r}")
    return dataclasses.replace(sizes, **overrides)


# --- CPU time from /proc ------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int, float] | None:
    """(parent pid, session id, CPU seconds of the process and its reaped children)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces and parentheses
    ticks = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return int(fields[1]), int(fields[3]), ticks / os.sysconf("SC_CLK_TCK")


def _cpu_seconds(keep: Callable[[int, int, int], bool]) -> float | None:
    """Total CPU seconds of the live processes `keep(pid, ppid, session)` selects (a
    process that exited is in its parent's children's times, if the parent is selected)."""
    if not Path("/proc/self/stat").exists():
        return None
    total = 0.0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and keep(int(entry.name), stat[0], stat[1]):
                total += stat[2]
    return total


def _postmaster() -> int | None:
    """The PostgreSQL server's pid when it runs on this machine, reached by its Unix socket
    (its backends are its children), else None."""
    from django.db import connection

    if connection.vendor != "postgresql" or not report._pg_over_socket():
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    stat = _stat(backend)
    if stat is None:
        return None
    try:
        name = Path(f"/proc/{stat[0]}/comm").read_text().strip()
    except OSError:
        return None
    return stat[0] if name.startswith(("postgres", "postmaster")) else None


@dataclass
class CpuMeter:
    """CPU seconds of the server (its session: `serve`, granian, the loops), of PostgreSQL
    and of this benchmark process, between `start()` and `stop()`."""

    serve_pid: int
    postmaster: int | None
    used: dict[str, float | None] = field(default_factory=dict)
    _at: dict[str, float | None] = field(default_factory=dict)

    def _now(self) -> dict[str, float | None]:
        pm = self.postmaster
        return {
            "server": _cpu_seconds(lambda _pid, _ppid, sid: sid == self.serve_pid),
            "postgresql": _cpu_seconds(lambda pid, ppid, _sid: pm in (pid, ppid)) if pm else None,
            "client": time.process_time(),
        }

    def start(self) -> None:
        self._at = self._now()

    def stop(self) -> None:
        end = self._now()
        self.used = {
            k: (end[k] - v if end[k] is not None and v is not None else None)
            for k, v in self._at.items()
        }


# --- the open loop ------------------------------------------------------------------------------


@dataclass
class Shot:
    """One arrival that was sent."""

    index: int
    scheduled: float  # perf_counter seconds
    who: Participant
    submission_id: str
    started: float = math.nan
    ended: float = math.nan
    status: int = 0
    code: str = ""  # the error code of a refusal, or the client-side exception
    receipt: dict | None = None
    resent: bool = False  # sent again on a new connection (see STALE)

    @property
    def ok(self) -> bool:
        """A receipt: a new check-in (201), or the first one's receipt again (200, repeated)
        when the request was sent again after its connection failed. A repeat without a
        resend means a submission id was reused: an error."""
        if self.receipt is None:
            return False
        if self.receipt["repeated"]:
            return self.status == 200 and self.resent
        return self.status == 201


@dataclass
class Run:
    """The arrivals of one open-loop run and what became of them."""

    rate: float
    count: int
    shots: list[Shot] = field(default_factory=list)
    backlogged: int = 0  # arrivals not sent: every client (or participant) busy
    late: int = 0  # sent more than LATE_AFTER behind schedule
    first: float = math.nan
    last_arrival: float = math.nan
    max_in_flight: int = 0

    @property
    def finished(self) -> float:
        return max((s.ended for s in self.shots if not math.isnan(s.ended)), default=self.first)

    @property
    def receipts(self) -> list[Shot]:
        return [s for s in self.shots if s.ok]


class Pool:
    """Client threads (one keep-alive connection each), the free participants, and one
    thread that opens each participant's next window after its answer (its own database
    connection: the client threads never touch the database)."""

    def __init__(self, port: int, crowd: list[Participant], probes: list[bytes], clients: int):
        self.port, self.probes, self.size = port, probes, clients
        self.lock = threading.Lock()
        self.free = collections.deque(crowd)
        self.busy = 0
        self.jobs: queue.Queue[Shot | None] = queue.Queue()
        self.moves: queue.Queue[Participant | None] = queue.Queue()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]
        self.mover = threading.Thread(target=self._move_windows, daemon=True)
        for t in (*self.threads, self.mover):
            t.start()

    def take(self) -> Participant | None:
        """A participant and an idle client for the next arrival, or None (backlogged)."""
        with self.lock:
            if self.busy >= self.size or not self.free:
                return None
            self.busy += 1
            return self.free.popleft()

    def in_flight(self) -> int:
        with self.lock:
            return self.busy

    def close(self) -> None:
        for _ in self.threads:
            self.jobs.put(None)
        for t in self.threads:
            t.join(REQUEST_TIMEOUT + 30)
        self.moves.put(None)
        self.mover.join(60)

    def _client(self) -> None:
        conn: http.client.HTTPConnection | None = None
        try:
            while (shot := self.jobs.get()) is not None:
                conn = self._send(conn, shot)
                with self.lock:
                    self.busy -= 1
                self.moves.put(shot.who)
        finally:
            if conn is not None:
                conn.close()

    def _send(
        self, conn: http.client.HTTPConnection | None, shot: Shot
    ) -> http.client.HTTPConnection | None:
        image = self.probes[shot.index % len(self.probes)]
        body, content_type = _multipart(image, dict(FIELDS, submission_id=shot.submission_id))
        headers = {"Authorization": f"Bearer {shot.who.token}", "Content-Type": content_type}
        shot.started = time.perf_counter()
        reused = conn is not None
        while True:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(
                        "127.0.0.1", self.port, timeout=REQUEST_TIMEOUT
                    )
                conn.request("POST", "/api/v1/checkins", body, headers)
                response = conn.getresponse()
                payload = response.read()
                shot.status = response.status
                break
            except STALE as exc:  # the server closed an idle keep-alive connection
                conn.close()
                conn = None
                if not reused:
                    payload, shot.status, shot.code = b"", 0, type(exc).__name__
                    break
                reused, shot.resent = False, True  # once, on a new connection (same id)
            except (OSError, http.client.HTTPException) as exc:
                if conn is not None:
                    conn.close()
                conn, payload, shot.status, shot.code = None, b"", 0, type(exc).__name__
                break
        shot.ended = time.perf_counter()
        _read_answer(shot, payload)
        return conn

    def _move_windows(self) -> None:
        """After each answer: the participant's window open now becomes a new one (its
        schedule starts a second earlier), then the participant is free again."""
        from django.db import connection
        from django.db.models import F

        from caseledger.supervision.models import Schedule

        try:
            while (who := self.moves.get()) is not None:
                Schedule.objects.filter(enrolment_id=who.enrolment_id).update(
                    first_window_at=F("first_window_at") - NEXT_WINDOW
                )
                with self.lock:
                    self.free.append(who)
        finally:
            connection.close()


def _read_answer(shot: Shot, payload: bytes) -> None:
    try:
        data = json.loads(payload) if payload else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    if 200 <= shot.status < 300:
        shot.receipt = {
            "id": str(data.get("id", "")),
            "event_id": str(data.get("event_id", "")),
            "outcome": str(data.get("outcome", "?")),
            "repeated": bool(data.get("repeated", False)),
        }
        if shot.receipt["repeated"] or shot.status != 201:
            shot.code = "repeated" if shot.receipt["repeated"] else "not 201"
    elif shot.status:
        shot.code = str(data.get("code", "")) or "(no code)"


def drive(pool: Pool, rate: float, count: int, tick: Callable[[int], None] | None = None) -> Run:
    """Send `count` arrivals `1 / rate` apart (open loop) and wait for every answer."""
    run = Run(rate, count)
    start = time.perf_counter() + 0.2
    run.first = start
    for i in range(count):
        due = start + i / rate
        while (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        if time.perf_counter() - due > LATE_AFTER:
            run.late += 1
        who = pool.take()
        if who is None:
            run.backlogged += 1
        else:
            shot = Shot(i, due, who, str(uuid.uuid4()))
            run.shots.append(shot)
            pool.jobs.put(shot)
            run.max_in_flight = max(run.max_in_flight, pool.in_flight())
        if tick:
            tick(1)
    run.last_arrival = start + (count - 1) / rate
    deadline = time.perf_counter() + REQUEST_TIMEOUT + 30
    while pool.in_flight() and time.perf_counter() < deadline:
        time.sleep(0.05)
    while pool.moves.qsize() and time.perf_counter() < deadline:
        time.sleep(0.05)
    return run


# --- the audit ----------------------------------------------------------------------------------


def audit(shots: list[Shot], crowd: list[Participant]) -> dict:
    """Chain what is pending, then match every receipt with its row and its event."""
    from caseledger.ledger.models import Event
    from caseledger.ledger.services import integrate_pending
    from caseledger.ledger.verify import verify_ledger
    from caseledger.supervision.models import CheckIn

    t0 = time.perf_counter()
    integrated = integrate_pending()
    integrate_s = time.perf_counter() - t0
    answered = [s for s in shots if s.ok and s.receipt]
    receipts = {s.receipt["id"]: s for s in answered if s.receipt}
    sent = collections.Counter(s.submission_id for s in shots)
    refused_ids = {s.submission_id for s in shots if not s.ok}
    rows = list(
        CheckIn.objects.filter(enrolment_id__in=[p.enrolment_id for p in crowd]).values_list(
            "id", "submission_id", "ledger_event"
        )
    )
    events = list(
        Event.objects.filter(
            subject_id__in=[p.person_id for p in crowd], action="checkin", outcome="allowed"
        ).values_list("record_id", "uuid")
    )
    per_record = collections.Counter(r for r, _ in events)
    event_of = {r: str(u) for r, u in events}
    row_ids = {str(i) for i, _, _ in rows}
    t0 = time.perf_counter()
    verified = verify_ledger()
    verify_s = time.perf_counter() - t0
    checks = {
        "receipts = rows = events": len(answered) == len(receipts) == len(rows) == len(events),
        "each receipt has its row": set(receipts) == row_ids,
        "each row has exactly one event": per_record.keys() == row_ids
        and all(n == 1 for n in per_record.values()),
        "row, event and receipt name the same event": all(
            str(ev) == event_of.get(str(i)) == receipts[str(i)].receipt["event_id"]
            for i, _, ev in rows
            if str(i) in receipts
        ),
        "each row's submission id was sent once, and answered": all(
            sent[str(sid)] == 1 and str(sid) not in refused_ids for _, sid, _ in rows
        ),
        "no duplicate submission ids": all(n == 1 for n in sent.values()),
        "nothing left to integrate": not Event.objects.filter(entry__isnull=True).exists(),
        "verify_ledger().ok": verified.ok,
    }
    return {
        "receipts": len(answered),
        "rows": len(rows),
        "events": len(events),
        "refused_events": Event.objects.filter(
            subject_id__in=[p.person_id for p in crowd], action="checkin"
        )
        .exclude(outcome="allowed")
        .count(),
        "stored_unanswered": sum(1 for _, sid, _ in rows if str(sid) in refused_ids),
        "checks": checks,
        "ledger": verified.summary(),
        "integrated": integrated,
        "integrate_s": integrate_s,
        "verify_s": verify_s,
    }


# --- running it ---------------------------------------------------------------------------------


def _require_limits_off() -> None:
    """The server inherits this environment; with the upload limits on, a few participants
    posting all day from one address would be refused (429) by design."""
    on = [name for name in LIMIT_ENVS if os.environ.get(name) != "0"]
    if on:
        raise RuntimeError(
            f"set {' and '.join(on)} to 0 for this benchmark (python -m bench does so unless "
            "they are set already)"
        )


def verifier_cost(reference: bytes, probes: list[bytes], rounds: int = 3) -> dict[str, float]:
    """The verifier in process on the probes, as a check-in calls it (`compare` with the
    enrolled template: decode, detect, align, embed the chip, its mirror only near the
    threshold): median wall and CPU ms, and the CPU ms of `embed` (both passes always, as
    before mirror on demand). The bulk of a check-in's CPU cost."""
    from caseledger.biometrics.verifier import get_verifier

    from .checkins import verifier_stages

    stages = verifier_stages(get_verifier(), reference, probes, rounds)
    verifier = get_verifier()
    template = verifier.embed(reference).template()
    times = []
    for _ in range(rounds):
        for p in probes:
            t = time.perf_counter()
            verifier.compare(template, p)
            times.append((time.perf_counter() - t) * 1e3)
    return {
        "wall_ms": statistics.median(times),
        "cpu_ms": stages["compare"]["total"],
        "both_cpu_ms": stages["embed"]["total"],
        "mirrored": stages["mirrored"],
        "compares": stages["compares"],
    }


def _stop(server: Server) -> tuple[int | None, float]:
    """SIGTERM to `serve` (it passes it on and waits for its children): (exit status, s)."""
    t0 = time.perf_counter()
    with contextlib.suppress(ProcessLookupError):
        os.kill(server.process.pid, signal.SIGTERM)
    try:
        status = server.process.wait(30)
    except subprocess.TimeoutExpired:
        status = None
    return status, time.perf_counter() - t0


def _server_shape(log_path: Path) -> str:
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    match = re.search(r"\((\d+) workers x (\d+) threads\)", text)
    return f"{match.group(1)} workers x {match.group(2)} threads" if match else "unknown"


def run(env) -> str:
    with single_photo_checkins():
        return _run(env)


def _run(env) -> str:
    _require_limits_off()
    sizes = sizes_for(env.quick)
    workers = int(os.environ.get("CASELEDGER_WORKERS", os.cpu_count() or 1))
    t0 = time.perf_counter()
    pics = pictures()
    probes = pics.probes[(640, 480)]
    verifier = verifier_cost(pics.reference, probes)
    verifier_ms = verifier["cpu_ms"]
    crowd = participants(sizes.participants, pics.reference)
    env.console.print(
        f"  {len(crowd)} participants enrolled and signed in, verifier median "
        f"{verifier['wall_ms']:.0f} ms wall, {verifier_ms:.0f} ms CPU "
        f"({time.perf_counter() - t0:.1f} s)"
    )
    load_before = report.load_average()
    warm, timed, cpu, server = serve_and_drive(env, sizes, crowd, probes, workers)
    result = audit(warm.shots + timed.shots, crowd)
    figures = summarize(timed, cpu, sizes)
    figures.update(
        server,
        workers=workers,
        verifier_ms=verifier_ms,
        verifier=verifier,
        load=f"{load_before} at start, {report.load_average()} at end",
        warm=len(warm.shots),
    )
    _echo(env, figures, result)
    return markdown(env, sizes, figures, result)


def serve_and_drive(
    env, sizes: Sizes, crowd: list[Participant], probes: list[bytes], workers: int
) -> tuple[Run, Run, dict[str, float | None], dict]:
    """Start `serve`, warm it up, run the timed arrivals (CPU metered), stop it by SIGTERM:
    (warm-up, timed run, CPU seconds used, facts about the server)."""
    import tempfile

    from django.db import close_old_connections

    count = max(1, round(sizes.rate * sizes.seconds))
    with tempfile.TemporaryDirectory(prefix="caseledger-bench-load-") as tmp:
        log_path = Path(tmp) / "serve.log"
        close_old_connections()
        server = Server(free_port(), log_path)
        try:
            ready = server.wait_ready()
            shape = _server_shape(log_path)
            env.console.print(f"  caseledger serve ({shape}) answering after {ready:.1f} s")
            pool = Pool(server.port, crowd, probes, sizes.clients)
            warm = drive(pool, rate=2.0, count=sizes.warmup * workers)
            if len(warm.receipts) != warm.count:
                codes = collections.Counter((s.status, s.code) for s in warm.shots if not s.ok)
                raise RuntimeError(f"warm-up check-ins failed: {dict(codes)}; see the serve log")
            idle = CpuMeter(server.process.pid, _postmaster())
            idle.start()
            time.sleep(IDLE_SECONDS)
            idle.stop()
            meter = CpuMeter(server.process.pid, _postmaster())
            meter.start()
            with env.progress_bar(f"arrivals at {sizes.rate:g}/s", count) as tick:
                timed = drive(pool, sizes.rate, count, tick)
            meter.stop()
            pool.close()
            status, stop_s = _stop(server)
            log_lines = log_path.read_text(errors="replace").splitlines()
        finally:
            server.stop()
    close_old_connections()
    facts = {
        "idle_cpu": idle.used,
        "shape": shape,
        "stop_status": status,
        "stop_s": stop_s,
        "log_errors": sum(1 for line in log_lines if any(m in line for m in LOG_ERRORS)),
        "killed": [m.group(1) for line in log_lines if (m := KILLED.search(line))],
    }
    return warm, timed, meter.used, facts


# --- figures and the section --------------------------------------------------------------------


def summarize(run: Run, cpu: dict[str, float | None], sizes: Sizes) -> dict:
    """Rates, latencies, errors, backlog and CPU cost per check-in of the timed run.

    The pace the server kept is its answers per second over the arrivals' span, shifted by
    the first quarter's median latency (answers trail arrivals by about that much): at the
    target when it keeps up, its capacity when it does not (the answers that drain after the
    last arrival are not counted)."""
    ok = run.receipts
    duration = run.finished - run.first
    arrival_window = run.last_arrival - run.first + 1 / run.rate
    latencies = [(s.ended - s.started) * 1e3 for s in ok]
    quarter = max(1, len(ok) // 4)
    by_start = sorted(ok, key=lambda s: s.started)
    p50_first = report.percentile([(s.ended - s.started) * 1e3 for s in by_start[:quarter]], 50)
    p50_last = report.percentile([(s.ended - s.started) * 1e3 for s in by_start[-quarter:]], 50)
    opens = run.first + (0.0 if math.isnan(p50_first) else p50_first / 1e3)
    kept = sum(1 for s in ok if opens <= s.ended <= opens + arrival_window)
    errors = collections.Counter(
        f"HTTP {s.status} {s.code}" if s.status else f"no answer ({s.code})"
        for s in run.shots
        if not s.ok
    )
    server_s, pg_s = cpu.get("server"), cpu.get("postgresql")
    per = (server_s + (pg_s or 0.0)) / len(ok) if ok and server_s is not None else None
    return {
        "target": run.rate,
        "arrivals": run.count,
        "sent": len(run.shots),
        "receipts": len(ok),
        "duration": duration,
        "arrival_window": arrival_window,
        "achieved": len(ok) / duration if duration > 0 else 0.0,
        "achieved_in_window": kept / arrival_window if arrival_window > 0 else 0.0,
        "p50": report.percentile(latencies, 50),
        "p95": report.percentile(latencies, 95),
        "p99": report.percentile(latencies, 99),
        "max": max(latencies, default=math.nan),
        "p50_first": p50_first,
        "p50_last": p50_last,
        "errors": dict(sorted(errors.items())),
        "backlogged": run.backlogged,
        "late": run.late,
        "max_in_flight": run.max_in_flight,
        "resent": sum(1 for s in run.shots if s.resent),
        "clients": sizes.clients,
        "participants": sizes.participants,
        "outcomes": dict(collections.Counter(s.receipt["outcome"] for s in ok if s.receipt)),
        "cpu": cpu,
        "cpu_per_checkin_ms": per * 1e3 if per is not None else None,
        "cores": os.cpu_count() or 1,
    }


def held(f: dict, audit_result: dict) -> bool:
    """No error, no arrival left unsent, receipts kept pace with arrivals while they ran,
    latency did not climb (the last quarter's median within twice the first's), audit clean."""
    return (
        not f["errors"]
        and f["backlogged"] == 0
        and f["achieved_in_window"] >= HELD_SHARE * f["target"]
        and f["p50_last"] <= 2 * f["p50_first"]
        and all(audit_result["checks"].values())
    )


def cores_needed(f: dict) -> str:
    """The sentence on what the target needs at the measured cost per check-in."""
    target = f["target"]
    per_ms = f["cpu_per_checkin_ms"]
    basis = "CPU time of the server and PostgreSQL per check-in"
    if per_ms is None:
        per_ms, basis = f["verifier_ms"], "the verifier's median time alone, a lower bound"
    cores = math.ceil(target * per_ms / 1e3 - 1e-9)
    return (
        f"{target:g}/s needs {cores} core{'s' if cores != 1 else ''} at this per-check-in "
        f"cost ({per_ms:.0f} ms of "
        f"{basis}; one core serves {1e3 / per_ms:.1f}/s); this machine has {f['cores']}."
    )


def _echo(env, f: dict, a: dict) -> None:
    env.console.print(
        f"  {f['receipts']} receipts in {f['duration']:.1f} s: {f['achieved']:.2f}/s "
        f"(target {f['target']:g}/s), p50 {report.fmt_ms(f['p50'])} ms, "
        f"p95 {report.fmt_ms(f['p95'])} ms, errors {f['errors'] or 'none'}, "
        f"backlogged {f['backlogged']}"
    )
    failed = [name for name, ok in a["checks"].items() if not ok]
    if failed:
        env.console.print(f"[red]  audit FAILED: {', '.join(failed)}[/red]")
    else:
        env.console.print(f"  audit: all {len(a['checks'])} checks passed; {a['ledger']}")
    if not held(f, a):
        env.console.print(f"[yellow]  {cores_needed(f)}[/yellow]")


def _verdict(f: dict, a: dict) -> str:
    target, minutes = f["target"], f["arrival_window"] / 60
    if held(f, a):
        return (
            f"**{target:g} check-ins/s held for {minutes:.1f} min**: {f['receipts']:,} "
            f"receipts, {f['achieved_in_window']:.2f}/s while arrivals ran, no error, no "
            "arrival left unsent, every check-in stored once with its one ledger event."
        )
    why = []
    if f["errors"]:
        why.append(f"{sum(f['errors'].values()):,} errors")
    if f["backlogged"]:
        why.append(f"{f['backlogged']:,} arrivals not sent (every client busy)")
    if f["p50_last"] > 2 * f["p50_first"]:
        why.append(
            f"latency climbed (median {report.fmt_ms(f['p50_first'])} ms in the first "
            f"quarter, {report.fmt_ms(f['p50_last'])} ms in the last)"
        )
    failed = [name for name, ok in a["checks"].items() if not ok]
    if failed:
        why.append("audit failed: " + ", ".join(failed))
    return (
        f"**{target:g} check-ins/s not held on this machine**: it kept pace at "
        f"{f['achieved_in_window']:.2f} receipts/s"
        + "".join(f"; {reason}" for reason in why)
        + ". "
        + cores_needed(f)
    )


def _cpu_line(f: dict) -> str:
    cpu = f["cpu"]
    n = max(1, f["receipts"])
    parts = []
    for key, label in (("server", "server"), ("postgresql", "PostgreSQL"), ("client", "client")):
        if cpu.get(key) is not None:
            parts.append(f"{label} {cpu[key]:.0f} s ({cpu[key] / n * 1e3:.0f} ms per check-in)")
    return ", ".join(parts) or "not measured (no /proc)"


def _verifier_line(f: dict) -> str:
    v = f["verifier"]
    return (
        f"median {v['wall_ms']:.0f} ms wall, **{v['cpu_ms']:.0f} ms CPU** per selfie in process "
        "as a check-in calls it (`compare`: decode, detect, align, embed the chip; the mirror "
        f"image only near the threshold: {v['mirrored']} of {v['compares']} of these); "
        f"{v['both_cpu_ms']:.0f} ms CPU with the mirror pass always (`embed`)"
    )


def idle_ms_per_checkin(f: dict) -> float | None:
    """The server's and PostgreSQL's CPU at rest (background loops polling), measured for
    IDLE_SECONDS before the run, spread over the run's receipts."""
    idle = f.get("idle_cpu") or {}
    if idle.get("server") is None or not f["receipts"]:
        return None
    per_second = (idle["server"] + (idle.get("postgresql") or 0.0)) / IDLE_SECONDS
    return per_second * f["duration"] / f["receipts"] * 1e3


def _overhead_line(f: dict) -> str:
    """The CPU a check-in costs the server and PostgreSQL beyond the verifier's own, and
    how much of it is the background loops' rest cost (it does not grow with the rate)."""
    per, verifier = f["cpu_per_checkin_ms"], f["verifier"]["cpu_ms"]
    if per is None or not verifier:
        return "not measured (no /proc)"
    line = (
        f"{per - verifier:.0f} ms CPU per check-in ({per:.0f} ms server and PostgreSQL "
        f"against the verifier's {verifier:.0f} ms): **+{100 * (per - verifier) / verifier:.0f} %**"
    )
    idle = idle_ms_per_checkin(f)
    if idle is not None:
        request = per - idle - verifier
        line += (
            f"; of which {idle:.0f} ms is the background loops' cost at rest "
            f"({IDLE_SECONDS:.0f} s measured before the run, spread over the receipts), "
            f"leaving {request:.0f} ms on the request path: **+{100 * request / verifier:.0f} %**"
        )
    return line


def markdown(env, sizes: Sizes, f: dict, a: dict) -> str:
    errors = ", ".join(f"{k}: {v}" for k, v in f["errors"].items()) or "none"
    facts = {
        "target": f"{f['target']:g} check-ins/s for {f['arrival_window']:.0f} s "
        f"({f['arrivals']:,} arrivals, 1/{f['target']:g} s apart)",
        "achieved": f"**{f['achieved_in_window']:.2f}/s** kept up while arrivals ran (answers "
        "over the arrivals' span, shifted by the first quarter's median latency); "
        f"{f['receipts']:,} receipts in {f['duration']:.1f} s (first arrival to last "
        f"answer) = {f['achieved']:.2f}/s",
        "latency (request to receipt)": f"p50 **{report.fmt_ms(f['p50'])} ms**, p95 "
        f"**{report.fmt_ms(f['p95'])} ms**, p99 {report.fmt_ms(f['p99'])} ms, max "
        f"{report.fmt_ms(f['max'])} ms; median {report.fmt_ms(f['p50_first'])} ms in the "
        f"first quarter, {report.fmt_ms(f['p50_last'])} ms in the last",
        "errors": errors,
        "backlogged": f"{f['backlogged']:,} arrivals not sent (all {f['clients']} clients "
        f"busy); at most {f['max_in_flight']} in flight; {f['late']:,} sent more than "
        f"{LATE_AFTER * 1e3:.0f} ms late (the load generator starved); {f['resent']} sent "
        "again on a new connection (the server had closed the idle one)",
        "outcomes": ", ".join(f"{k} {v:,}" for k, v in sorted(f["outcomes"].items())) or "none",
        "server": f"`caseledger serve`, {f['shape']} (default: one worker per core), with "
        f"its background loops; {f['cores']} cores; stopped by SIGTERM in {f['stop_s']:.1f} s, "
        f"exit status {f['stop_status']}"
        + (f" (killed after the grace period: {', '.join(f['killed'])})" if f["killed"] else "")
        + f"; {f['log_errors']} error lines in its log",
        "CPU during the run": _cpu_line(f),
        "verifier": _verifier_line(f),
        "check-in beyond the verifier": _overhead_line(f),
        "machine load (1/5/15 min)": f["load"],
    }
    check_rows = [[name, "yes" if ok else "**NO**"] for name, ok in a["checks"].items()]
    lines = [
        f"## {TITLE}{env.label}",
        "",
        env.stamp(),
        "",
        _verdict(f, a),
        "",
        f"Open loop: check-ins arrive 1/{f['target']:g} s apart whatever the answers, each "
        f"sent by the next idle one of {f['clients']} client threads (keep-alive, loopback) "
        f"for one of {f['participants']} participants, with a new `submission_id` and a "
        "640x480 selfie (a single photo: liveness off for this benchmark); an arrival that "
        "finds every client busy is not sent (backlogged). "
        "Upload rate limits off; the real dlib verifier. Nothing is deleted: after each "
        "answer the participant's schedule moves one second earlier, so the next check-in "
        f"opens a new window. {f['warm']} untimed check-ins first (each worker loads its "
        "models).",
        "",
        report.facts_list(facts),
        "",
        f"Audit after `serve` stopped and `integrate_pending()` placed {a['integrated']:,} "
        f"events ({a['integrate_s']:.1f} s), warm-up included: {a['receipts']:,} receipts, "
        f"{a['rows']:,} check-in rows, {a['events']:,} `checkin`/`allowed` events, "
        f"{a['refused_events']:,} refusal events, {a['stored_unanswered']} rows stored for "
        f"an unanswered or refused request; {a['ledger']} (verified in {a['verify_s']:.1f} s).",
        "",
        report.table(["check", "passed"], check_rows, "ll"),
    ]
    if not held(f, a):
        lines += ["", cores_needed(f)]
    return "\n".join(lines)
