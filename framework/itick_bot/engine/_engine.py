"""The engine: market events in, books and bars updated, the broker driven, strategies fed.

`process(event)` is the whole per-event path, synchronous and free of I/O: it moves the engine's
clock to the event's receive time, lets the broker deliver orders that have reached the venue by
then, updates the book or the bars, gives the event to the broker, and hands the event and
whatever it caused (fills, order updates, closed bars) to the strategies' inboxes. Live,
`run_live` feeds it from the feed's inbox and ticks the clock when the market is quiet; a backtest
calls `process` and then lets each strategy drain its inbox, so both make the same decisions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import anyio

from ..clock import Clock
from ..feed import EventInbox
from ..model import Bar, Depth, FeedStatus, Fill, Order, Quote, Tick
from ..strategy import Strategy
from ._clock import ClockTick, EngineClock
from ._market import MarketState
from ._runner import StrategyRunner

if TYPE_CHECKING:
    from ..broker import PaperBroker

__all__ = ["Engine"]


class Engine:
    def __init__(
        self,
        *,
        market: MarketState,
        broker: PaperBroker,
        clock: EngineClock,
        max_backlog: int = 100_000,
        lag_clock: Clock | None = None,
        logger: Callable[[str], Any] | None = None,
    ) -> None:
        self.market = market
        self.broker = broker
        self.clock = clock
        self.max_backlog = max_backlog
        self.runners: list[StrategyRunner] = []
        self._by_name: dict[str, StrategyRunner] = {}
        self._lag_clock = lag_clock
        self._logger = logger or (lambda name: None)
        self.events: Counter[str] = Counter()
        self.bad_snapshots = 0
        self.failed: list[StrategyRunner] = []
        self.all_failed = anyio.Event()

    def add(self, strategy: Strategy, name: str | None = None) -> StrategyRunner:
        """Run `strategy` under `name` (its class name by default; names are unique)."""
        name = name or type(strategy).__name__
        if name in self._by_name:
            raise ValueError(f"two strategies are named {name!r}; give each an `id`")
        runner = StrategyRunner(
            strategy,
            name,
            self,
            max_backlog=self.max_backlog,
            log=self._logger(name),
            lag_clock=self._lag_clock,
        )
        self.runners.append(runner)
        self._by_name[name] = runner
        return runner

    # -- the per-event path -------------------------------------------------------------------
    def process(self, event: Any) -> None:
        """Apply one event and hand it, and what it caused, to the strategies."""
        at = event.received_ns
        self._advance(at)
        cls = event.__class__
        if cls is Depth:
            book = self.market.book(event.symbol)
            if not book.apply(event):
                self.bad_snapshots += 1
            self._deliver(event, cls)
            self.route(self.broker.on_depth(event, book))
        elif cls is Tick:
            closed = self.market.on_tick(event)
            self._deliver(event, cls)
            self.route(self.broker.on_tick(event))
            for bar in closed:
                self._deliver(bar, Bar)
        elif cls is Quote:
            self.market.quotes[event.symbol] = event
            self._deliver(event, cls)
        elif cls is Bar:
            for bar in self.market.on_kline(event):
                self._deliver(bar, Bar)
        elif cls is FeedStatus:
            if event.state in ("stale", "reconnecting"):
                self.market.mark_unreliable(f"feed {event.state}: {event.reason}")
            self._deliver(event, cls)
        elif cls is ClockTick:
            self._deliver(event, cls)
        self.events[cls.__name__] += 1

    def tick(self, now_ns: int) -> None:
        """Time passes with no market event (live: the engine is idle)."""
        self.process(ClockTick(now_ns))

    def _advance(self, at: int) -> None:
        self.clock.set_ns(at)
        due = self.broker.next_due_ns()
        if due is not None and due <= at:
            self.route(self.broker.advance(at))
        # Quiet bars close when their period (and grace) has passed by this clock.
        for bar in self.market.bars.advance(at // 1_000_000, at):
            self._deliver(bar, Bar)

    def _deliver(self, event: Any, cls: type) -> None:
        for runner in self.runners:
            if cls in runner.wanted:
                runner.deliver(event)

    def route(self, updates: Iterable[Order | Fill]) -> None:
        """Give order updates and fills to the strategy that owns them."""
        for update in updates:
            runner = self._by_name.get(update.strategy)
            if runner is None:
                continue
            if update.__class__ is Fill:
                runner.tally.on_fill(update)
            else:
                runner.tally.on_order(update)  # type: ignore[arg-type]
            if update.__class__ in runner.wanted:
                runner.deliver(update)

    def strategy_failed(self, runner: StrategyRunner) -> None:
        self.failed.append(runner)
        if all(not r.alive for r in self.runners):
            self.all_failed.set()

    # -- live ---------------------------------------------------------------------------------
    async def run_live(self, inbox: EventInbox, wall: Clock, *, tick_s: float) -> None:
        """Start the strategies, then process the feed until it ends, every strategy has failed,
        or the caller cancels; strategies' `on_stop` runs on the way out."""
        now = wall.time_ns()
        self.clock.set_ns(now)
        try:
            async with anyio.create_task_group() as tg:
                for runner in self.runners:
                    await runner.start(now)
                    if runner.alive:
                        tg.start_soon(runner.run)
                if not any(r.alive for r in self.runners):
                    self.all_failed.set()
                tg.start_soon(self._watch_failures, tg.cancel_scope)
                try:
                    await self._pump(inbox, wall, tick_s)
                finally:
                    for runner in self.runners:
                        runner.inbox.close()
                    tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                for runner in self.runners:
                    await runner.stop()

    async def _watch_failures(self, scope: anyio.CancelScope) -> None:
        await self.all_failed.wait()
        scope.cancel()

    async def _pump(self, inbox: EventInbox, wall: Clock, tick_s: float) -> None:
        process = self.process
        while True:
            event = inbox.get_nowait()
            if event is not None:
                process(event)
                continue
            with anyio.move_on_after(tick_s):
                event = await inbox.get()
                if event is None:
                    return
                process(event)
                continue
            # Quiet: every received event has been processed, so time may move to now.
            self.tick(wall.time_ns())
