"""The engine's clock: the receive time of whatever is being handled, never the wall clock.

Strategies, timers and the broker's latency all read it, so a recorded session replays to the
same decisions (DESIGN.md section 4).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import msgspec

__all__ = ["ClockTick", "EngineClock"]


class ClockTick(msgspec.Struct, frozen=True, gc=False):
    """Time passing with no market event (the engine's idle tick): timers and the broker's
    order arrivals run on it. `symbol` is "" so inboxes can conflate ticks like quotes."""

    received_ns: int
    symbol: str = ""


class EngineClock:
    """A clock the engine sets. `at(ns)` lends it to one actor (a strategy sending an order at
    the time of the event it is handling) and gives it back."""

    __slots__ = ("now_ns",)

    def __init__(self, start_ns: int = 0) -> None:
        self.now_ns = start_ns
        """The time; the engine moves it forward itself on its per-event path."""

    def time_ns(self) -> int:
        return self.now_ns

    def time_ms(self) -> int:
        return self.now_ns // 1_000_000

    def set_ns(self, now_ns: int) -> None:
        """Move forward to `now_ns` (never back: an older stamp leaves the clock where it is)."""
        if now_ns > self.now_ns:
            self.now_ns = now_ns

    @contextmanager
    def at(self, now_ns: int) -> Iterator[None]:
        saved = self.now_ns
        self.now_ns = now_ns
        try:
            yield
        finally:
            self.now_ns = saved
