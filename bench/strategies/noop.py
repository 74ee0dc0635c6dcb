"""Benchmark strategies: hooks that do nothing, so what is measured is the framework's own cost.

Used by bench/bench_engine.py and bench/bench_latency.py (`Noop`), and bench/bench_startup.py
(`FirstEvent`, through `itick-bot run bench/strategies/noop.py --strategy FirstEvent`).
"""

from __future__ import annotations

import os
import sys
import time

from itick_bot import Bar, Depth, Quote, Strategy, Tick


class Noop(Strategy):
    """Receives every market event and does nothing with it."""

    def on_quote(self, quote: Quote) -> None:
        pass

    def on_tick(self, tick: Tick) -> None:
        pass

    def on_depth(self, depth: Depth) -> None:
        pass

    def on_bar(self, bar: Bar) -> None:
        pass


class FirstEvent(Noop):
    """Prints `FIRST_EVENT <time.time_ns()>` on its first market event, then stays quiet.

    The marker goes to the file named by `$ITICK_BENCH_MARKER` when it is set (written in one
    `os.write`), else to stdout."""

    def on_start(self) -> None:
        self._seen = False

    def _first(self) -> None:
        if self._seen:
            return
        self._seen = True
        line = f"FIRST_EVENT {time.time_ns()}\n"
        path = os.environ.get("ITICK_BENCH_MARKER")
        if path:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        else:
            sys.stdout.write(line)
            sys.stdout.flush()

    def on_quote(self, quote: Quote) -> None:
        self._first()

    def on_tick(self, tick: Tick) -> None:
        self._first()

    def on_depth(self, depth: Depth) -> None:
        self._first()

    def on_bar(self, bar: Bar) -> None:
        self._first()
