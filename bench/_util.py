"""Small helpers shared by the benchmark scripts (not a test: nothing here asserts a time)."""

from __future__ import annotations

import contextlib
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator


def machine() -> str:
    import os

    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"


def per_call_us(fn: Callable[[], object], *, number: int, repeat: int = 7) -> float:
    """Median microseconds per call of `fn` over `repeat` batches of `number` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for _ in range(number):
            fn()
        times.append((time.perf_counter_ns() - start) / number / 1000)
    return statistics.median(times)


@contextlib.contextmanager
def simulator_process(*flags: str) -> Iterator[str]:
    """`itick-bot sim` in a process of its own; yields its ws:// URL, stops it on exit."""
    sim = subprocess.Popen(
        [sys.executable, "-m", "itick_bot.cli", "sim", "--port", "0", "--log-level", "warning",
         *flags],
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert sim.stdout is not None
        yield next(w for w in sim.stdout.readline().split() if w.startswith("ws://"))
    finally:
        sim.terminate()
        sim.wait(timeout=10)
        if sim.stdout is not None:
            sim.stdout.close()


FLOOD = ("--rate", "0", "--max-buffered-frames", "1000000")
"""Flags of a simulator that sends as fast as each client reads."""
