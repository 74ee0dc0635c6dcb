"""What a backfill got and did: one fetch's result, and the report per symbol and interval."""

from __future__ import annotations

from typing import Literal, TypeAlias

import attrs

from ..model import Bar, Interval

__all__ = ["BackfillReport", "BackfillResult", "ErrorKind", "SeriesBackfill"]

ErrorKind: TypeAlias = Literal["key", "rate_limit", "empty", "http", "transport", "unexpected"]
"""What went wrong: a refused key, HTTP 429 past the retries, no history, another HTTP status,
no answer at all, or an answer of the wrong shape."""


@attrs.frozen(kw_only=True)
class BackfillResult:
    """What `fetch_bars` got for one symbol and interval."""

    symbol: str
    region: str
    interval: Interval
    requested: int
    bars: tuple[Bar, ...]
    """Closed bars, oldest first, strictly increasing open times, at most `requested`."""
    error: str | None = None
    """Why fewer bars than asked may have come (None: no problem; the history may still be
    shorter than asked, see `exhausted`). Never contains the key."""
    kind: ErrorKind | None = None
    exhausted: bool = False
    """The server has no older bars than these."""
    requests: int = 0
    """HTTP requests made, retries included."""
    dropped_forming: int = 0
    """Rows dropped because their period had not ended at `now_ms`."""


@attrs.frozen(kw_only=True)
class SeriesBackfill:
    """One line of a `BackfillReport`."""

    symbol: str
    interval: Interval
    requested: int
    fetched: int
    """Closed bars the REST API gave."""
    loaded: int
    """Bars the store took (fewer than `fetched` when it already held some of them)."""
    error: str | None = None
    kind: ErrorKind | None = None
    exhausted: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        """`BTCUSDT 1m: loaded 500 bars`, `... loaded 120 of 500 bars (the history has no
        more)`, `... loaded 0 of 500 bars: key refused (HTTP 401: invalid token); ...`."""
        head = f"{self.symbol} {self.interval}: loaded {self.loaded}"
        head += " bars" if self.loaded == self.requested else f" of {self.requested} bars"
        notes = []
        if self.fetched > self.loaded:
            notes.append(f"{self.fetched - self.loaded} already held")
        if self.error is None and self.exhausted and self.fetched < self.requested:
            notes.append("the history has no more")
        if notes:
            head += f" ({'; '.join(notes)})"
        return head if self.error is None else f"{head}: {self.error}"


@attrs.frozen(kw_only=True)
class BackfillReport:
    """What `backfill` did, per symbol and interval, in the order they were asked for."""

    entries: tuple[SeriesBackfill, ...]
    count: int
    """Bars asked for per symbol and interval."""

    @property
    def loaded(self) -> int:
        return sum(e.loaded for e in self.entries)

    @property
    def ok(self) -> bool:
        """No error anywhere (a history shorter than asked is no error)."""
        return all(e.ok for e in self.entries)

    @property
    def errors(self) -> tuple[SeriesBackfill, ...]:
        return tuple(e for e in self.entries if not e.ok)

    @property
    def summary(self) -> str:
        """One line: `backfill: 4000 bars for 2 symbols x 2 intervals` plus the problems."""
        symbols = len(dict.fromkeys(e.symbol for e in self.entries))
        intervals = len(dict.fromkeys(e.interval for e in self.entries))
        text = (
            f"backfill: {self.loaded} bars for {symbols} symbol{'s' * (symbols != 1)} x "
            f"{intervals} interval{'s' * (intervals != 1)}"
        )
        bad = self.errors
        if bad:
            text += f"; {len(bad)} of {len(self.entries)} incomplete (see below)"
        return text

    def lines(self) -> list[str]:
        """The summary, then one line per symbol and interval."""
        return [self.summary, *(f"  {e.message}" for e in self.entries)]
