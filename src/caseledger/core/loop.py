"""The service loops that `caseledger serve` runs beside the web workers (`... --loop`)."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from typing import Any


def run_every(tick: Callable[[], Any], *, every: float, max_ticks: int = 0) -> int:
    """Call `tick` now and then every `every` seconds until SIGTERM or SIGINT (or `max_ticks`
    calls, for tests); the wait is cut short by the signal. Returns how many ticks ran."""
    running = True

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal running
        running = False

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    ticks = 0
    try:
        while running:
            tick()
            ticks += 1
            if max_ticks and ticks >= max_ticks:
                break
            deadline = time.monotonic() + every
            while running and time.monotonic() < deadline:
                time.sleep(max(0.0, min(0.5, deadline - time.monotonic())))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return ticks
