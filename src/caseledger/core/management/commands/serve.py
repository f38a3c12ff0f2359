"""`caseledger serve`: the production server (granian, WSGI) with static files by WhiteNoise,
and the background loops beside it (BACKGROUND_JOBS).

Stopping: SIGTERM or SIGINT to `serve` is passed on as SIGTERM to granian and to every loop;
each finishes the batch in hand (or, for a task the worker is running, the task) and exits.
Whatever still runs after STOP_GRACE_SECONDS is killed with its whole process group, so
granian's workers never outlive it. `serve` then exits 0. Each child runs in its own process
group: a Ctrl-C in the terminal reaches only `serve`, which stops the children once and in
order (a second SIGINT straight to the task worker would abort its task).

Threads: granian's WSGI workers run requests on a pool of `--threads` blocking threads
(default 2 x cores + 1, at most 8, per worker) and accept at most `--backpressure`
connections per worker at a time (default 128); more wait in the kernel's listen backlog.
Without these bounds granian sizes the pool from the backlog (hundreds of threads per
worker, each able to hold a database connection).

Static files are collected (and compressed by WhiteNoise: a minute or two on a small machine)
before anything starts, unless the last collection was of exactly these files: a fingerprint
of the sources and of the settings that shape the output is kept beside STATIC_ROOT. `serve`
says which, with the count and the time taken; `--static-only` does only that, and exits.

A loop that dies on its own is logged and started again after a pause that doubles with each
quick failure (up to RESTART_DELAY_MAX); if granian dies, `serve` stops the loops and exits
with granian's status.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

logger = logging.getLogger("caseledger.serve")

BACKGROUND_JOBS = (
    ("ledger", "integrate", "--loop"),  # chain events (PostgreSQL) and sign checkpoints
    ("supervision", "sweep", "--loop"),  # reviews for missed check-in windows
    ("notices", "send-due", "--loop"),  # enqueue due reminders, top up planning hourly
    ("retention", "run", "--loop"),  # enqueue the daily purge of what is due
    ("report", "anomalies", "--loop"),  # enqueue the weekly access-anomaly report
    ("send_corrections", "--loop"),  # retry correction notices to earlier recipients
    ("db_worker",),  # run django.tasks from the database queue
)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# Then SIGKILL. Well inside the 10 s a service manager usually allows (systemd: 90 s, but
# containers often 10 s), leaving time for serve's own exit on a loaded machine.
STOP_GRACE_SECONDS = 6.0
GRANIAN_KILL_TIMEOUT = 4  # granian kills a worker that has not stopped by then
POLL_SECONDS = 0.2
RESTART_DELAY_MIN = 5.0
RESTART_DELAY_MAX = 300.0
# Granian's own advice for WSGI: no more threads than 2 x cores + 1 (it warns above that).
DEFAULT_THREADS = min(8, 2 * (os.cpu_count() or 1) + 1)
DEFAULT_BACKPRESSURE = 128


@dataclass
class Child:
    """A process `serve` started and supervises; it leads its own process group."""

    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    restart_at: float | None = None
    delay: float = RESTART_DELAY_MIN

    def start(self) -> None:
        # A loop that stopped cleanly skips the interpreter's teardown (collecting a loaded
        # Django and its models took seconds under load, past the stop grace).
        env = {**os.environ, "CASELEDGER_EXIT_FAST": "1"}
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, process_group=0,
                                     env=env)
        self.started = time.monotonic()
        self.restart_at = None

    def running(self) -> bool:
        """Started, not yet reaped. An exited child stays unreaped (a zombie) until `reap`,
        so its pid, which is also its process group's id, cannot be reused meanwhile."""
        return self.proc is not None and self.proc.returncode is None

    def exited(self) -> bool:
        """True once the child has exited (it is not reaped here)."""
        if not self.running():
            return True
        assert self.proc is not None
        try:
            info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def signal(self, signum: int) -> None:
        if self.running():
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signum)

    def reap(self) -> int:
        """Kill what is left of the child's process group (a worker whose parent died), then
        collect the child's exit status."""
        assert self.proc is not None
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait()


@dataclass
class StopRequest:
    """Set by the SIGTERM/SIGINT handler; the supervising loop polls it."""

    signals: list[int] = field(default_factory=list)

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.signals.append(signum)

    @property
    def requested(self) -> bool:
        return bool(self.signals)


def _env_int(name: str, default: int) -> str | int:
    """The environment's value if set (argparse converts it, and names a bad one), else
    `default`."""
    return os.environ.get(name, "").strip() or default


class Command(BaseCommand):
    help = "Serve caseledger with granian (collects static files, runs the background loops)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("CASELEDGER_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--workers",
            type=int,
            default=_env_int("CASELEDGER_WORKERS", os.cpu_count() or 1),
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=_env_int("CASELEDGER_THREADS", DEFAULT_THREADS),
            help="Request threads per worker (granian --blocking-threads; env "
            "CASELEDGER_THREADS; default 2 x cores + 1, at most 8: "
            f"{DEFAULT_THREADS} here).",
        )
        parser.add_argument(
            "--backpressure",
            type=int,
            default=_env_int("CASELEDGER_BACKPRESSURE", DEFAULT_BACKPRESSURE),
            help="Connections each worker handles at once; more wait in the listen backlog "
            f"(env CASELEDGER_BACKPRESSURE; default {DEFAULT_BACKPRESSURE}).",
        )
        parser.add_argument(
            "--static-only",
            action="store_true",
            help="Prepare the static files (collect and compress them, unless the last run "
            "already did for these very files) and exit.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("workers", "threads", "backpressure"):
            if options[name] < 1:
                raise CommandError(f"--{name} must be at least 1.")
        # Before the handlers: a stop signal meanwhile ends serve at once (nothing started yet).
        prepare_static(self.stdout)
        if options["static_only"]:
            return
        stop = StopRequest()
        previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
        try:
            status = self._serve(options, stop)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if status:
            raise CommandError(f"granian exited with status {status}", returncode=status)

    def _serve(self, options: dict[str, Any], stop: StopRequest) -> int:
        server = Child("granian", granian_argv(options))
        helpers = [
            Child(" ".join(job), [sys.executable, "-m", "caseledger.cli", *job])
            for job in BACKGROUND_JOBS
        ]
        try:
            for child in (server, *helpers):
                child.start()
            self.stdout.write(
                f"caseledger on http://{options['host']}:{options['port']}/ "
                f"({options['workers']} workers x {options['threads']} threads)"
            )
            return self._supervise(server, helpers, stop)
        finally:
            stop_children([server, *helpers], stop)

    def _supervise(self, server: Child, helpers: list[Child], stop: StopRequest) -> int:
        """Until a stop signal: watch granian (its death ends `serve`) and the loops."""
        while not stop.requested:
            if server.exited():
                status = server.reap()
                logger.error("granian exited on its own with status %s; stopping", status)
                return 128 - status if status < 0 else status  # killed by a signal: 128+N
            for helper in helpers:
                watch_helper(helper)
            time.sleep(POLL_SECONDS)
        return 0


def granian_argv(options: dict[str, Any]) -> list[str]:
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        options["host"],
        "--port",
        str(options["port"]),
        "--workers",
        str(options["workers"]),
        "--blocking-threads",
        str(options["threads"]),
        "--backpressure",
        str(options["backpressure"]),
        "--workers-kill-timeout",
        str(GRANIAN_KILL_TIMEOUT),
        "--no-ws",
        "caseledger.wsgi:application",
    ]


def watch_helper(helper: Child) -> None:
    """Log a loop that died and start it again after a pause (longer after quick failures)."""
    now = time.monotonic()
    if helper.restart_at is not None:
        if now >= helper.restart_at:
            logger.warning("restarting background job '%s'", helper.name)
            helper.start()
        return
    if not helper.exited():
        return
    ran = now - helper.started
    status = helper.reap()
    if ran > RESTART_DELAY_MAX:  # it had been running well: start again soon
        helper.delay = RESTART_DELAY_MIN
    wait, helper.delay = helper.delay, min(helper.delay * 2, RESTART_DELAY_MAX)
    helper.restart_at = now + wait
    logger.error(
        "background job '%s' exited unexpectedly with status %s after %.0f s; "
        "restarting it in %.0f s",
        helper.name,
        status,
        ran,
        wait,
    )


def stop_children(children: list[Child], stop: StopRequest) -> None:
    """SIGTERM to each running child, wait up to STOP_GRACE_SECONDS (a second stop signal
    cuts the wait short), then SIGKILL each process group that is left and reap them all."""
    live = [c for c in children if c.running()]
    for child in live:
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while time.monotonic() < deadline and len(stop.signals) < 2:
        live = [c for c in live if not c.exited()]
        if not live:
            break
        time.sleep(0.05)
    for child in children:
        if not child.running():
            continue
        if not child.exited():
            logger.warning("'%s' did not stop in time; killed", child.name)
        child.reap()


# --- static files ---------------------------------------------------------------------------
#: Settings that change what `collectstatic` writes (besides the source files themselves).
STATIC_SETTINGS = ("STATIC_URL", "WHITENOISE_KEEP_ONLY_HASHED_FILES",
                   "WHITENOISE_SKIP_COMPRESS_EXTENSIONS", "WHITENOISE_MANIFEST_STRICT")


def static_sources() -> list[tuple[str, str]]:
    """(relative path, full path) of every file `collectstatic` would copy, first one wins
    (as collectstatic does), in a stable order."""
    from django.apps import apps
    from django.contrib.staticfiles import finders

    ignore = apps.get_app_config("staticfiles").ignore_patterns
    found: dict[str, str] = {}
    for finder in finders.get_finders():
        for path, storage in finder.list(ignore):
            prefix = getattr(storage, "prefix", None) or ""
            found.setdefault(os.path.join(prefix, path), storage.path(path))
    return sorted(found.items())


def static_fingerprint(sources: list[tuple[str, str]]) -> str:
    """SHA-256 over the storage, the settings that shape its output and every source file's
    path and content: equal fingerprints, equal output."""
    from django.conf import settings

    digest = hashlib.sha256()
    storage = settings.STORAGES.get("staticfiles", {}).get("BACKEND", "")
    digest.update(repr([storage, *(repr(getattr(settings, n, None)) for n in STATIC_SETTINGS)])
                  .encode())
    for relative, full in sources:
        digest.update(relative.encode() + b"\0")
        with open(full, "rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def _stamp_path() -> Path:
    """Where the fingerprint of the last collection is kept: beside STATIC_ROOT, not in it
    (everything in it is served)."""
    from django.conf import settings

    root = Path(settings.STATIC_ROOT)
    return root.parent / f".{root.name}.sources.sha256"


def _collected(sources: list[tuple[str, str]]) -> bool:
    """Every source has its copy in STATIC_ROOT (and a manifest, if the storage keeps one)."""
    from django.conf import settings
    from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage

    root = Path(settings.STATIC_ROOT)
    manifest = getattr(staticfiles_storage, "manifest_name", "")
    if isinstance(staticfiles_storage, ManifestFilesMixin) and not (root / manifest).is_file():
        return False
    return all((root / relative).is_file() for relative, _full in sources)


def static_is_current(sources: list[tuple[str, str]], fingerprint: str) -> bool:
    stamp = _stamp_path()
    try:
        recorded = stamp.read_text().strip()
    except OSError:
        return False
    return recorded == fingerprint and _collected(sources)


def prepare_static(stdout: Any) -> None:
    """Collect the static files (WhiteNoise compresses each, which takes a minute or two on a
    small machine), unless the last collection was of exactly these files; say which, with
    the count and the time taken."""
    sources = static_sources()
    fingerprint = static_fingerprint(sources)
    if static_is_current(sources, fingerprint):
        stdout.write(f"Static files are up to date ({len(sources)} files); not collecting "
                     "them again.")
        return
    stdout.write(f"Preparing {len(sources)} static files (copying and compressing them; a "
                 "minute or two the first time)...")
    if hasattr(stdout, "flush"):
        stdout.flush()
    started = time.monotonic()
    call_command("collectstatic", interactive=False, verbosity=0)
    try:
        _stamp_path().write_text(fingerprint + "\n")
    except OSError as exc:  # a read-only parent: collect again next time
        logger.warning("could not record the static files' fingerprint: %s", exc)
    stdout.write(f"Static files ready: {len(sources)} files in "
                 f"{time.monotonic() - started:.0f} s.")
