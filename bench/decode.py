"""The decode budget against the hostile corpus: time and memory of every answer.

Feeds every file of the hostile corpus (`tests/biometrics/hostile_corpus.py`, built in
memory) to `caseledger.biometrics.images.load_image` and records the refusal code, the
median time of several runs and the growth of the process's peak resident set (Linux:
`/proc/self/clear_refs` resets the high-water mark before each file). Then the same for
genuine photos and for the most expensive files the budget still accepts (32 scans over
16 MP, a 40 MP JPEG). For context it times Pillow alone, without the budget, on three of the
hostile files (open, load and convert to RGB): the 1,000-scan JPEG (100 scans with
`--quick`), the 16-bit PNG and the palette PNG.

No database is used. Run alone with
`DATABASE_URL=sqlite:///var/bench-decode.sqlite3 python -m bench --only decode [--quick]`.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import date
from typing import Any

NAME = "decode"
TITLE = "Decoding photos: the decode budget against a hostile corpus"
FULL_RUNS = 15
QUICK_RUNS = 5
UNBUDGETED_SCANS = 1000
QUICK_UNBUDGETED_SCANS = 100


def _answer(outcome: object) -> str:
    from PIL import Image

    from caseledger.core.errors import ValidationError

    if isinstance(outcome, ValidationError):
        return f"`{outcome.code}`"
    if isinstance(outcome, Image.Image):
        return f"loaded, {outcome.size[0]} x {outcome.size[1]}"
    return f"**{type(outcome).__name__}**"


def _median_ms(call: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        with contextlib.suppress(Exception):  # refusals are the expected outcome here
            call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _row(name: str, what: str, data: bytes, runs: int, expected: str | None) -> dict[str, Any]:
    from tests.biometrics.hostile_corpus import measure

    from caseledger.biometrics.images import load_image

    measured = measure(lambda: load_image(data))
    answer = _answer(measured.outcome)
    return {
        "name": name,
        "what": what,
        "bytes": len(data),
        "answer": answer,
        "as_expected": expected is None or answer == f"`{expected}`",
        "ms": _median_ms(lambda: load_image(data), runs),
        "rss_mib": measured.rss_growth / 2**20,
    }


def _unbudgeted(name: str, data: bytes) -> dict[str, Any]:
    """Pillow alone: open, draft for JPEG as before, load, convert to RGB (what any face
    pipeline must do); its own bomb guard off."""
    from PIL import Image
    from tests.biometrics.hostile_corpus import measure

    def decode() -> Image.Image:
        image = Image.open(io.BytesIO(data))
        if image.format == "JPEG":
            image.draft("RGB", (1280, 1280))
        image.load()
        return image.convert("RGB")

    guard = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            measured = measure(decode)
    finally:
        Image.MAX_IMAGE_PIXELS = guard
    return {
        "name": name,
        "bytes": len(data),
        "answer": _answer(measured.outcome),
        "ms": measured.seconds * 1000,
        "rss_mib": measured.rss_growth / 2**20,
    }


def run(quick: bool) -> dict[str, Any]:
    from tests.biometrics import hostile_corpus as corpus

    runs = QUICK_RUNS if quick else FULL_RUNS
    hostile = [
        _row(name, entry.what, entry.build(), runs, entry.code)
        for name, entry in corpus.HOSTILE.items()
    ]
    genuine = [_row(name, "", build(), runs, None) for name, build in corpus.GENUINE.items()]
    heaviest = [
        _row(
            "32 scans over 4096 x 4096",
            "the scan limits' worst case",
            corpus.many_scans_jpeg(scans=32, size=4096),
            max(1, runs // 5),
            None,
        ),
        _row(
            "40 MP baseline JPEG",
            "decoded at 1/4 scale",
            corpus.encode(corpus.photo(7744, 5163), "JPEG", quality=85),
            max(1, runs // 5),
            None,
        ),
    ]
    scans = QUICK_UNBUDGETED_SCANS if quick else UNBUDGETED_SCANS
    unbudgeted = [
        _unbudgeted(f"progressive JPEG, {scans:,} scans", corpus.many_scans_jpeg(scans=scans)),
        _unbudgeted("16-bit PNG, 6324 x 6324", corpus.png_16_bit()),
        _unbudgeted("1-bit palette PNG, 6000 x 6000", corpus.palette_png_huge()),
    ]
    return {
        "date": date.today().isoformat(),
        "runs": runs,
        "hostile": hostile,
        "genuine": genuine,
        "heaviest": heaviest,
        "unbudgeted": unbudgeted,
        "all_as_expected": all(r["as_expected"] for r in hostile),
        "slowest_refusal_ms": max(r["ms"] for r in hostile),
        "largest_refusal_rss_mib": max(r["rss_mib"] for r in hostile),
    }


def markdown(result: dict[str, Any]) -> str:
    """A section for docs/BENCHMARKS.md."""
    from .report import fmt_ms, table

    def rows(items: list[dict[str, Any]], with_what: bool) -> list[list[object]]:
        return [
            [
                f"`{r['name']}`" + (f" ({r['what']})" if with_what and r.get("what") else ""),
                f"{r['bytes']:,}",
                r["answer"],
                fmt_ms(r["ms"]),
                f"{r['rss_mib']:.1f}",
            ]
            for r in items
        ]

    header = ["file", "bytes", "answer", "ms", "peak RSS growth (MiB)"]
    r = result
    verdict = (
        "every hostile file got its expected refusal code"
        if r["all_as_expected"]
        else "**some hostile file did not get its expected refusal code**"
    )
    return (
        f"## {TITLE}\n\n"
        f"`load_image` on the hostile corpus ({r['date']}; time is the median of {r['runs']} "
        f"runs, memory the growth of the process's peak resident set during one run): "
        f"{verdict}; the slowest refusal took {fmt_ms(r['slowest_refusal_ms'])} ms and the "
        f"largest added {r['largest_refusal_rss_mib']:.1f} MiB.\n\n"
        + table(header, rows(r["hostile"], True), "lrlrr")
        + "\n\nGenuine photos, and the most expensive files the budget still accepts:\n\n"
        + table(header, rows(r["genuine"] + r["heaviest"], True), "lrlrr")
        + "\n\nFor comparison, Pillow alone without the budget: open, load and convert to RGB "
        "(one run each):\n\n" + table(header, rows(r["unbudgeted"], False), "lrlrr") + "\n"
    )
