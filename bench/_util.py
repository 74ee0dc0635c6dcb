"""Small helpers shared by the benchmark scripts (not a test: nothing here asserts a time)."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable


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
