"""Check-ins: the verdict latency of one selfie, and check-ins per second on the real server.

Selfies are scikit-image's `data.astronaut()` (512x512, one frontal face) scaled to the
frame's height and centred on a grey 640x480 or 1280x720 canvas, saved as JPEG at several
qualities so that no two uploads have the same bytes. The reference photo is the same
picture at 640x480. Everything runs the real dlib verifier (`DlibResNetVerifier`).

- Latency: `POST /api/v1/checkins` through Django's test Client (multipart upload, bearer
  token, location, face verification, the check-in row and its ledger event, the receipt).
  After each check-in the benchmark deletes that participant's check-ins, so every request
  is a first attempt in an open window (no "already checked in", no replay refusal).
- Throughput: `caseledger serve --port <free port>` as a subprocess (granian, its default
  worker count = cores, the ledger integrator and the sweep beside it) against the
  benchmark database; client threads post check-ins over loopback with keep-alive for a
  fixed time, one participant each (its check-ins deleted after each receipt, as above).
  The server is stopped afterwards.
- Where the verifier's time goes: `compare` (as a check-in calls it: the probe's plain chip
  alone, the rest of the template form -- two other paddings and the three mirror images --
  only near the threshold) and `embed` (enrolment: the whole form, six chips, always),
  CPU time of this process per step, median of the probes.
- A liveness burst: five 480 px frames of the same selfie through `liveness.check_burst`
  (CPU time, median of the rounds), and its ResNet step alone with the ten chips (five
  frames and the rest of the key frame's template form) in one `compute_face_descriptor` call, as
  `DlibBurstReader` does, against one call per chip.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from . import report

NAME = "checkins"
TITLE = "Check-ins: verdict latency and throughput"
NEEDS_POPULATION = False
SIZES = ((640, 480), (1280, 720))
QUALITIES = (92, 88, 85, 82, 80, 78, 75, 72, 70, 68, 65)
OFFICE = "bench-checkins"


@dataclass(frozen=True)
class Sizes:
    warmup: int
    requests: int  # timed check-ins per image size (in process)
    solo_seconds: float  # one client against the server
    load_seconds: float  # 2 x workers clients against the server


FULL = Sizes(warmup=3, requests=30, solo_seconds=10.0, load_seconds=30.0)
QUICK = Sizes(warmup=1, requests=8, solo_seconds=4.0, load_seconds=8.0)


# --- pictures ------------------------------------------------------------------------------


def selfie(width: int, height: int, quality: int) -> bytes:
    from PIL import Image
    from skimage import data

    face = Image.fromarray(data.astronaut()).resize((height, height), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (width, height), (128, 128, 128))
    canvas.paste(face, ((width - height) // 2, 0))
    buffer = io.BytesIO()
    canvas.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


@dataclass
class Pictures:
    reference: bytes
    probes: dict[tuple[int, int], list[bytes]]
    refused: dict[tuple[int, int], list[tuple[int, str]]]


def pictures() -> Pictures:
    """The probes the verifier accepts (one face of usable quality), per size."""
    from caseledger.biometrics.verifier import get_verifier

    verifier = get_verifier()
    reference = selfie(640, 480, 95)
    probes: dict[tuple[int, int], list[bytes]] = {}
    refused: dict[tuple[int, int], list[tuple[int, str]]] = {}
    for size in SIZES:
        probes[size], refused[size] = [], []
        for quality in QUALITIES:
            image = selfie(*size, quality)
            outcome = verifier.embed(image).outcome
            if outcome == "ok":
                probes[size].append(image)
            else:
                refused[size].append((quality, outcome))
            if len(probes[size]) >= 3:
                break
        if not probes[size]:
            raise RuntimeError(f"no usable {size[0]}x{size[1]} probe: {refused[size]}")
    return Pictures(reference, probes, refused)


# --- participants --------------------------------------------------------------------------


@dataclass
class Participant:
    person_id: uuid.UUID
    enrolment_id: uuid.UUID
    username: str
    token: str


def participants(n: int, reference: bytes) -> list[Participant]:
    """n persons on a bench officer's caseload, enrolled with a window open for three days
    and ten attempts, each with an API token."""
    import secrets

    from django.test import Client

    from caseledger.access.context import AccessContext, Purpose
    from caseledger.accounts.models import Office, Role
    from caseledger.accounts.services import create_user
    from caseledger.core import clock
    from caseledger.people.services import AddressInput, NameInput, PersonInput, create_person
    from caseledger.supervision import services

    office, _ = Office.objects.get_or_create(code=OFFICE, defaults={"name": "Check-in bench"})
    officer = create_user(
        username=f"bench.checkins.{secrets.token_hex(3)}",
        password=secrets.token_urlsafe(24),
        role=Role.CASE_OFFICER,
        office=office,
    )
    ctx = AccessContext(user=officer, purpose=Purpose.CASELOAD, request_id="bench-checkins")
    client = Client()
    out = []
    for i in range(n):
        person = create_person(
            ctx=ctx,
            data=PersonInput(
                name=NameInput(given_names="Astrid", family_names=f"Collins {i}"),
                citizenship=["US"],
                languages=["en"],
                address=AddressInput(
                    line1=f"{100 + i} Launch Rd",
                    city="Houston",
                    region="TX",
                    postal_code="77058",
                    valid_from=clock.today() - timedelta(days=90),
                ),
            ),
        )
        result = services.enrol(
            ctx=ctx,
            person_id=person.pk,
            data=services.EnrolmentInput(
                level="standard",
                photo=reference,
                language="en",
                acknowledged=True,
                alternatives_offered=["office_visit", "phone_call"],
                conditions=["attend_hearings"],
                first_window_at=clock.now() - timedelta(hours=1),
                every_days=7,
                window_hours=72,
                grace_minutes=60,
                max_attempts=10,
            ),
        )
        response = client.post(
            "/api/v1/auth/token",
            {"username": result.username, "password": result.temporary_password},
            content_type="application/json",
        )
        if response.status_code != 200:
            raise RuntimeError(f"participant login: HTTP {response.status_code}")
        out.append(
            Participant(person.pk, result.enrolment.pk, result.username, response.json()["token"])
        )
    return out


def reset(participant: Participant) -> None:
    """Forget the participant's check-ins (and any review they opened): the next one is a
    first attempt in the window again."""
    from caseledger.supervision.models import CheckIn, Review

    Review.objects.filter(enrolment_id=participant.enrolment_id).delete()
    CheckIn.objects.filter(enrolment_id=participant.enrolment_id).delete()


FIELDS = {"latitude": "29.5519", "longitude": "-95.0970", "accuracy": "15"}


# --- latency in process --------------------------------------------------------------------


def bench_latency(env, sizes: Sizes, pics: Pictures, who: Participant) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from caseledger.biometrics.verifier import get_verifier

    client = Client(HTTP_AUTHORIZATION=f"Bearer {who.token}")
    verifier = get_verifier()
    results = {}
    for size in SIZES:
        probes = pics.probes[size]
        durations, outcomes = [], {}
        total = sizes.warmup + sizes.requests
        label = f"check-ins {size[0]}x{size[1]} (test Client)"
        for i in env.track(range(total), label):
            image = probes[i % len(probes)]
            data = dict(FIELDS, submission_id=str(uuid.uuid4()))
            data["image"] = SimpleUploadedFile("selfie.jpg", image, "image/jpeg")
            t = time.perf_counter_ns()
            response = client.post("/api/v1/checkins", data)
            elapsed = time.perf_counter_ns() - t
            reset(who)
            if response.status_code != 201:
                raise RuntimeError(f"check-in: HTTP {response.status_code} {response.content!r}")
            if i < sizes.warmup:
                continue
            durations.append(elapsed)
            outcome = response.json()["outcome"]
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = report.summarize_ms(durations)
        results[size] = {
            "summary": summary,
            "outcomes": outcomes,
            "bytes": statistics.mean(len(p) for p in probes),
            "stages": verifier_stages(verifier, pics.reference, probes),
        }
        env.console.print(
            f"  {size[0]}x{size[1]}: p50 {report.fmt_ms(summary['p50'])} ms, "
            f"p95 {report.fmt_ms(summary['p95'])} ms ({outcomes})"
        )
    return results


STEPS = ("load", "detect", "align", "embed", "total")


def verifier_stages(verifier, reference: bytes, probes: list[bytes], rounds: int = 3) -> dict:
    """CPU ms per step (median over rounds x probes) of `compare` (the check-in's call) and
    of `embed` (enrolment, the whole form), and how many compares took the second pass."""
    from caseledger.biometrics import verifier as v

    template = verifier.embed(reference).template()
    compare, embed, mirrored = [], [], 0
    for _ in range(rounds):
        for image in probes:
            analysis = verifier._analyse(image, _on_demand(verifier, template))
            compare.append(analysis.cpu_ms)
            mirrored += int(analysis.mirrored)
            embed.append(verifier.embed(image).cpu_ms)
    median = lambda rows: {k: statistics.median(r.get(k, 0.0) for r in rows) for k in STEPS}  # noqa: E731
    return {
        "compare": median(compare),
        "embed": median(embed),
        "mirrored": mirrored,
        "compares": len(compare),
        "band": getattr(verifier, "mirror_band", None),
        "threshold": v.current_threshold()[0],
    }


def _on_demand(verifier, template: bytes):
    """The mirror-on-demand rule `compare` applies (None: the verifier always mirrors)."""
    from caseledger.biometrics import verifier as v

    band = getattr(verifier, "mirror_band", None)
    if band is None:
        return None
    threshold = v.current_threshold()[0] if verifier.threshold is None else verifier.threshold
    return v._OnDemand(v.template_from_bytes(template), float(threshold), float(band))


# --- a liveness burst ----------------------------------------------------------------------


def burst_frames(n: int = 5) -> list[bytes]:
    """n frames of the bench selfie, each shifted a little (a hand-held phone), 480 px."""
    from PIL import Image

    base = Image.open(io.BytesIO(selfie(640, 480, 95))).convert("RGB")
    frames = []
    for k in range(n):
        shifted = base.crop((4 * k, 2 * k, 640 - 4 * (n - k), 480 - 2 * (n - k)))
        shifted.thumbnail((480, 480))
        buffer = io.BytesIO()
        shifted.save(buffer, "JPEG", quality=88 - k)
        frames.append(buffer.getvalue())
    return frames


def bench_burst(env, pics: Pictures, rounds: int) -> dict:
    """CPU ms of a 5-frame burst, and of its ResNet step batched vs one call per chip."""

    from caseledger.biometrics import liveness
    from caseledger.biometrics import verifier as v
    from caseledger.biometrics.liveness_frames import DlibBurstReader
    from caseledger.biometrics.verifier import get_verifier

    verifier = get_verifier()
    if not isinstance(verifier, v.DlibResNetVerifier):
        return {}
    template = verifier.embed(pics.reference).template()
    frames = burst_frames()
    whole, steps = [], []
    for _ in range(rounds):
        t = time.process_time()
        result = liveness.check_burst(frames, liveness.new_challenge(), template, verifier)
        whole.append((time.process_time() - t) * 1e3)
        steps.append(result.measures.cpu_ms)
    reader = DlibBurstReader(verifier)
    readings = reader.read(frames, max_side=liveness.MAX_FRAME_SIDE)
    models = v._DlibModels.get()
    with_face = [r for r in readings if r.extra is not None]
    chips = [
        models.dlib.get_face_chip(r.extra[0], r.extra[1], size=v.CHIP_SIZE, padding=v.CHIP_PADDING)
        for r in with_face
    ]
    chips += v.template_chips(models.dlib, *with_face[0].extra)[1:]
    batched, single = [], []
    for _ in range(rounds):
        t = time.process_time()
        models.resnet.compute_face_descriptor(chips)
        batched.append((time.process_time() - t) * 1e3)
        t = time.process_time()
        for chip in chips:
            models.resnet.compute_face_descriptor(chip)
        single.append((time.process_time() - t) * 1e3)
    out = {
        "frames": len(frames),
        "chips": len(chips),
        "rounds": rounds,
        "total": statistics.median(whole),
        "steps": {k: statistics.median(s.get(k, 0.0) for s in steps) for k in steps[0]},
        "batched": statistics.median(batched),
        "single": statistics.median(single),
        "outcome": result.outcome,
    }
    env.console.print(
        f"  burst of {out['frames']} frames: {out['total']:.0f} ms CPU; ResNet on "
        f"{out['chips']} chips: {out['batched']:.0f} ms in one call, {out['single']:.0f} ms "
        "one call per chip"
    )
    return out


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`caseledger serve` in its own process group, stopped with SIGINT (as Ctrl-C would)."""

    def __init__(self, port: int, log_path) -> None:
        self.port = port
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "caseledger.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 90.0) -> float:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            if self.process.poll() is not None:
                raise RuntimeError(f"caseledger serve exited with {self.process.returncode}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/v1/ledger/checkpoint")
                conn.getresponse().read()
                conn.close()
                return time.perf_counter() - t0
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"caseledger serve did not answer within {timeout:.0f} s")

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGINT)
                try:
                    self.process.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(10)
            # Granian's workers and the helpers are in the same group: make sure none is left.
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                pass
            else:
                time.sleep(1.0)
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
        finally:
            self.log.close()


def _multipart(image: bytes, fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="selfie.jpg"'
        "\r\nContent-Type: image/jpeg\r\n\r\n".encode()
        + image
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class LoadPhase:
    clients: int
    seconds: float
    ok: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ns: list[int] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def _client(
    port: int,
    who: Participant,
    probes: list[bytes],
    deadline: float,
    phase: LoadPhase,
    lock: threading.Lock,
    at_least: int = 0,
) -> None:
    from django.db import connection

    conn = None
    i = 0
    try:
        while i < at_least or time.perf_counter() < deadline:
            body, content_type = _multipart(
                probes[i % len(probes)], dict(FIELDS, submission_id=str(uuid.uuid4()))
            )
            i += 1
            headers = {"Authorization": f"Bearer {who.token}", "Content-Type": content_type}
            t = time.perf_counter_ns()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                conn.request("POST", "/api/v1/checkins", body, headers)
                response = conn.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn = None
                status = 0
                payload = b""
            elapsed = time.perf_counter_ns() - t
            with lock:
                phase.statuses[status] = phase.statuses.get(status, 0) + 1
                if status == 201:
                    phase.ok += 1
                    phase.latencies_ns.append(elapsed)
                    outcome = json.loads(payload).get("outcome", "?")
                    phase.outcomes[outcome] = phase.outcomes.get(outcome, 0) + 1
            reset(who)
    finally:
        if conn is not None:
            conn.close()
        connection.close()


def _load(
    port: int, clients: list[Participant], probes: list[bytes], seconds: float, at_least: int = 0
) -> LoadPhase:
    phase = LoadPhase(len(clients), seconds)
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds
    threads = [
        threading.Thread(
            target=_client,
            args=(port, who, probes, deadline, phase, lock, at_least),
            daemon=True,
        )
        for who in clients
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 150)
    phase.seconds = time.perf_counter() - start  # requests in flight at the deadline finish
    return phase


def bench_server(env, sizes: Sizes, pics: Pictures, crowd: list[Participant], tmp) -> dict:
    from django.db import close_old_connections

    from caseledger.ledger.models import Event

    workers = int(os.environ.get("CASELEDGER_WORKERS", os.cpu_count() or 1))
    port = free_port()
    probes = pics.probes[(640, 480)]
    log_path = tmp / "serve.log"
    close_old_connections()
    server = Server(port, log_path)
    try:
        ready = server.wait_ready()
        env.console.print(f"  caseledger serve on 127.0.0.1:{port}: answering after {ready:.1f} s")
        # Warm-up: every worker loads its dlib models on its first photo.
        warm = _load(port, crowd[: 2 * workers], probes, 0.0, at_least=1)
        if warm.ok < 2 * workers:
            raise RuntimeError(f"warm-up check-ins failed: {warm.statuses}; see {log_path}")
        phases = []
        events_before = Event.objects.count()
        for clients, seconds in ((1, sizes.solo_seconds), (2 * workers, sizes.load_seconds)):
            phase = _load(port, crowd[:clients], probes, seconds)
            phases.append(phase)
            s = report.summarize_ms(phase.latencies_ns)
            env.console.print(
                f"  {clients} client(s), {seconds:.0f} s: {phase.rate:.2f} check-ins/s, "
                f"p50 {report.fmt_ms(s['p50'])} ms, p95 {report.fmt_ms(s['p95'])} ms, "
                f"statuses {phase.statuses}"
            )
        events = Event.objects.count() - events_before
    finally:
        server.stop()
    log_tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
    return {
        "workers": workers,
        "ready": ready,
        "phases": phases,
        "events": events,
        "log_tail": log_tail,
    }


# --- the section ---------------------------------------------------------------------------


@contextlib.contextmanager
def single_photo_checkins():
    """Single-photo check-ins (``image``) are what these benchmarks post: with
    LIVENESS_REQUIRED on they are refused (422 ``liveness_required``). Turn it off here
    and for the server started meanwhile (it inherits the environment); the cost of a
    liveness burst is measured apart (:func:`bench_burst`)."""
    from django.test import override_settings

    name = "CASELEDGER_LIVENESS_REQUIRED"
    before = os.environ.get(name)
    os.environ[name] = "0"
    try:
        with override_settings(LIVENESS_REQUIRED=False):
            yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def run(env) -> str:
    with single_photo_checkins():
        return _run(env)


def _run(env) -> str:
    import tempfile
    from pathlib import Path

    sizes = QUICK if env.quick else FULL
    from caseledger.biometrics.verifier import get_verifier

    verifier = get_verifier()
    verifier_name = f"{type(verifier).__name__}, model `{verifier.model_id}`"
    t0 = time.perf_counter()
    pics = pictures()
    env.console.print(f"  selfies prepared and checked ({time.perf_counter() - t0:.1f} s)")
    workers = int(os.environ.get("CASELEDGER_WORKERS", os.cpu_count() or 1))
    t0 = time.perf_counter()
    crowd = participants(1 + 2 * workers, pics.reference)
    env.console.print(
        f"  {len(crowd)} participants enrolled and signed in ({time.perf_counter() - t0:.1f} s)"
    )
    latency = bench_latency(env, sizes, pics, crowd[0])
    burst = bench_burst(env, pics, rounds=3 if env.quick else 7)
    with tempfile.TemporaryDirectory(prefix="caseledger-bench-serve-") as tmp:
        server = bench_server(env, sizes, pics, crowd, Path(tmp))
    return _markdown(env, sizes, pics, latency, server, verifier_name, burst)


def _stage_rows(latency: dict) -> tuple[list[list[str]], str]:
    rows = []
    note = ""
    for size, r in latency.items():
        st = r["stages"]
        for call, label in (("compare", "check-in (`compare`)"), ("embed", "enrolment (`embed`)")):
            rows.append(
                [f"{size[0]}x{size[1]}", label] + [report.fmt_ms(st[call][k]) for k in STEPS]
            )
        note = (
            f"{st['mirrored']} of {st['compares']} compares took the rest of the template "
            f"form (band {st['band']} around {st['threshold']})"
        )
    return rows, note


def _burst_lines(burst: dict) -> list[str]:
    if not burst:
        return []
    steps = ", ".join(f"{k} {report.fmt_ms(v)}" for k, v in burst["steps"].items())
    return [
        "",
        f"A liveness burst: {burst['frames']} frames of 480 px through "
        f"`liveness.check_burst`, CPU median of {burst['rounds']} rounds: "
        f"**{burst['total']:.0f} ms** ({steps}). Its ResNet step alone, {burst['chips']} "
        f"chips (the frames and the rest of the key frame's template form): "
        f"**{burst['batched']:.0f} ms in one call** (as `DlibBurstReader` does), "
        f"{burst['single']:.0f} ms as one call per chip.",
    ]


def _markdown(
    env,
    sizes: Sizes,
    pics: Pictures,
    latency: dict,
    server: dict,
    verifier_name: str,
    burst: dict | None = None,
) -> str:
    rows = []
    for size, r in latency.items():
        s = r["summary"]
        rows.append(
            [
                f"{size[0]}x{size[1]}",
                f"{r['bytes'] / 1000:.0f} kB",
                report.fmt_int(s["n"]),
                report.fmt_ms(s["p50"]),
                report.fmt_ms(s["p95"]),
                report.fmt_ms(s["max"]),
                ", ".join(f"{k} {v}" for k, v in sorted(r["outcomes"].items())),
            ]
        )
    stage_rows, stage_note = _stage_rows(latency)
    load_rows = []
    for phase in server["phases"]:
        s = report.summarize_ms(phase.latencies_ns)
        others = {k: v for k, v in phase.statuses.items() if k != 201}
        load_rows.append(
            [
                str(phase.clients),
                f"{phase.seconds:.1f}",
                report.fmt_int(phase.ok),
                f"**{phase.rate:.2f}**",
                report.fmt_ms(s["p50"]),
                report.fmt_ms(s["p95"]),
                report.fmt_ms(s["max"]),
                ", ".join(f"HTTP {k or 'error'}: {v}" for k, v in sorted(others.items())) or "none",
            ]
        )
    refused = [
        f"{size[0]}x{size[1]} at JPEG quality {q} ({outcome})"
        for size, items in pics.refused.items()
        for q, outcome in items
    ]
    lines = [
        f"## {TITLE}{env.label}",
        "",
        env.stamp(),
        "",
        "Verdict latency, upload to receipt: `POST /api/v1/checkins` with a single photo "
        "(liveness off for this benchmark; a burst's cost is below) through Django's test "
        f"Client with the real dlib verifier ({verifier_name}), "
        f"{sizes.requests} timed check-ins per size after {sizes.warmup} untimed ones:",
        "",
        report.table(
            ["selfie", "JPEG size", "check-ins", "p50 ms", "p95 ms", "max ms", "outcomes"],
            rows,
            "lrrrrrl",
        ),
        "",
        "Where the verifier's time goes (CPU ms of this process per step, median of the "
        "probes): decoding, HOG face detection, 5-point alignment, ResNet embedding. A "
        "check-in embeds its plain chip alone, and the rest of the template form (two other "
        "paddings, three mirror images) only near the threshold; enrolment embeds all six "
        f"chips in one call ({stage_note}):",
        "",
        report.table(
            ["selfie", "call", "load", "detect", "align", "embed", "total"], stage_rows, "llrrrrr"
        ),
        *_burst_lines(burst or {}),
        "",
        f"Throughput: `caseledger serve` with its default {server['workers']} granian workers "
        f"(one per core), answering {server['ready']:.1f} s after start; 640x480 selfies "
        "posted over loopback with keep-alive by 1, then "
        f"{2 * server['workers']} client threads, each for a fixed time:",
        "",
        report.table(
            [
                "clients",
                "seconds",
                "check-ins",
                "per second",
                "p50 ms",
                "p95 ms",
                "max ms",
                "other responses",
            ],
            load_rows,
            "rrrrrrrl",
        ),
        "",
        "Notes:",
        "",
        "- Each selfie was compared with a reference photo of the same picture (the outcomes "
        "are in the table); each participant's check-ins were deleted after every receipt "
        "(not timed), so every "
        "request is a first attempt in an open window, neither refused as already done nor "
        "as a replay.",
        f"- The server's {server['events']:,} ledger events of the throughput runs were "
        "chained by its own integrator. The client threads share this machine's two cores "
        "with the server, PostgreSQL and the integrator.",
    ]
    if refused:
        lines.append(
            "- Probes the verifier refused before the benchmark (not used): "
            + "; ".join(refused)
            + "."
        )
    lines.append(
        "- The face-verification thresholds and their error rates are measured in the "
        "[calibration table of FACE_VERIFICATION.md]"
        "(FACE_VERIFICATION.md#calibration-chosen-threshold)."
    )
    return "\n".join(lines)
