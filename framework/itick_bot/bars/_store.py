"""`BarStore`: one `BarSeries` per symbol and configured interval, fed by server klines where the
feed subscribes them and built from trades everywhere else, closing each bar exactly once."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from ..model import INTERVALS, Bar, Interval, Tick
from ._series import BarSeries
from ._time import align_open_time, next_open_time

__all__ = ["BarStore"]

_NONE: Final[tuple[Bar, ...]] = ()
_NEVER: Final = 2**63 - 1


def _close(series: BarSeries, received_ns: int) -> Bar:
    """Store the forming bar as closed and return it; the series then has no bar forming."""
    series._append(
        series._f_open, series._o, series._h, series._l, series._c, series._v, series._tu
    )
    bar = Bar(
        series._symbol,
        series._interval,
        series._f_open,
        series._o,
        series._h,
        series._l,
        series._c,
        series._v,
        series._tu,
        series._region,
        received_ns,
    )
    series._live = False
    series._floor = series._f_open = series._f_end
    return bar


class BarStore:
    """Bars per symbol and interval for the configured `intervals`, each series keeping `history`
    closed bars plus the forming one.

    Intervals in `kline_intervals` (those the feed subscribes as `kline@N`) follow the server's
    klines: the newest push of a bar replaces it, a push with a later open time closes it. The
    other intervals are built from trades by their exchange time `tick.ts`. Either way a bar closes
    exactly once: when data for a later bar arrives, or when `advance(now_ms)` finds its period
    ended at least the source's grace period ago (`kline_close_grace_ms`, since the server's last
    push of a bar may arrive after the bar's end; `tick_close_grace_ms`, since a trade reaches us
    after its exchange time). Data for a bar already closed is late: counted, never applied.

    Periods without data get no bar: after a quiet period the next bar opens where its first trade
    (or push) falls, and nothing is invented for the periods in between.

    `on_tick`, `on_kline` and `advance` return the bars they closed as a tuple, in the order the
    symbols were first seen and then the configured order of intervals (the empty tuple, allocated
    once, when nothing closed: the common case). A series exists for a
    symbol from its first data, or from the first `series()` call asking for it.
    """

    def __init__(
        self,
        intervals: Iterable[Interval],
        history: int = 1000,
        *,
        kline_intervals: Iterable[Interval] = frozenset(),
        kline_close_grace_ms: int = 2000,
        tick_close_grace_ms: int = 500,
    ) -> None:
        self._intervals: tuple[Interval, ...] = tuple(dict.fromkeys(intervals))
        unknown = [iv for iv in (*self._intervals, *kline_intervals) if iv not in INTERVALS]
        if unknown:
            raise ValueError(
                f"unknown bar interval {unknown[0]!r}: use one of {', '.join(INTERVALS)}"
            )
        if history < 1:
            raise ValueError(f"bars history must be at least 1, not {history}")
        for name, grace in (
            ("kline_close_grace_ms", kline_close_grace_ms),
            ("tick_close_grace_ms", tick_close_grace_ms),
        ):
            if grace < 0:
                raise ValueError(f"{name} must be 0 or more, not {grace}")
        fed = frozenset(kline_intervals)
        self._history = history
        self._kline_grace = kline_close_grace_ms
        self._tick_grace = tick_close_grace_ms
        self._from_klines: tuple[Interval, ...] = tuple(iv for iv in self._intervals if iv in fed)
        self._from_ticks: tuple[Interval, ...] = tuple(
            iv for iv in self._intervals if iv not in fed
        )
        self._series: dict[str, dict[Interval, BarSeries]] = {}
        self._tick_series: dict[str, tuple[BarSeries, ...]] = {}
        self._kline_series: dict[str, dict[Interval, BarSeries]] = {}
        self._all: list[BarSeries] = []
        self.deadline_ms = _NEVER
        """No forming bar is due to close by the clock before this time (epoch ms)."""
        self.bars_closed = 0
        self.late_ticks = 0
        """Trades for a bar already closed (or older than the forming one), ignored."""
        self.late_klines = 0
        """Kline pushes for a bar already closed, ignored."""
        self.unused_klines = 0
        """Kline pushes for an interval not configured, or configured but built from ticks."""

    # -- configuration --------------------------------------------------------------------------
    @property
    def intervals(self) -> tuple[Interval, ...]:
        """Every configured interval, in the order given."""
        return self._intervals

    @property
    def kline_intervals(self) -> tuple[Interval, ...]:
        """The configured intervals that follow the server's klines."""
        return self._from_klines

    @property
    def tick_intervals(self) -> tuple[Interval, ...]:
        """The configured intervals built locally from trades."""
        return self._from_ticks

    @property
    def history(self) -> int:
        return self._history

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols with series, in the order they were first seen."""
        return tuple(self._series)

    def counters(self) -> dict[str, int]:
        """The store's counts, for the run report."""
        return {
            "bars_closed": self.bars_closed,
            "late_ticks": self.late_ticks,
            "late_klines": self.late_klines,
            "unused_klines": self.unused_klines,
        }

    def series(self, symbol: str, interval: Interval) -> BarSeries:
        """The bars of `symbol` at `interval`: empty (and kept, so it fills as data arrives) for a
        symbol not seen yet. Raises KeyError for an interval that is not configured."""
        by_interval = self._series.get(symbol)
        if by_interval is None:
            if interval not in self._intervals:
                raise self._not_configured(interval)
            by_interval = self._add(symbol, "")
        found = by_interval.get(interval)
        if found is None:
            raise self._not_configured(interval)
        return found

    def _not_configured(self, interval: str) -> KeyError:
        configured = ", ".join(repr(iv) for iv in self._intervals) or "none"
        return KeyError(
            f"bar interval {interval!r} is not configured (configured: {configured}); "
            f"add it to [bars] intervals"
        )

    def _add(self, symbol: str, region: str) -> dict[Interval, BarSeries]:
        by_interval: dict[Interval, BarSeries] = {}
        for interval in self._intervals:
            series = BarSeries(symbol, interval, self._history, region=region)
            from_klines = interval in self._from_klines
            series._grace = self._kline_grace if from_klines else self._tick_grace
            by_interval[interval] = series
            self._all.append(series)
        self._series[symbol] = by_interval
        self._tick_series[symbol] = tuple(by_interval[iv] for iv in self._from_ticks)
        self._kline_series[symbol] = {iv: by_interval[iv] for iv in self._from_klines}
        return by_interval

    def _opened(self, series: BarSeries, end: int, region: str) -> None:
        series._live = True
        series._f_end = end
        if region:
            series._region = region
        deadline = end + series._grace
        if deadline < self.deadline_ms:
            self.deadline_ms = deadline

    # -- the hot path ---------------------------------------------------------------------------
    def on_tick(self, tick: Tick) -> tuple[Bar, ...]:
        """Add one trade to the forming bar of every tick-built interval; returns the bars it
        closed (a trade in a later period closes the forming bar and opens the next)."""
        built = self._tick_series.get(tick.symbol)
        if built is None:
            self._add(tick.symbol, tick.region)
            built = self._tick_series[tick.symbol]
        ts = tick.ts
        price = tick.price
        size = tick.size
        amount = tick.turnover
        if amount is None:
            amount = price * size
        closed = _NONE
        late = False
        for s in built:
            if s._f_open <= ts < s._f_end:
                if price > s._h:
                    s._h = price
                elif price < s._l:
                    s._l = price
                s._c = price
                s._v += size
                s._tu += amount
                s._received = tick.received_ns
            elif ts >= s._f_end:
                if s._live:
                    self.bars_closed += 1
                    closed = (*closed, _close(s, tick.received_ns))
                s._f_open = align_open_time(ts, s._interval)
                s._o = s._h = s._l = s._c = price
                s._v = size
                s._tu = amount
                s._received = tick.received_ns
                self._opened(s, next_open_time(s._f_open, s._interval), tick.region)
            else:
                late = True
        if late:
            self.late_ticks += 1
        return closed

    def on_kline(self, bar: Bar) -> tuple[Bar, ...]:
        """Apply one kline push (the bar as the server has it now) to a kline-fed interval; returns
        the bar it closed, if its open time is later than the forming bar's."""
        fed = self._kline_series.get(bar.symbol)
        if fed is None:
            self._add(bar.symbol, bar.region)
            fed = self._kline_series[bar.symbol]
        s = fed.get(bar.interval)
        if s is None:
            self.unused_klines += 1
            return _NONE
        open_time = bar.open_time
        closed = _NONE
        if s._live:
            if open_time == s._f_open:
                s._o, s._h, s._l, s._c = bar.open, bar.high, bar.low, bar.close
                s._v, s._tu = bar.volume, bar.turnover
                s._received = bar.received_ns
                return _NONE
            if open_time < s._f_open:
                self.late_klines += 1
                return _NONE
            self.bars_closed += 1
            closed = (_close(s, bar.received_ns),)
        elif open_time < s._floor:
            self.late_klines += 1
            return _NONE
        s._f_open = open_time
        s._o, s._h, s._l, s._c = bar.open, bar.high, bar.low, bar.close
        s._v, s._tu = bar.volume, bar.turnover
        s._received = bar.received_ns
        self._opened(s, next_open_time(open_time, s._interval), bar.region)
        return closed

    def advance(self, now_ms: int, received_ns: int | None = None) -> tuple[Bar, ...]:
        """Close every forming bar whose period ended at least its grace period before `now_ms`
        (the engine's clock); the bars closed carry `received_ns` (default: `now_ms` in ns).
        Cheap when nothing is due: one comparison."""
        if now_ms < self.deadline_ms:
            return _NONE
        stamp = now_ms * 1_000_000 if received_ns is None else received_ns
        closed: list[Bar] = []
        deadline = _NEVER
        for s in self._all:
            if s._live:
                due = s._f_end + s._grace
                if due <= now_ms:
                    closed.append(_close(s, stamp))
                elif due < deadline:
                    deadline = due
        self.deadline_ms = deadline
        self.bars_closed += len(closed)
        return tuple(closed)

    # -- history from elsewhere -----------------------------------------------------------------
    def backfill(self, bars: Iterable[Bar]) -> int:
        """Load closed bars fetched before the live data (e.g. over REST, `[bars] backfill`).

        A bar is taken when its interval is configured and it lies after the series' newest closed
        bar and before its forming bar; others (duplicates, out of order, overlapping) are
        skipped. Nothing is reported to strategies. Returns how many bars were taken.
        """
        taken = 0
        for bar in bars:
            by_interval = self._series.get(bar.symbol)
            if by_interval is None:
                by_interval = self._add(bar.symbol, bar.region)
            s = by_interval.get(bar.interval)
            if s is None:
                continue
            end = next_open_time(bar.open_time, bar.interval)
            if bar.open_time < s._floor or (s._live and end > s._f_open):
                continue
            s._append(bar.open_time, bar.open, bar.high, bar.low, bar.close, bar.volume,
                      bar.turnover)  # fmt: skip
            s._floor = end
            if not s._live:
                s._f_open = s._f_end = end
            if bar.region and not s._region:
                s._region = bar.region
            taken += 1
        return taken
