"""The ledger: full verification of an export, inclusion proofs, audited writes.

Four measurements, each against the issue's targets (measured, never asserted):

- `caseledger-verify export` over an export of 10^6 entries (target: at most 5 s on one
  core). The export is synthetic, written straight to a temporary directory with
  caseledger_verify's own hashing and a checkpoint signed with a fresh key
  (`note.generate_signer`): leaves in the byte layout of `ledger.encoding` (checked against
  it), the chain, a checkpoint every 100,000 entries. The command runs as a subprocess, the
  way an auditor runs it; median of 3 runs.
- `GET /api/v1/ledger/proofs/inclusion` over a ledger of 100,000 integrated events (target:
  p95 at most 5 ms), through Django's test Client. The events are bulk-inserted with their
  real leaf bytes, then placed by `integrate_pending()` (timed too).
- Verifying one inclusion proof as an auditor's tool does (target: at most 1 ms).
- Audited writes per second: 16 threads, each with its own database connection, calling
  `record_event` in its own transaction while the integrator runs (target: at least 2,000/s),
  against plain inserts of the same rows into a table without the ledger in the same run.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import report

NAME = "ledger"
TITLE = "Ledger: verification, proofs, audited writes"
NEEDS_POPULATION = False
ORIGIN = "bench.caseledger.example/ledger"


@dataclass(frozen=True)
class Sizes:
    export_entries: int
    export_checkpoint_every: int
    export_runs: int
    ledger_events: int
    proof_requests: int
    proof_verifications: int
    writers: int
    write_seconds: float


FULL = Sizes(1_000_000, 100_000, 3, 100_000, 1_000, 5_000, 16, 10.0)
QUICK = Sizes(100_000, 25_000, 3, 10_000, 300, 1_000, 16, 3.0)


# --- a synthetic export -------------------------------------------------------------------

# One read event in the canonical encoding (`ledger.encoding.canonical_bytes`): compact JSON,
# sorted keys. Filled by position so that 10^6 leaves are made in seconds, not minutes;
# `_check_layout` compares it with the encoder.
_LEAF = (
    '{"action":"read","actor":"%s","category":"identity","detail":{"categories":'
    '["identity","address","contact","case"],"version":%d},"id":"6e6c6564-6765-4000-8000-%012x",'
    '"office":"bench","outcome":"allowed","purpose":"caseload","record":["people.person",'
    '"%s"],"request":"%016x%016x","role":"case_officer","subject":"%s",'
    '"time":"%s.%06dZ","v":1}'
)
_START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
_STEP_US = 2750  # microseconds between two events


class _Leaves:
    """The i-th synthetic leaf, cheaply: a few pools and a template."""

    def __init__(self, n: int, seed: int) -> None:
        rng = random.Random(seed)
        self.actors = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(40)]
        self.subjects = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(5_000)]
        seconds = n * _STEP_US // 1_000_000 + 1
        self.seconds = [
            (_START + timedelta(seconds=k)).strftime("%Y-%m-%dT%H:%M:%S") for k in range(seconds)
        ]

    def fields(self, i: int) -> tuple:
        second, micro = divmod(i * _STEP_US, 1_000_000)
        subject = self.subjects[(i * 7919) % 5_000]
        return (
            self.actors[i % 40],
            i % 7 + 1,
            i,
            subject,
            i * 2654435761 % (1 << 64),
            i,
            subject,
            self.seconds[second],
            micro,
        )

    def leaf(self, i: int) -> bytes:
        return (_LEAF % self.fields(i)).encode("ascii")


def _check_layout(leaves: _Leaves, i: int) -> None:
    """The template gives the bytes `ledger.encoding` gives for the same event."""
    from caseledger.ledger import encoding

    actor, version, _i, subject, high, low, _s, second, micro = leaves.fields(i)
    event = {
        "id": f"6e6c6564-6765-4000-8000-{i:012x}",
        "time": encoding.format_time(_START + timedelta(microseconds=i * _STEP_US)),
        "actor": actor,
        "role": "case_officer",
        "office": "bench",
        "action": "read",
        "subject": subject,
        "record": ["people.person", subject],
        "category": "identity",
        "purpose": "caseload",
        "outcome": "allowed",
        "request": f"{high:016x}{low:016x}",
        "detail": {"categories": ["identity", "address", "contact", "case"], "version": version},
    }
    if encoding.canonical_bytes(event) != leaves.leaf(i):
        raise RuntimeError(f"the synthetic leaf drifted from ledger.encoding: {leaves.leaf(i)!r}")


@dataclass
class Export:
    directory: Path
    key_file: Path
    entries: int
    checkpoints: list[int]
    bytes: int
    seconds: float
    leaf_bytes_mean: float


def write_export(directory: Path, n: int, every: int, *, seed: int = 0) -> Export:
    """An export as `ledger.export.export_ledger` writes it, made without a database."""
    from caseledger_verify import merkle, note

    t0 = time.perf_counter()
    leaves = _Leaves(n, seed)
    for i in (0, n // 2, n - 1):
        _check_layout(leaves, i)
    skey, vkey = note.generate_signer(ORIGIN)
    directory.mkdir(parents=True)
    (directory / "checkpoints").mkdir()
    (directory / "key.pub").write_text(vkey + "\n")
    key_file = directory.parent / "trusted.pub"
    key_file.write_text(vkey + "\n")

    sha256 = hashlib.sha256
    b2a = binascii.b2a_base64
    template = _LEAF
    fields = leaves.fields
    builder = merkle.TreeBuilder()
    append = builder.append
    chain = merkle.CHAIN_SEED
    sizes: list[int] = []
    leaf_total = 0
    with (directory / "entries.jsonl").open("wb") as fh:
        for begin in range(0, n, every):
            lines = []
            add = lines.append
            for i in range(begin, min(begin + every, n)):
                leaf = (template % fields(i)).encode("ascii")
                leaf_total += len(leaf)
                lh = sha256(b"\x00" + leaf).digest()
                chain = sha256(chain + lh).digest()
                append(lh)
                add(
                    b'{"index":%d,"leaf":"%s","chain":"%s"}\n'
                    % (i, b2a(leaf, newline=False), chain.hex().encode("ascii"))
                )
            fh.write(b"".join(lines))
            size = min(begin + every, n)
            sizes.append(size)
            (directory / "checkpoints" / str(size)).write_text(
                note.sign_checkpoint(ORIGIN, size, builder.root(), skey)
            )
    return Export(
        directory=directory,
        key_file=key_file,
        entries=n,
        checkpoints=sizes,
        bytes=(directory / "entries.jsonl").stat().st_size,
        seconds=time.perf_counter() - t0,
        leaf_bytes_mean=leaf_total / max(n, 1),
    )


@dataclass
class ExportRun:
    wall: float
    cpu: float
    status: int
    output: str


def verify_export_cli(export: Export, state: Path) -> ExportRun:
    """`caseledger-verify export DIR --key KEY` as a subprocess: wall and CPU seconds."""
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    command = [
        sys.executable,
        "-m",
        "caseledger_verify",
        "export",
        str(export.directory),
        "--key",
        str(export.key_file),
        "--state",
        str(state),
    ]
    before = os.times()
    t0 = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return ExportRun(wall, cpu, done.returncode, (done.stdout + done.stderr).strip())


def bench_export(env, sizes: Sizes, tmp: Path) -> dict:
    env.console.print(
        f"  writing a synthetic export of {sizes.export_entries:,} entries "
        f"(checkpoint every {sizes.export_checkpoint_every:,})"
    )
    export = write_export(tmp / "export", sizes.export_entries, sizes.export_checkpoint_every)
    env.console.print(
        f"  written in {export.seconds:.1f} s ({export.bytes / 1e6:,.0f} MB, "
        f"{len(export.checkpoints)} checkpoints)"
    )
    runs = []
    for i in range(sizes.export_runs):
        run = verify_export_cli(export, tmp / f"state-{i}")
        if run.status != 0:
            raise RuntimeError(f"caseledger-verify export failed: {run.output}")
        runs.append(run)
        env.console.print(f"  caseledger-verify export: {run.wall:.2f} s (CPU {run.cpu:.2f} s)")
    hashing = _pure_hashing_seconds(export)
    layouts = _layouts(export, tmp)
    shutil_rmtree(export.directory)
    return {"export": export, "runs": runs, "hashing": hashing, "layouts": layouts}


def _layouts(export: Export, tmp: Path) -> dict[str, float] | None:
    """The same first checkpoint's entries in the exporter's compact layout and re-serialised
    with spaces (`json.dumps` defaults), which the verifier parses as JSON line by line: the
    cost of the fast path against the general one, per 10^6 entries."""
    first = export.checkpoints[0]
    if first < 1_000:
        return None
    result = {}
    for label, spaced in (("compact", False), ("spaced", True)):
        directory = tmp / f"prefix-{label}"
        (directory / "checkpoints").mkdir(parents=True)
        (directory / "key.pub").write_bytes((export.directory / "key.pub").read_bytes())
        (directory / "checkpoints" / str(first)).write_bytes(
            (export.directory / "checkpoints" / str(first)).read_bytes()
        )
        with (
            (export.directory / "entries.jsonl").open("rb") as src,
            (directory / "entries.jsonl").open("wb") as dst,
        ):
            for i, raw in enumerate(src):
                if i >= first:
                    break
                dst.write(json.dumps(json.loads(raw)).encode() + b"\n" if spaced else raw)
        seconds = _in_fresh_process("time_verify_export", directory, export.key_file, 3)
        result[label] = seconds * 1_000_000 / first
        shutil_rmtree(directory)
    return result


def _in_fresh_process(function: str, *args: object) -> object:
    """Run `bench.ledger.<function>(*args)` in a new interpreter (no Django, none of this
    process's heap) and return its JSON result: timings of pure-Python loops are then not
    disturbed by this process's garbage collector walking the data set."""
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    code = (
        "import json, sys\n"
        f"from bench.ledger import {function} as run\n"
        "print(json.dumps(run(*sys.argv[1:])))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{function} failed: {done.stderr.strip()}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def time_verify_export(directory: str, key_file: str, repeats: str) -> float:
    """Median seconds of `cli.verify_export` over an export (in this process, no state)."""
    from caseledger_verify import cli

    verifier = cli.load_key(key_file)
    runs = []
    for _ in range(int(repeats)):
        t0 = time.perf_counter()
        cli.verify_export(Path(directory), verifier, cli.State(None))
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def _pure_hashing_seconds(export: Export, sample: int = 200_000) -> dict[str, float]:
    """The floor under any verifier in Python, on a sample scaled to the whole export."""
    result = _in_fresh_process(
        "hashing_floor", export.directory / "entries.jsonl", export.entries, sample
    )
    assert isinstance(result, dict)
    return result


def hashing_floor(entries: str, total: str, sample: str) -> dict[str, float]:
    """Base64-decoding the leaves and the SHA-256 work per entry (leaf hash, chain, about one
    tree node) on the first `sample` entries, scaled to `total` entries: seconds."""
    from caseledger_verify import merkle

    leaves_b64 = []
    with Path(entries).open("rb") as fh:
        for raw in fh:
            start = raw.index(b'"leaf":"') + 8
            leaves_b64.append(raw[start : raw.index(b'"', start)])
            if len(leaves_b64) >= int(sample):
                break
    n = len(leaves_b64)
    a2b = binascii.a2b_base64
    t0 = time.perf_counter()
    leaves = [a2b(b) for b in leaves_b64]
    decode = time.perf_counter() - t0
    sha256 = hashlib.sha256
    t0 = time.perf_counter()
    hashes = [sha256(b"\x00" + leaf).digest() for leaf in leaves]
    chain = merkle.CHAIN_SEED
    for h in hashes:
        chain = sha256(chain + h).digest()
    merkle.root_from_leaf_hashes(hashes)
    hashing = time.perf_counter() - t0
    scale = int(total) / max(n, 1)
    return {"base64": decode * scale, "sha256": hashing * scale}


def shutil_rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# --- a ledger of integrated events in the database ----------------------------------------


def _event_rows(n: int, rng: random.Random) -> list:
    from caseledger.core import clock
    from caseledger.ledger import encoding
    from caseledger.ledger.models import Event

    actors = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(40)]
    subjects = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(5_000)]
    start = clock.now() - timedelta(days=30)
    rows = []
    for i in range(n):
        subject = subjects[rng.randrange(len(subjects))]
        event = Event(
            uuid=uuid.UUID(int=rng.getrandbits(128), version=4),
            time=start + timedelta(microseconds=i * 25_000),
            actor_id=actors[i % len(actors)],
            actor_role="case_officer",
            office="bench",
            action="read",
            subject_id=subject,
            record_type="people.person",
            record_id=str(subject),
            data_category="identity",
            purpose="caseload",
            outcome="allowed",
            request_id=f"{rng.getrandbits(128):032x}",
            detail={"categories": ["identity", "address", "contact", "case"], "version": 1},
        )
        event.leaf = encoding.canonical_bytes(encoding.event_fields(event))
        event.leaf_hash = encoding.leaf_hash(event.leaf)
        rows.append(event)
    return rows


def insert_events(rows: list, advance=lambda n: None, chunk: int = 5_000) -> None:
    """Insert events as they are (leaf bytes included): COPY on PostgreSQL, else bulk_create."""
    from django.db import connection

    from caseledger.ledger.models import Event
    from caseledger.ledger.services import EVENT_COLUMNS

    if connection.vendor != "postgresql":
        for start in range(0, len(rows), chunk):
            Event.objects.bulk_create(rows[start : start + chunk])
            advance(min(chunk, len(rows) - start))
        return
    statement = f"COPY ledger_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for i, e in enumerate(rows, 1):
            copy.write_row(
                tuple(json.dumps(e.detail) if c == "detail" else getattr(e, c)
                      for c in EVENT_COLUMNS)
            )
            if i % chunk == 0:
                advance(chunk)
    advance(len(rows) % chunk)


def analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE ledger_event, ledger_entry, ledger_node")


def bench_proofs(env, sizes: Sizes) -> dict:
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from caseledger.ledger import checkpoints
    from caseledger.ledger.models import Entry
    from caseledger.ledger.services import integrate_pending
    from caseledger_verify import merkle, note

    rng = random.Random(env.seed + 30)
    integrate_pending()  # whatever earlier benchmarks left pending, untimed
    before = Entry.objects.count()
    t0 = time.perf_counter()
    rows = _event_rows(sizes.ledger_events, rng)
    generated = time.perf_counter() - t0
    t0 = time.perf_counter()
    with env.progress_bar("events (COPY / bulk_create)", len(rows)) as advance:
        insert_events(rows, advance)
    inserted = time.perf_counter() - t0
    t0 = time.perf_counter()
    placed = integrate_pending()
    integration = time.perf_counter() - t0
    analyze()  # what autovacuum does to the new rows soon after, in a live system
    env.console.print(
        f"  {len(rows):,} events inserted in {inserted:.1f} s; integrate_pending placed "
        f"{placed:,} in {integration:.1f} s ({placed / max(integration, 1e-9):,.0f}/s)"
    )
    checkpoints.ensure_demo_key()
    t0 = time.perf_counter()
    checkpoint = checkpoints.sign_checkpoint(force=True)
    signing = time.perf_counter() - t0
    if checkpoint is None:
        checkpoint = checkpoints.latest()
    size = checkpoint.size
    verifier = checkpoints.verifier_key()

    uuids = [row.uuid for row in rows]
    client = Client()
    url = "/api/v1/ledger/proofs/inclusion"
    for u in rng.sample(uuids, min(50, len(uuids))):  # warm-up
        client.get(url, {"event": str(u)})
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url, {"event": str(uuids[0])})
    statements = len(captured.captured_queries)
    durations = []
    bodies = []
    picks = [uuids[rng.randrange(len(uuids))] for _ in range(sizes.proof_requests)]
    for u in env.track(picks, "inclusion proofs (GET)"):
        t = time.perf_counter_ns()
        response = client.get(url, {"event": str(u)})
        durations.append(time.perf_counter_ns() - t)
        if response.status_code != 200:
            raise RuntimeError(f"inclusion proof: HTTP {response.status_code} {response.content!r}")
        bodies.append(response.content)
    served = report.summarize_ms(durations)
    env.console.print(
        f"  inclusion proof over HTTP (test Client): p50 {report.fmt_ms(served['p50'])} ms, "
        f"p95 {report.fmt_ms(served['p95'])} ms"
    )

    # Verification, as an auditor's tool does it: parse the JSON, recompute the root.
    note_text = checkpoint.note
    cp = note.verify_note(note_text, verifier)
    verify_ns, full_ns = [], []
    proofs = [json.loads(b) for b in bodies]
    for data in (proofs * (sizes.proof_verifications // max(len(proofs), 1) + 1))[
        : sizes.proof_verifications
    ]:
        t = time.perf_counter_ns()
        merkle.InclusionProof.from_dict(data).verify(cp.root)
        verify_ns.append(time.perf_counter_ns() - t)
    for data in proofs[: min(len(proofs), 1_000)]:
        t = time.perf_counter_ns()
        root = note.verify_note(note_text, verifier).root
        merkle.InclusionProof.from_dict(data).verify(root)
        full_ns.append(time.perf_counter_ns() - t)
    lengths = [len(p["hashes"]) for p in proofs]
    cli = _inclusion_cli(proofs[0], note_text, verifier)
    return {
        "before": before,
        "events": len(rows),
        "generated": generated,
        "inserted": inserted,
        "placed": placed,
        "integration": integration,
        "signing": signing,
        "size": size,
        "statements": statements,
        "served": served,
        "verify": report.summarize_ms(verify_ns),
        "verify_with_note": report.summarize_ms(full_ns),
        "proof_hashes": (min(lengths), max(lengths)),
        "cli": cli,
        "inline": settings.LEDGER_INTEGRATE_INLINE,
    }


def _inclusion_cli(proof: dict, note_text: str, verifier: str) -> list[float]:
    """`caseledger-verify inclusion` as a subprocess (interpreter start-up included)."""
    with tempfile.TemporaryDirectory(prefix="caseledger-bench-proof-") as tmp:
        directory = Path(tmp)
        (directory / "proof.json").write_text(json.dumps(proof))
        (directory / "checkpoint").write_text(note_text)
        (directory / "key.pub").write_text(verifier + "\n")
        env = dict(os.environ)
        env.pop("DJANGO_SETTINGS_MODULE", None)
        command = [
            sys.executable,
            "-m",
            "caseledger_verify",
            "inclusion",
            str(directory / "proof.json"),
            "--checkpoint",
            str(directory / "checkpoint"),
            "--key",
            str(directory / "key.pub"),
            "--no-state",
        ]
        seconds = []
        for _ in range(3):
            t0 = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
            seconds.append(time.perf_counter() - t0)
            if done.returncode != 0:
                raise RuntimeError(f"caseledger-verify inclusion failed: {done.stderr}")
    return seconds


# --- audited writes under concurrency ------------------------------------------------------

PLAIN_TABLE = "bench_plain_event"
CATCH_UP_SECONDS = 45


@dataclass
class WritePhase:
    label: str
    seconds: float
    writes: int
    errors: int
    latencies_ns: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.writes / self.seconds if self.seconds else 0.0


def _create_plain_table() -> None:
    """The event table's columns and indexes without the ledger: no leaf bytes, no hash, no
    append-only triggers, no integrator."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        cursor.execute(
            f"CREATE TABLE {PLAIN_TABLE} (LIKE ledger_event INCLUDING DEFAULTS "
            "INCLUDING IDENTITY INCLUDING INDEXES)"
        )
        cursor.execute(f"ALTER TABLE {PLAIN_TABLE} DROP COLUMN leaf, DROP COLUMN leaf_hash")


_PLAIN_INSERT = (
    f"INSERT INTO {PLAIN_TABLE} (uuid, time, actor_id, actor_role, office, action, subject_id, "
    "record_type, record_id, data_category, purpose, outcome, request_id, detail) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _write_kwargs(rng: random.Random, actor) -> dict:
    subject = uuid.UUID(int=rng.getrandbits(128), version=4)
    return {
        "actor": actor,
        "action": "read",
        "category": "identity",
        "purpose": "caseload",
        "subject_id": subject,
        "record_type": "people.person",
        "record_id": subject,
        "request_id": f"{rng.getrandbits(128):032x}",
        "detail": {"categories": ["identity", "address", "contact", "case"], "version": 1},
    }


def _audited_write(rng: random.Random, actor) -> None:
    from django.db import transaction

    from caseledger.ledger.services import record_event

    with transaction.atomic():
        record_event(**_write_kwargs(rng, actor))


def _plain_write(rng: random.Random, actor) -> None:
    from django.db import connection, transaction

    from caseledger.core import clock

    k = _write_kwargs(rng, actor)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _PLAIN_INSERT,
            [
                uuid.uuid4(),
                clock.now(),
                actor.id,
                actor.role,
                actor.office,
                k["action"],
                k["subject_id"],
                k["record_type"],
                str(k["record_id"]),
                k["category"],
                k["purpose"],
                "allowed",
                k["request_id"],
                json.dumps(k["detail"]),
            ],
        )


def _write_phase(label: str, write, threads: int, seconds: float, seed: int) -> WritePhase:
    from django.db import connection

    from caseledger.ledger.services import Actor

    actor = Actor(id=str(uuid.UUID(int=seed, version=4)), role="case_officer", office="bench")
    ready = threading.Barrier(threads + 1)
    counts = [0] * threads
    errors = [0] * threads
    latencies: list[list[int]] = [[] for _ in range(threads)]
    deadline = [0.0]

    def worker(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        lat = latencies[i]
        try:
            connection.ensure_connection()
            ready.wait()
            end = deadline[0]
            while time.perf_counter() < end:
                t = time.perf_counter_ns()
                try:
                    write(rng, actor)
                except Exception:  # noqa: BLE001 - counted and reported, the run goes on
                    errors[i] += 1
                    continue
                lat.append(time.perf_counter_ns() - t)
                counts[i] += 1
        finally:
            connection.close()

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    deadline[0] = time.perf_counter() + seconds
    ready.wait()
    started = time.perf_counter()
    for t in pool:
        t.join(seconds + 60)
    elapsed = time.perf_counter() - started
    return WritePhase(
        label, elapsed, sum(counts), sum(errors), [x for lat in latencies for x in lat]
    )


def _sequential_cost(write, seed: int, n: int = 1_000) -> dict[str, float]:
    """One client on the main connection: wall and CPU (this process) per write, in µs."""
    from caseledger.ledger.services import Actor

    actor = Actor(id=str(uuid.UUID(int=seed, version=4)), role="case_officer", office="bench")
    rng = random.Random(seed)
    for _ in range(50):
        write(rng, actor)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        write(rng, actor)
    return {
        "wall_us": (time.perf_counter() - wall) / n * 1e6,
        "cpu_us": (time.process_time() - cpu) / n * 1e6,
    }


def _start_integrator() -> subprocess.Popen:
    """`caseledger ledger integrate --loop`, as `caseledger serve` runs it beside the app;
    returns once its loop has started (Django loaded, first tick begun), so the audited
    writes are measured against a running integrator, not one still importing."""
    process = subprocess.Popen(
        [sys.executable, "-m", "caseledger.cli", "ledger", "integrate", "--loop"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    started = threading.Event()

    def watch() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            if "integrating every" in line:
                started.set()
        started.set()  # it ended

    threading.Thread(target=watch, daemon=True).start()
    started.wait(60)
    return process


def _stop(process: subprocess.Popen) -> None:
    import signal

    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)


def _orm_write(rng: random.Random, actor) -> None:
    """An audited write as `record_event` made it before the lean path: the model built with
    its 16 fields and inserted by `save()` (kept here to measure what the lean path saves)."""
    from django.db import transaction

    from caseledger.core import clock
    from caseledger.ledger import encoding, vocabulary
    from caseledger.ledger.models import Event

    k = _write_kwargs(rng, actor)
    with transaction.atomic():
        vocabulary.check(action=k["action"], category=k["category"], purpose=k["purpose"],
                         outcome="allowed", record_type=k["record_type"])
        event = Event(
            uuid=uuid.uuid4(), time=clock.now(), actor_id=actor.id, actor_role=actor.role,
            office=actor.office, action=k["action"], subject_id=k["subject_id"],
            record_type=k["record_type"], record_id=str(k["record_id"]),
            data_category=k["category"], purpose=k["purpose"], outcome="allowed",
            request_id=k["request_id"], detail=k["detail"],
        )
        event.leaf = encoding.canonical_bytes(encoding.event_fields(event))
        event.leaf_hash = encoding.leaf_hash(event.leaf)
        event.save()


ROUNDS = 2  # plain, audited, plain, audited: both see the same changes of the machine's load


def bench_writes(env, sizes: Sizes) -> dict:
    from django.conf import settings

    from caseledger.ledger.models import Entry, Event
    from caseledger.ledger.services import integrate_pending

    _create_plain_table()
    integrate_pending()
    single = {
        "plain": _sequential_cost(_plain_write, env.seed + 42),
        "audited": _sequential_cost(_audited_write, env.seed + 43),
        "orm": _sequential_cost(_orm_write, env.seed + 44),
    }
    env.console.print(
        "  one client, CPU per write: "
        + ", ".join(f"{k} {v['cpu_us']:.0f} µs" for k, v in single.items())
    )
    integrate_pending()
    load_before = report.load_average()
    events_before = Event.objects.count()
    entries_before = Entry.objects.count()
    plain: list[WritePhase] = []
    audited: list[WritePhase] = []
    integrator = _start_integrator()
    try:
        for i in range(ROUNDS):
            env.console.print(
                f"  round {i + 1}: plain inserts, then audited writes (record_event), "
                f"{sizes.writers} threads for {sizes.write_seconds:.0f} s each, integrator "
                "running"
            )
            plain.append(_write_phase("plain", _plain_write, sizes.writers,
                                      sizes.write_seconds, env.seed + 40 + 2 * i))
            audited.append(_write_phase("audited", _audited_write, sizes.writers,
                                        sizes.write_seconds, env.seed + 41 + 2 * i))
            env.console.print(
                f"    plain {plain[-1].rate:,.0f}/s, audited {audited[-1].rate:,.0f}/s: "
                f"ratio {audited[-1].rate / max(plain[-1].rate, 1e-9):.2f}"
            )
        written = Event.objects.count() - events_before
        placed_during = Entry.objects.count() - entries_before
        # How long the running integrator takes to catch up once the writers stop.
        t0 = time.perf_counter()
        caught_up = None
        while time.perf_counter() - t0 < CATCH_UP_SECONDS:
            if not Event.objects.filter(entry__isnull=True).exists():
                caught_up = time.perf_counter() - t0
                break
            time.sleep(0.25)
    finally:
        _stop(integrator)
    integrate_pending()
    return {
        "plain": _merged("plain", plain),
        "audited": _merged("audited", audited),
        "rounds": [(p.rate, a.rate) for p, a in zip(plain, audited, strict=True)],
        "written": written,
        "placed_during": placed_during,
        "caught_up": caught_up,
        "interval": settings.LEDGER_INTEGRATE_INTERVAL_SECONDS,
        "single": single,
        "load": (load_before, report.load_average()),
    }


def _merged(label: str, phases: list[WritePhase]) -> WritePhase:
    return WritePhase(
        label,
        sum(p.seconds for p in phases),
        sum(p.writes for p in phases),
        sum(p.errors for p in phases),
        [x for p in phases for x in p.latencies_ns],
    )


# --- the section ---------------------------------------------------------------------------


def run(env) -> str:
    from django.db import connection

    sizes = QUICK if env.quick else FULL
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="caseledger-bench-ledger-") as tmp:
        env.console.print("[bold]Full verification of an export[/bold]")
        results["export"] = bench_export(env, sizes, Path(tmp))
    env.console.print("[bold]Inclusion proofs[/bold]")
    results["proofs"] = bench_proofs(env, sizes)
    if connection.vendor == "postgresql":
        env.console.print("[bold]Audited writes[/bold]")
        results["writes"] = bench_writes(env, sizes)
    return _markdown(env, sizes, results)


def _verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _markdown(env, sizes: Sizes, results: dict) -> str:
    ex = results["export"]
    export: Export = ex["export"]
    walls = [r.wall for r in ex["runs"]]
    cpus = [r.cpu for r in ex["runs"]]
    wall = statistics.median(walls)
    pr = results["proofs"]
    served, verify = pr["served"], pr["verify"]
    rows = [
        [
            f"`caseledger-verify export` of {export.entries:,} entries (one process)",
            f"**{wall:.2f} s** median of {len(walls)} "
            f"({', '.join(f'{w:.2f}' for w in walls)} s; CPU {statistics.median(cpus):.2f} s)",
            "≤ 5 s",
            _verdict(wall <= 5.0) if export.entries == 1_000_000 else "(smaller export)",
        ],
        [
            f"`GET /api/v1/ledger/proofs/inclusion` over a tree of {pr['size']:,}",
            f"p50 {report.fmt_ms(served['p50'])} ms, **p95 {report.fmt_ms(served['p95'])} ms**, "
            f"max {report.fmt_ms(served['max'])} ms ({served['n']:,} requests)",
            "p95 ≤ 5 ms",
            _verdict(served["p95"] <= 5.0),
        ],
        [
            "verifying one inclusion proof (parse JSON, recompute the root)",
            f"p50 {verify['p50'] * 1000:.0f} µs, **p95 {verify['p95'] * 1000:.0f} µs** "
            f"({verify['n']:,} proofs)",
            "≤ 1 ms",
            _verdict(verify["p95"] <= 1.0),
        ],
    ]
    wr = results.get("writes")
    if wr:
        plain, audited = wr["plain"], wr["audited"]
        ratio = audited.rate / max(plain.rate, 1e-9)
        rows.append(
            [
                f"audited writes, {sizes.writers} concurrent clients (integrator running), "
                "against plain inserts in the same run",
                f"**{audited.rate:,.0f} writes/s**; plain inserts {plain.rate:,.0f}/s; "
                f"**ratio {ratio:.2f}**",
                "ratio ≥ 0.5",
                _verdict(ratio >= 0.5),
            ]
        )
    lines = [
        f"## {TITLE}{env.label}",
        "",
        env.stamp(),
        "",
        report.table(["measure", "result", "target", ""], rows, "lllr"),
        "",
        f"Load average {env.load_at_start} when the run started and {report.load_average()} "
        f"when this section was written, on {env.facts['cores']} cores shared with other work: "
        "the wall times move "
        "with it (CPU times are given where they matter), the audited/plain ratio much less, as "
        "both were measured in alternating rounds of the same run.",
        "",
        "**Full verification of an export.** "
        f"The export ({export.bytes / 1e6:,.0f} MB, leaves of {export.leaf_bytes_mean:.0f} bytes "
        "on average: read events in the layout of `ledger.encoding`, base64 in "
        "`entries.jsonl` with the chain hash) was written synthetically in a temporary "
        f"directory in {export.seconds:.0f} s with caseledger_verify's own hashing, with "
        f"{len(export.checkpoints)} checkpoints signed by a fresh key "
        f"(`note.generate_signer`), one every {sizes.export_checkpoint_every:,} entries. "
        "`caseledger-verify export DIR --key KEY --state DIR` ran as a subprocess (interpreter "
        "start-up included), recomputing every leaf hash, the chain, the tree and each "
        "checkpoint's root and signature.",
    ]
    hashing = ex["hashing"]
    lines += [
        "",
        f"- The floor under any verifier in Python, measured on a sample and scaled to "
        f"{export.entries:,} entries: base64-decoding the leaves "
        f"{hashing['base64']:.2f} s, the SHA-256 work (leaf hash, chain, tree nodes) "
        f"{hashing['sha256']:.2f} s.",
    ]
    layouts = ex["layouts"]
    if layouts:
        lines.append(
            "- Per 10^6 entries, in process (`cli.verify_export`, median of 3 over the first "
            f"{export.checkpoints[0]:,} entries): {layouts['compact']:.2f} s in the exporter's "
            "compact layout (sliced without a JSON parser, hashed in batches), "
            f"{layouts['spaced']:.2f} s for the same entries re-serialised with spaces, which "
            "the verifier parses with `json.loads` line by line (any line not in the exact "
            "layout takes that path, with the same checks and messages)."
        )
    lines += [
        "",
        "**Inclusion proofs.** "
        f"{pr['events']:,} read events were bulk-inserted with their canonical leaf bytes and "
        f"leaf hashes (`ledger.encoding`) in {pr['inserted']:.1f} s "
        f"({pr['before']:,} entries were already in the log), then "
        f"`integrate_pending()` placed {pr['placed']:,} events in {pr['integration']:.1f} s: "
        f"**{pr['placed'] / max(pr['integration'], 1e-9):,.0f} events/s**. Signing the "
        f"checkpoint of size {pr['size']:,} took {pr['signing'] * 1000:.0f} ms. Proofs were "
        f"requested for random events through Django's test Client (no network), after 50 "
        f"warm-up requests; a request issues {pr['statements']} SQL statements; proofs hold "
        f"{pr['proof_hashes'][0]}–{pr['proof_hashes'][1]} hashes.",
        "",
        f"- Verification with the checkpoint note's Ed25519 signature checked each time: "
        f"p50 {pr['verify_with_note']['p50'] * 1000:.0f} µs, "
        f"p95 {pr['verify_with_note']['p95'] * 1000:.0f} µs.",
        "- `caseledger-verify inclusion PROOF --checkpoint NOTE --key KEY` as a command: "
        f"{statistics.median(pr['cli']) * 1000:.0f} ms (median of 3), nearly all of it "
        "interpreter start-up and imports.",
    ]
    if wr:
        lines += _writes_markdown(sizes, wr)
    elif results.get("proofs", {}).get("inline"):
        lines += [
            "",
            "Audited writes under concurrency are measured on PostgreSQL only (SQLite "
            "serialises writers and chains each event inline).",
        ]
    return "\n".join(lines)


def _writes_markdown(sizes: Sizes, wr: dict) -> list[str]:
    plain, audited, single = wr["plain"], wr["audited"], wr["single"]
    p_lat = report.summarize_ms(plain.latencies_ns)
    a_lat = report.summarize_ms(audited.latencies_ns)
    catch = (
        f"caught up {wr['caught_up']:.1f} s after the writers stopped"
        if wr["caught_up"] is not None
        else f"had not caught up {CATCH_UP_SECONDS} s after the writers stopped"
    )
    rounds = "; ".join(f"round {i}: {p:,.0f} vs {a:,.0f}/s ({a / max(p, 1e-9):.2f})"
                       for i, (p, a) in enumerate(wr["rounds"], 1))
    return [
        "",
        "**Audited writes.** "
        f"{sizes.writers} threads, each with its own PostgreSQL connection, wrote for "
        f"{sizes.write_seconds:.0f} s at a time, {len(wr['rounds'])} rounds of *plain* then "
        "*audited*, with `caseledger ledger integrate --loop` running as a separate process "
        "throughout (as `caseledger serve` runs it). *Audited* calls `ledger.services."
        "record_event` in its own transaction: the vocabulary check, the canonical encoding "
        "and the leaf hash, then one prepared `INSERT … RETURNING id` into `ledger_event` "
        "(with its append-only triggers and five indexes) through a server-side-binding "
        "cursor, no model `save()`. *Plain* inserts the same columns (raw SQL, one transaction "
        f"each) into `{PLAIN_TABLE}`, a copy of the event table's columns and indexes without "
        "the leaf, hash, triggers or integrator.",
        "",
        report.table(
            ["writes", "per second", "p50 ms", "p95 ms", "max ms", "errors"],
            [
                ["plain inserts", report.fmt_int(plain.rate), report.fmt_ms(p_lat["p50"]),
                 report.fmt_ms(p_lat["p95"]), report.fmt_ms(p_lat["max"]), plain.errors],
                ["audited (`record_event`)", report.fmt_int(audited.rate),
                 report.fmt_ms(a_lat["p50"]), report.fmt_ms(a_lat["p95"]),
                 report.fmt_ms(a_lat["max"]), audited.errors],
            ],
        ),
        "",
        f"- Audited / plain: {audited.rate / max(plain.rate, 1e-9):.2f} over all rounds "
        f"({rounds}). Load average {wr['load'][0]} before, {wr['load'][1]} after.",
        "- One client alone, CPU of this process per write (wall in brackets): plain "
        f"{single['plain']['cpu_us']:.0f} µs ({single['plain']['wall_us']:.0f} µs), audited "
        f"{single['audited']['cpu_us']:.0f} µs ({single['audited']['wall_us']:.0f} µs); the "
        "same event built as a model and inserted by `save()` (the write path before this "
        f"one) {single['orm']['cpu_us']:.0f} µs ({single['orm']['wall_us']:.0f} µs). The "
        "clients are Python threads in one process, so what a write costs this process bounds "
        "the rate of both kinds as much as the database does.",
        f"- The integrator (every {wr['interval']:g} s) placed {wr['placed_during']:,} of the "
        f"{wr['written']:,} audited events while the rounds ran, and {catch}.",
    ]
