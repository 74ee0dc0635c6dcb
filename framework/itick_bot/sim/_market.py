"""A seeded, pure market model for one symbol: no I/O, no clock (the caller passes market time).

Each `step` moves a random-walk mid, then trades against the book the clients saw last (some at
the best level, some through it, so resting orders of a paper broker get filled), and publishes
a fresh five-level book, a rolling 24-hour quote and the forming bar of every kline period.
"""

from __future__ import annotations

import math
import random
from collections import deque
from typing import Final, NamedTuple

from ..bars import align_open_time
from ..model import KLINE_PERIODS, Level

__all__ = ["DEPTH_LEVELS", "BarState", "MarketUpdate", "SymbolMarket", "bar_open_time"]

DEPTH_LEVELS: Final = 5
_MINUTE_MS: Final = 60_000

# Plausible prices for well-known symbols, so demos look familiar; others get a seeded price.
_BASE_PRICES: Final = {
    "BTCUSDT": 67_000.0,
    "ETHUSDT": 3_000.0,
    "SOLUSDT": 150.0,
    "BNBUSDT": 580.0,
    "XRPUSDT": 0.55,
    "DOGEUSDT": 0.12,
    "ADAUSDT": 0.45,
    "EURUSD": 1.08,
    "GBPUSD": 1.27,
    "USDJPY": 150.0,
}
_LEVEL_NOTIONAL: Final = 25_000.0
"""Typical value resting on one level, in quote currency."""


def bar_open_time(period: int, t_ms: int) -> int:
    """The open time of the `kline@period` bar that contains `t_ms` (epoch ms, UTC).

    Periods up to a day align on multiples of their length; weeks on Monday 00:00 UTC; months on
    the first day of the calendar month.
    """
    return align_open_time(t_ms, KLINE_PERIODS[period])


class BarState:
    """The forming bar of one period (mutable: it is updated by every trade)."""

    __slots__ = ("close", "high", "low", "open", "open_time", "turnover", "volume")

    def __init__(self, open_time: int, price: float) -> None:
        self.open_time = open_time
        self.open = self.high = self.low = self.close = price
        self.volume = 0.0
        self.turnover = 0.0

    def snapshot(self) -> tuple[int, float, float, float, float, float, float]:
        """`(open_time, open, high, low, close, volume, turnover)`."""
        return (
            self.open_time, self.open, self.high, self.low, self.close, self.volume, self.turnover
        )  # fmt: skip


class MarketUpdate(NamedTuple):
    """What one step of the market publishes."""

    ts: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    trades: tuple[Level, ...]
    """`(price, size)` of each trade since the last step, executed against the previous book."""
    last: float
    open24: float
    high24: float
    low24: float
    volume24: float
    turnover24: float
    bars: dict[int, tuple[int, float, float, float, float, float, float]]
    """The forming bar of every kline period 1-10: `(open_time, o, h, l, c, v, tu)`."""


class _Minute:
    __slots__ = ("high", "index", "low", "open", "turnover", "volume")

    def __init__(self, index: int, price: float) -> None:
        self.index = index
        self.open = self.high = self.low = price
        self.volume = 0.0
        self.turnover = 0.0


class SymbolMarket:
    """One symbol's market. Deterministic: the same `(symbol, seed)` and the same sequence of
    `step` times give the same updates."""

    def __init__(self, symbol: str, seed: int, start_ms: int, *, volatility: float = 1e-4) -> None:
        self.symbol = symbol
        self._rng = random.Random(f"itick-sim:{seed}:{symbol}")
        rng = self._rng
        price = _BASE_PRICES.get(symbol) or 10 ** rng.uniform(-1.0, 3.0)
        exponent = math.floor(math.log10(price)) - 5
        self.tick_size = 10.0**exponent
        self.price_decimals = max(0, -exponent)
        self.size_decimals = max(0, min(8, math.floor(math.log10(price)) + 1))
        self._volatility = volatility
        self._mid_ticks = price / self.tick_size
        self._t = start_ms
        self._bids: tuple[Level, ...] = ()
        self._asks: tuple[Level, ...] = ()
        self._last = round(price, self.price_decimals)
        self._bars: dict[int, BarState] = {
            p: BarState(bar_open_time(p, start_ms), self._last) for p in KLINE_PERIODS
        }
        self._minutes: deque[_Minute] = deque()
        self._vol24 = 0.0
        self._tu24 = 0.0
        self._high24 = self._low24 = self._last

    # -- the book -----------------------------------------------------------------------------
    def _price(self, ticks: int) -> float:
        return round(ticks * self.tick_size, self.price_decimals)

    def _size(self, notional: float) -> float:
        size = round(notional / (self._mid_ticks * self.tick_size), self.size_decimals)
        return max(size, 10.0**-self.size_decimals)

    def _build_book(self) -> None:
        rng = self._rng
        spread = 1 + min(int(rng.expovariate(1.2)), 4)  # mostly one or two ticks
        best_bid = math.floor(self._mid_ticks - spread / 2)
        bids: list[Level] = []
        asks: list[Level] = []
        bid, ask = best_bid, best_bid + spread
        for _ in range(DEPTH_LEVELS):
            bids.append(
                (self._price(bid), self._size(_LEVEL_NOTIONAL * rng.lognormvariate(0, 0.6)))
            )
            asks.append(
                (self._price(ask), self._size(_LEVEL_NOTIONAL * rng.lognormvariate(0, 0.6)))
            )
            bid -= rng.randint(1, 3)
            ask += rng.randint(1, 3)
        self._bids, self._asks = tuple(bids), tuple(asks)

    # -- trades -------------------------------------------------------------------------------
    def _trade(self) -> list[Level]:
        """One aggressive order against the previous book: 70% fill part of the best level, 15%
        take it exactly, 15% sweep through it into the next one or two levels (one trade per
        level, like an exchange's trade stream)."""
        rng = self._rng
        levels = self._asks if rng.random() < 0.5 else self._bids
        roll = rng.random()
        best_price, best_size = levels[0]
        if roll < 0.70:
            size = round(best_size * rng.uniform(0.02, 0.6), self.size_decimals)
            return [(best_price, max(size, 10.0**-self.size_decimals))]
        if roll < 0.85:
            return [(best_price, best_size)]
        depth = rng.randint(2, 3)
        trades = list(levels[: depth - 1])
        price, size = levels[depth - 1]
        part = round(size * rng.uniform(0.1, 0.9), self.size_decimals)
        trades.append((price, max(part, 10.0**-self.size_decimals)))
        # A sweep moves the market: the mid follows the aggressor by a tick.
        self._mid_ticks += 1 if levels is self._asks else -1
        return trades

    def _record(self, now_ms: int, trades: list[Level]) -> None:
        minute = now_ms // _MINUTE_MS
        window = self._minutes
        if not window or window[-1].index != minute:
            window.append(_Minute(minute, trades[0][0] if trades else self._last))
            evicted = False
            while window[0].index <= minute - 1440:
                old = window.popleft()
                self._vol24 -= old.volume
                self._tu24 -= old.turnover
                evicted = True
            if evicted:
                self._high24 = max(m.high for m in window)
                self._low24 = min(m.low for m in window)
        bucket = window[-1]
        for period, bar in self._bars.items():
            open_time = bar_open_time(period, now_ms)
            if open_time != bar.open_time:
                self._bars[period] = BarState(open_time, trades[0][0] if trades else self._last)
        for price, size in trades:
            amount = price * size
            bucket.high = max(bucket.high, price)
            bucket.low = min(bucket.low, price)
            bucket.volume += size
            bucket.turnover += amount
            self._vol24 += size
            self._tu24 += amount
            self._high24 = max(self._high24, price)
            self._low24 = min(self._low24, price)
            for bar in self._bars.values():
                bar.high = max(bar.high, price)
                bar.low = min(bar.low, price)
                bar.close = price
                bar.volume += size
                bar.turnover += amount
            self._last = price

    # -- the step -----------------------------------------------------------------------------
    def step(self, now_ms: int) -> MarketUpdate:
        """Advance the market to `now_ms` (never backwards) and publish its state."""
        rng = self._rng
        dt_s = max(now_ms - self._t, 0) / 1000
        self._t = max(now_ms, self._t)
        trades: list[Level] = []
        if self._bids:
            count = rng.choices((0, 1, 2, 3), weights=(40, 35, 17, 8))[0]
            for _ in range(count):
                trades.extend(self._trade())
        self._record(self._t, trades)
        if dt_s > 0:
            self._mid_ticks *= math.exp(self._volatility * math.sqrt(dt_s) * rng.gauss(0.0, 1.0))
        self._build_book()
        digits = self.size_decimals + self.price_decimals
        return MarketUpdate(
            self._t,
            self._bids,
            self._asks,
            tuple(trades),
            self._last,
            self._minutes[0].open,
            self._high24,
            self._low24,
            round(self._vol24, self.size_decimals),
            round(self._tu24, digits),
            {
                p: (b.open_time, b.open, b.high, b.low, b.close,
                    round(b.volume, self.size_decimals), round(b.turnover, digits))
                for p, b in self._bars.items()
            },
        )  # fmt: skip

    @property
    def book(self) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """The book published by the last step: `(bids, asks)`, best first."""
        return self._bids, self._asks
