"""Time sources. Everything that needs the time is handed a `Clock`; nothing below the I/O layer
reads the wall clock itself, so the same code runs live, in tests and in a backtest."""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["Clock", "LiveClock", "ManualClock"]


class Clock(Protocol):
    """What the framework asks of a time source."""

    def time_ns(self) -> int:
        """Epoch time in nanoseconds."""
        ...

    def time_ms(self) -> int:
        """Epoch time in milliseconds."""
        ...


class LiveClock:
    """The wall clock."""

    __slots__ = ()

    time_ns = staticmethod(time.time_ns)  # called on every frame: no Python frame in between

    def time_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told to: for tests and for replaying recordings."""

    __slots__ = ("_now_ns",)

    def __init__(self, start_ns: int = 0) -> None:
        self._now_ns = start_ns

    def time_ns(self) -> int:
        return self._now_ns

    def time_ms(self) -> int:
        return self._now_ns // 1_000_000

    def set_ns(self, now_ns: int) -> None:
        """Move to `now_ns`; time never runs backwards."""
        if now_ns < self._now_ns:
            raise ValueError(f"ManualClock cannot go back from {self._now_ns} to {now_ns} ns")
        self._now_ns = now_ns

    def advance(self, seconds: float) -> None:
        self.set_ns(self._now_ns + round(seconds * 1e9))
