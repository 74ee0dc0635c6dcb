"""A small engine on an event-stamped clock, and market events at chosen times, for the engine's
tests: nothing here reads the wall clock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from itick_bot.bars import BarStore
from itick_bot.broker import BrokerConfig, PaperBroker
from itick_bot.engine import ClockTick, Engine, EngineClock, MarketState, StrategyRunner
from itick_bot.model import Bar, Depth, FeedState, FeedStatus, Interval, Level, Quote, Tick
from itick_bot.strategy import Strategy

T0_MS = 1_700_000_040_000
"""The tests' time zero, in epoch milliseconds (a minute boundary)."""

SYMBOL = "BTCUSDT"


def at(ms: float) -> int:
    """The receive time `ms` milliseconds after time zero, in epoch nanoseconds."""
    return (T0_MS * 1_000_000) + round(ms * 1_000_000)


def depth(
    ms: float,
    bids: Sequence[Level] = ((100.0, 1.0),),
    asks: Sequence[Level] = ((101.0, 1.0),),
    symbol: str = SYMBOL,
) -> Depth:
    return Depth(symbol, tuple(bids), tuple(asks), ts=T0_MS + int(ms), received_ns=at(ms))


def tick(ms: float, price: float = 100.5, size: float = 0.01, symbol: str = SYMBOL) -> Tick:
    return Tick(symbol, price, size, ts=T0_MS + int(ms), received_ns=at(ms))


def quote(ms: float, last: float = 100.5, symbol: str = SYMBOL) -> Quote:
    return Quote(symbol, last, 10.0, 1000.0, ts=T0_MS + int(ms), received_ns=at(ms))


def kline(ms: float, open_time_ms: int, close: float, interval: Interval = "1m") -> Bar:
    return Bar(
        SYMBOL,
        interval,
        T0_MS + open_time_ms,
        open=close,
        high=close,
        low=close,
        close=close,
        volume=1.0,
        received_ns=at(ms),
    )


def feed_status(ms: float, state: FeedState, reason: str = "test") -> FeedStatus:
    return FeedStatus(state, reason, ts=T0_MS + int(ms), received_ns=at(ms))


def clock_tick(ms: float) -> ClockTick:
    return ClockTick(at(ms))


class Bench:
    """An engine with a paper broker on an in-memory (or given) ledger and a bar store; `feed`
    processes events one by one and lets every strategy handle what each caused, as a
    backtest does. With `lockstep`, strategies take their events from a plain queue, as in a
    backtest and with a single strategy live; without, from the inbox a strategy running on a
    task of its own has."""

    def __init__(
        self,
        *,
        latency_ms: int = 50,
        max_backlog: int = 100_000,
        intervals: Iterable[Interval] = ("1m",),
        kline_intervals: Iterable[Interval] = frozenset(),
        ledger: str = ":memory:",
        broker: dict[str, Any] | None = None,
        lockstep: bool = False,
    ) -> None:
        self.lockstep = lockstep
        self.clock = EngineClock(at(0))
        self.broker = PaperBroker(
            BrokerConfig(latency_ms=latency_ms, ledger=ledger, **(broker or {})), self.clock
        )
        self.market = MarketState(
            BarStore(
                intervals,
                100,
                kline_intervals=kline_intervals,
                kline_close_grace_ms=0,
                tick_close_grace_ms=0,
            )
        )
        self.engine = Engine(
            market=self.market, broker=self.broker, clock=self.clock, max_backlog=max_backlog
        )

    def add(self, strategy: Strategy, name: str | None = None) -> StrategyRunner:
        runner = self.engine.add(strategy, name)
        if self.lockstep:
            runner.lockstep()
        return runner

    async def start(self) -> None:
        for runner in self.engine.runners:
            await runner.start(self.clock.time_ns())

    async def feed(self, *events: Any) -> None:
        for event in events:
            self.engine.process(event)
            await self.drain()

    async def drain(self) -> None:
        """Let every strategy handle what is waiting in its inbox."""
        for runner in self.engine.runners:
            await runner.drain()

    def close(self) -> None:
        self.broker.close()
