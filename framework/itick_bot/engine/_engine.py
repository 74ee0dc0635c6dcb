"""The engine: market events in, books and bars updated, the broker driven, strategies fed.

`process(event)` is the whole per-event path, synchronous and free of I/O: it moves the engine's
clock to the event's receive time, lets the broker deliver orders that have reached the venue by
then, updates the book or the bars, gives the event to the broker, and hands the event and
whatever it caused (fills, order updates, closed bars) to the strategies' inboxes. Live,
`run_live` feeds it from the feed's inbox and ticks the clock when the market is quiet; a backtest
calls `process` and then lets each strategy drain its inbox, so both make the same decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Final

import anyio

from .._logging import get_logger
from ..broker import BrokerError
from ..clock import Clock
from ..feed import EventInbox
from ..metrics import EquityPoint
from ..model import Bar, Depth, FeedStatus, Fill, Order, Quote, Tick
from ..strategy import Strategy
from ._clock import ClockTick, EngineClock
from ._market import MarketState
from ._runner import StrategyRunner

if TYPE_CHECKING:
    from ..broker import PaperBroker

__all__ = ["Engine"]

_YIELD_EVERY: Final = 64
"""Events handled in a row before the engine lets other tasks run."""
_EVENT_NAMES: Final[dict[type, str]] = {
    Quote: "quote",
    Depth: "depth",
    Tick: "tick",
    Bar: "kline",
    FeedStatus: "feed",
    ClockTick: "idle_tick",
}


def _strategy_logger(name: str) -> Any:
    return get_logger("itick_bot.strategy").bind(strategy=name)


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
        equity_every_s: float = 1.0,
        on_tick: Callable[[int], None] | None = None,
    ) -> None:
        self.market = market
        self.broker = broker
        self.clock = clock
        self.max_backlog = max_backlog
        self.runners: list[StrategyRunner] = []
        self._by_name: dict[str, StrategyRunner] = {}
        # Per event class, where it goes: the inboxes of the running strategies that want it.
        self._routes: dict[type, list[Callable[[Any], None]]] = {}
        self._lag_clock = lag_clock
        self.on_tick = on_tick
        """Told of every idle tick (a recording writes them, so a backtest replays them)."""
        # Strategies call `self.log` wherever they run (live, tests, backtests), so there is
        # always a logger, bound to the strategy's name as `run` binds it.
        self._logger = logger or _strategy_logger
        self._counts: dict[type, int] = {}
        self.fills: list[Fill] = []
        """Every fill of this run, in order (for the report's round trips)."""
        self.equity: list[EquityPoint] = []
        """The account's equity sampled every `equity_every_s` of event time."""
        self._equity_every_ns = round(equity_every_s * 1e9)
        self._next_equity_ns = 0
        self.bad_snapshots = 0
        self._travelling = broker.travelling
        self._bars = market.bars
        self._books = market.books
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
        self._routes.clear()
        return runner

    # -- the per-event path -------------------------------------------------------------------
    def process(self, event: Any) -> None:
        """Apply one event and hand it, and what it caused, to the strategies."""
        at = event.received_ns
        clock = self.clock
        if at > clock.now_ns:
            clock.now_ns = at
        # What time may bring (an order reaching the venue, an equity sample, a quiet bar
        # closing), checked inline: on most events none of it is due.
        travelling = self._travelling
        if (
            (travelling and travelling[0][0] <= at)
            or at >= self._next_equity_ns
            or at // 1_000_000 >= self._bars.deadline_ms
        ):
            self._advance(at)
        cls = event.__class__
        if cls is Depth:
            book = self._books.get(event.symbol) or self.market.book(event.symbol)
            if not book.apply(event):
                self.bad_snapshots += 1
            self._deliver(event, cls)
            updates = self.broker.on_depth(event, book)
            if updates:
                self.route(updates)
        elif cls is Tick:
            # A trade in a later period closes the bar before it: the bar is told first.
            for bar in self.market.on_tick(event):
                self._deliver(bar, Bar)
            self._deliver(event, cls)
            updates = self.broker.on_tick(event)
            if updates:
                self.route(updates)
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
            # Only to a strategy with nothing waiting: one that is behind reaches this time
            # through the events it has yet to handle, and a tick queued behind them, or in
            # place of an older one, could fire its timers before earlier trades.
            for runner in self.runners:
                if runner.state == "running" and not runner.pending:
                    runner.put(event)
        counts = self._counts
        counts[cls] = counts.get(cls, 0) + 1

    @property
    def events(self) -> dict[str, int]:
        """Events processed, by kind (`kline` counts the server's kline pushes)."""
        return {_EVENT_NAMES.get(cls, cls.__name__): n for cls, n in self._counts.items()}

    def tick(self, now_ns: int) -> None:
        """Time passes with no market event (live: the engine is idle)."""
        if self.on_tick is not None:
            self.on_tick(now_ns)
        self.process(ClockTick(now_ns))

    def _advance(self, at: int) -> None:
        due = self.broker.next_due_ns()
        if due is not None and due <= at:
            self.route(self.broker.advance(at))
        if at >= self._next_equity_ns:
            self._next_equity_ns = at + self._equity_every_ns
            self.sample_equity(at)
        # Quiet bars close when their period (and grace) has passed by this clock.
        for bar in self.market.bars.advance(at // 1_000_000, at):
            self._deliver(bar, Bar)

    def sample_equity(self, at: int) -> None:
        """Record the account's equity (marked at mid) and gross exposure at `at`."""
        marks = self.market.marks()
        exposure = 0.0
        for symbol, position in self.broker.positions().items():
            mark = marks.get(symbol)
            if mark is not None:
                exposure += abs(position.qty) * mark
        try:
            equity = self.broker.equity(marks)
        except BrokerError:
            return  # an asset with no price yet (no book, no quote): nothing to mark it at
        self.equity.append(EquityPoint(at, equity, exposure))

    def _deliver(self, event: Any, cls: type) -> None:
        routes = self._routes.get(cls)
        if routes is None:
            routes = self._routes[cls] = [
                r.put for r in self.runners if r.state == "running" and cls in r.wanted
            ]
        for put in routes:
            put(event)

    def route(self, updates: Iterable[Order | Fill]) -> None:
        """Give order updates and fills to the strategy that owns them."""
        for update in updates:
            runner = self._by_name.get(update.strategy)
            if runner is None:
                continue
            if isinstance(update, Fill):
                self.fills.append(update)
                runner.tally.on_fill(update)
            else:
                runner.tally.on_order(update)
            if update.__class__ in runner.wanted:
                runner.deliver(update)

    def routes_changed(self) -> None:
        """A strategy started, stopped or failed: recompute where events go."""
        self._routes.clear()

    def strategy_failed(self, runner: StrategyRunner) -> None:
        self.failed.append(runner)
        self._routes.clear()
        if all(not r.alive for r in self.runners):
            self.all_failed.set()

    # -- live ---------------------------------------------------------------------------------
    async def run_live(
        self, inbox: EventInbox, wall: Clock, *, tick_s: float, start_ns: int | None = None
    ) -> None:
        """Start the strategies, then process the feed until it ends, every strategy has failed,
        or the caller cancels; strategies' `on_stop` runs on the way out.

        A single strategy handles each event right after the engine has applied it, on the
        engine's task (no task switch: what a backtest does too). Several strategies each get a
        task of their own, so that a slow one does not hold up the others.
        """
        now = wall.time_ns() if start_ns is None else start_ns
        self.clock.set_ns(now)
        inline = self.runners[0] if len(self.runners) == 1 else None
        if inline is not None:
            inline.lockstep()
        try:
            async with anyio.create_task_group() as tg:
                for runner in self.runners:
                    await runner.start(now)
                    if runner.alive and inline is None:
                        tg.start_soon(runner.run)
                if not any(r.alive for r in self.runners):
                    self.all_failed.set()
                tg.start_soon(self._watch_failures, tg.cancel_scope)
                try:
                    await self._pump(inbox, wall, tick_s, inline)
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

    async def _pump(
        self, inbox: EventInbox, wall: Clock, tick_s: float, inline: StrategyRunner | None
    ) -> None:
        process = self.process
        runners = self.runners
        checkpoint = anyio.lowlevel.checkpoint
        busy = 0
        while True:
            event = inbox.get_nowait()
            if event is None:
                with anyio.move_on_after(tick_s):
                    event = await inbox.get()
                    if event is None:
                        return
            if event is None:
                # Quiet: every received event has been processed, so time may move to now.
                self.tick(wall.time_ns())
            else:
                process(event)
            # The strategies handle what this event gave them before the next event changes the
            # books: a strategy that keeps up decides on exactly the state a backtest of the same
            # recording shows it.
            if inline is not None:
                if not inline.drain_now():
                    await inline.drain()
                busy += 1
                if busy >= _YIELD_EVERY:
                    # A feed that never pauses must not starve the other tasks (heartbeat,
                    # signals, the recorder, cancellation at --duration).
                    busy = 0
                    await checkpoint()
                continue
            for runner in runners:
                if runner.inbox.pending:
                    await checkpoint()
                    break
