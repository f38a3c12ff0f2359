"""Embedding many photo files at once, in worker processes (`caseledger faces ...`).

The dlib models serialise inference within a process (verifier._DlibModels), so the tools
scale with processes. Workers are *spawned* (a fresh interpreter each: no lock or thread of
the parent is inherited), get the parent's ``FACE_*`` settings and verifier, read each file
themselves and send back the :class:`~caseledger.biometrics.verifier.FaceAnalysis` (a 128-d
embedding and the measures, never the photo). Results come back in the order of the tasks.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from django.conf import settings
from PIL import Image, ImageFilter

from caseledger.core.errors import ValidationError

from . import verifier as v
from .images import load_image

__all__ = ["MISSING_FILE", "ERROR", "Task", "BatchError", "default_workers", "embed_all"]

#: Outcomes of a file that never reached the verifier, or that made it fail.
MISSING_FILE = "missing_file"
ERROR = "error"

#: Degradations a calibration applies to a photo before embedding it: ("scale", f) resizes
#: the whole photo by f; ("blur", r) applies a Gaussian blur of radius r px.
Degradation = tuple[str, float]


@dataclass(frozen=True)
class Task:
    """One photo file to embed, optionally degraded first."""

    path: Path
    degradation: Degradation | None = None


class BatchError(Exception):
    """The worker processes could not run (one died, or could not start)."""


Result = v.FaceAnalysis | tuple[str, str]  # an analysis, or (outcome, detail)

_worker_verifier: v.FaceVerifier | None = None


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def face_settings() -> dict[str, Any]:
    """The FACE_* settings the pipeline reads (image limits, decode budget), to hand to the
    workers; the verifier itself is handed over separately."""
    return {
        name: getattr(settings, name)
        for name in dir(settings)
        if name.startswith("FACE_") and name != "FACE_VERIFIER"
    }


def _init_worker(values: dict[str, Any], verifier: v.FaceVerifier) -> None:
    """Configure just enough Django for the pipeline (no database, no apps) in a worker.
    Ctrl-C is left to the parent, which stops the pool cleanly."""
    import signal

    import django

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    if not settings.configured:
        settings.configure(USE_I18N=False, **values)
        django.setup()
    global _worker_verifier
    _worker_verifier = verifier
    warm_up = getattr(verifier, "warm_up", None)
    if callable(warm_up):
        warm_up()


def _degrade(image: Image.Image, degradation: Degradation) -> Image.Image:
    kind, amount = degradation
    if kind == "scale":
        size = (max(1, round(image.width * amount)), max(1, round(image.height * amount)))
        return image.resize(size, Image.Resampling.LANCZOS)
    if kind == "blur":
        return image.filter(ImageFilter.GaussianBlur(amount))
    raise ValueError(f"unknown degradation {kind!r}")


def run_task(verifier: v.FaceVerifier, task: Task) -> Result:
    """Read, optionally degrade, and embed one photo; every failure is an outcome."""
    limit = int(settings.FACE_MAX_UPLOAD_BYTES)
    try:
        with task.path.open("rb") as fh:
            data = fh.read(limit + 1)  # never more than one byte past the limit
    except FileNotFoundError:
        return (MISSING_FILE, "no such file")
    except IsADirectoryError:
        return (MISSING_FILE, "a folder, not a file")
    except OSError as exc:
        return (v.UNREADABLE, exc.strerror or type(exc).__name__)
    try:
        if task.degradation is None:
            return verifier.embed(data)
        try:
            image = load_image(data)
        except ValidationError as exc:
            return (exc.code, str(exc))
        return verifier.embed(_degrade(image, task.degradation))
    except Exception as exc:  # noqa: BLE001 - one bad photo must not end a long run
        return (ERROR, f"{type(exc).__name__}: {exc}")


def _run_in_worker(task: Task) -> Result:
    assert _worker_verifier is not None
    return run_task(_worker_verifier, task)


def embed_all(
    tasks: Sequence[Task],
    verifier: v.FaceVerifier,
    *,
    workers: int,
    advance: Callable[[], None] | None = None,
) -> Iterator[Result]:
    """The result of each task, in order. ``workers`` <= 1 embeds in this process."""
    if workers <= 1 or len(tasks) <= 1:
        for task in tasks:
            result = run_task(verifier, task)
            if advance:
                advance()
            yield result
        return
    workers = min(workers, len(tasks))
    chunk = max(1, min(8, len(tasks) // (workers * 8)))
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(face_settings(), verifier),
    )
    try:
        for result in pool.map(_run_in_worker, tasks, chunksize=chunk):
            if advance:
                advance()
            yield result
    except BrokenProcessPool as exc:
        raise BatchError("a worker process stopped (out of memory?); try fewer --workers") from exc
    finally:
        # On an interruption, drop the queued photos instead of embedding them all first.
        pool.shutdown(wait=True, cancel_futures=True)
