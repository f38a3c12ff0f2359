import os
import signal
import threading

from caseledger.core.loop import run_every


def test_ticks_until_max_ticks_and_restores_the_signal_handlers():
    before = signal.getsignal(signal.SIGINT)
    calls = []
    assert run_every(lambda: calls.append(1), every=0, max_ticks=3) == 3
    assert len(calls) == 3
    assert signal.getsignal(signal.SIGINT) is before


def test_sigterm_stops_the_loop_during_its_wait():
    calls = []

    def tick():
        calls.append(1)
        threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGTERM)).start()

    # A one-hour wait is cut short by the signal: the loop returns after the first tick.
    assert run_every(tick, every=3600) == 1
    assert calls == [1]
