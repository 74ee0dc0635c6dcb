"""One strategy at work: its inbox, its task, its timers, and the context its hooks call.

The engine puts events into the runner's inbox without waiting; the runner's task takes them
out and calls the strategy's hooks. A strategy that keeps up sees every event in order; one that
falls behind has its quotes and depth conflated (the newest per symbol wins) while ticks, bars,
orders, fills and feed status keep their place; one more than `max_backlog` events behind is
stopped and reported. A hook that raises stops that strategy alone.
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import os
import traceback
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final

from ..bars import BarSeries
from ..book import OrderBook
from ..clock import Clock
from ..errors import ItickBotError, SlowConsumerError
from ..feed import EventInbox
from ..model import (
    Balance,
    Bar,
    Depth,
    FeedStatus,
    Fill,
    Order,
    Position,
    Quote,
    Side,
    Tick,
    TimeInForce,
)
from ..strategy import Number, Strategy, implemented_hooks
from ..symbols import canonical
from ._clock import ClockTick
from ._tally import StrategyTally

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["StrategyRunner"]

_HOOK_OF: Final[dict[type, str]] = {
    Quote: "on_quote",
    Tick: "on_tick",
    Depth: "on_depth",
    Bar: "on_bar",
    Order: "on_order",
    Fill: "on_fill",
    FeedStatus: "on_feed",
}
_LAG_SAMPLES: Final = 100_000
_FRAMEWORK_DIR: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class _Hook:
    """A hook the strategy defines, and how often it was called."""

    __slots__ = ("calls", "fn", "is_async", "name")

    def __init__(self, name: str, fn: Callable[[Any], Any]) -> None:
        self.name = name
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        self.calls = 0


class _Timer:
    __slots__ = ("callback", "every_ns")

    def __init__(self, every_ns: int, callback: Callable[[], Any]) -> None:
        self.every_ns = every_ns
        self.callback = callback


class StrategyRunner:
    """Runs one strategy; it is also the strategy's context (`StrategyContext`)."""

    def __init__(
        self,
        strategy: Strategy,
        name: str,
        engine: Engine,
        *,
        max_backlog: int,
        log: Any,
        lag_clock: Clock | None = None,
    ) -> None:
        self.strategy = strategy
        self.name = name
        self.log = log
        self._engine = engine
        self._lag_clock = lag_clock
        self.inbox = EventInbox(max_backlog, name=f"strategy {name!r}", conflate=(Quote, Depth))
        hooks = implemented_hooks(type(strategy))
        self._hooks: dict[type, _Hook] = {
            cls: _Hook(hook, getattr(strategy, hook))
            for cls, hook in _HOOK_OF.items()
            if hook in hooks
        }
        self._queue: deque[Any] | None = None
        self.put: Callable[[Any], None] = self.inbox.put
        """Queue one event for the strategy (no check of its state: see `deliver`)."""
        self.wanted: frozenset[type] = frozenset(self._hooks) | {ClockTick}
        self.state = "created"
        self.error: str | None = None
        self.now_ns = 0
        self._timers: list[tuple[int, int, _Timer]] = []
        self._seq = itertools.count()
        self.lags_ns: deque[int] = deque(maxlen=_LAG_SAMPLES)
        self.max_lag_ns = 0
        self.tally = StrategyTally()
        self._held: Any = None
        self.traceback = ""
        strategy._bind(self, name)

    @property
    def alive(self) -> bool:
        return self.state in ("created", "running")

    @property
    def handled(self) -> Counter[str]:
        """How many times each hook was called."""
        return Counter({hook.name: hook.calls for hook in self._hooks.values() if hook.calls})

    @property
    def pending(self) -> int:
        """Events waiting for the strategy."""
        return len(self._queue) if self._queue is not None else self.inbox.pending

    def lockstep(self) -> None:
        """Run in lockstep with the engine: its caller drains this runner after every event
        (a backtest; a single strategy live), so nothing waits long enough to be conflated and
        a plain queue serves instead of the inbox (a third of the cost of a delivery)."""
        self._queue = deque()
        self.put = self._queue.append

    # -- life ---------------------------------------------------------------------------------
    async def start(self, now_ns: int) -> None:
        """Call `on_start` (if any) at the engine's time `now_ns`."""
        self.now_ns = now_ns
        self.state = "running"
        self._engine.routes_changed()
        await self._call("on_start", getattr(self.strategy, "on_start", None), None)

    async def stop(self) -> None:
        """Call `on_stop` (if the strategy is still running)."""
        if self.state == "running":
            await self._call("on_stop", getattr(self.strategy, "on_stop", None), None)
            if self.state == "running":
                self.state = "stopped"
                self._engine.routes_changed()

    def deliver(self, event: Any) -> None:
        """Queue one event for the strategy; never blocks."""
        if self.state == "running":
            self.put(event)

    async def run(self) -> None:
        """Handle events until the inbox is closed or the strategy fails."""
        get = self.inbox.get
        handle_now = self.handle_now
        while self.state == "running":
            try:
                event = await get()
            except SlowConsumerError as exc:
                self._fail(str(exc))
                return
            if event is None:
                return
            if not handle_now(event):
                await self.handle(event)

    def drain_now(self) -> bool:
        """Handle what waits without awaiting; True when done, False when an event needs
        `drain` (a timer due, an async hook): it is kept for `drain`, which goes on from it."""
        handle_now = self.handle_now
        queue = self._queue
        if queue is not None:
            while queue and self._held is None:
                if self.state != "running":
                    queue.clear()
                    break
                event = queue.popleft()
                if not handle_now(event):
                    self._held = event
                    return False
            return self._held is None
        get = self.inbox.get_nowait
        while self.state == "running" and self._held is None:
            try:
                event = get()
            except SlowConsumerError as exc:
                self._fail(str(exc))
                return True
            if event is None:
                return True
            if not handle_now(event):
                self._held = event
                return False
        return self._held is None

    async def drain(self) -> None:
        """Handle everything waiting now (backtests call this after every event)."""
        if self._held is not None:
            held, self._held = self._held, None
            await self.handle(held)
        handle_now = self.handle_now
        queue = self._queue
        if queue is not None:
            while queue:
                if self.state != "running":
                    queue.clear()
                    return
                event = queue.popleft()
                if not handle_now(event):
                    await self.handle(event)
            return
        get = self.inbox.get_nowait
        while self.state == "running":
            try:
                event = get()
            except SlowConsumerError as exc:
                self._fail(str(exc))
                return
            if event is None:
                return
            if not handle_now(event):
                await self.handle(event)

    def handle_now(self, event: Any) -> bool:
        """Handle `event` at once when that needs no `await` (no timer due, a plain hook): the
        common case, without the cost of a coroutine. False when `handle` must do it."""
        # An order update's time is when it changed; every other event has its receive time.
        at = event.updated_ns if event.__class__ is Order else event.received_ns
        timers = self._timers
        if timers and timers[0][0] <= at:
            return False
        hook = self._hooks.get(event.__class__)
        if hook is not None and hook.is_async:
            return False
        if at > self.now_ns:
            self.now_ns = at
        if hook is None or self.state != "running":
            return True
        if self._lag_clock is not None:
            self._measure_lag(at)
        try:
            hook.fn(event)
        except Exception as exc:
            self._fail_with(hook.name, exc)
            return True
        hook.calls += 1
        return True

    async def handle(self, event: Any) -> None:
        """Handle `event`, firing the timers due before it and awaiting an async hook."""
        at = event.updated_ns if event.__class__ is Order else event.received_ns
        if self._timers and self._timers[0][0] <= at:
            await self._fire_timers(at)
        if at > self.now_ns:
            self.now_ns = at
        hook = self._hooks.get(event.__class__)
        if hook is None or self.state != "running":
            return
        self._measure_lag(at)
        try:
            result = hook.fn(event)
            if hook.is_async:
                await result
        except Exception as exc:
            self._fail_with(hook.name, exc)
            return
        hook.calls += 1

    def _measure_lag(self, at: int) -> None:
        if self._lag_clock is None:
            return
        lag = self._lag_clock.time_ns() - at
        self.lags_ns.append(lag)
        if lag > self.max_lag_ns:
            self.max_lag_ns = lag

    async def _fire_timers(self, until_ns: int) -> None:
        timers = self._timers
        while timers and timers[0][0] <= until_ns and self.state == "running":
            due, _, timer = heapq.heappop(timers)
            self.now_ns = due
            heapq.heappush(timers, (due + timer.every_ns, next(self._seq), timer))
            await self._call("scheduled callback", timer.callback, None, with_arg=False)

    async def _call(
        self, what: str, fn: Callable[..., Any] | None, arg: Any, *, with_arg: bool = False
    ) -> None:
        if fn is None:
            return
        try:
            result = fn(arg) if with_arg else fn()
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            self._fail_with(what, exc)

    def _fail_with(self, where: str, exc: Exception) -> None:
        frames = traceback.extract_tb(exc.__traceback__)
        # The place to show is the user's own code: an error raised inside the framework (a
        # bad cancel, say) points at the strategy's line that called it.
        own = [f for f in frames if not f.filename.startswith(_FRAMEWORK_DIR)] or frames
        origin = f" at {own[-1].filename}:{own[-1].lineno}" if own else ""
        self._fail(f"{where} raised {type(exc).__name__}: {exc}{origin}")
        self.traceback = "".join(traceback.format_exception(exc))

    def _fail(self, reason: str) -> None:
        self.state = "failed"
        self.error = reason
        self.inbox.close()
        if self._queue is not None:
            self._queue.clear()
        # Said when it happens, not only in the report at the end of a long run.
        self.log.error("strategy stopped on an error; the others go on", error=reason)
        self._engine.strategy_failed(self)

    # -- the StrategyContext the strategy calls -------------------------------------------------
    def book(self, symbol: str) -> OrderBook:
        return self._engine.market.book(symbol)

    def bars(self, symbol: str, interval: str) -> BarSeries:
        return self._engine.market.series(symbol, interval)  # type: ignore[arg-type]

    def last_quote(self, symbol: str) -> Quote | None:
        return self._engine.market.quotes.get(canonical(symbol))

    def position(self, symbol: str) -> Position:
        return self._engine.broker.position(canonical(symbol))

    def balance(self, asset: str) -> Balance:
        return self._engine.broker.balance(asset.upper())

    def open_orders(self, symbol: str | None) -> list[Order]:
        sym = None if symbol is None else canonical(symbol)
        return self._engine.broker.open_orders(sym, strategy=self.name)

    def submit(
        self,
        symbol: str,
        side: Side,
        qty: Number,
        price: Number | None,
        tif: TimeInForce,
        post_only: bool,
    ) -> Order:
        engine = self._engine
        with engine.clock.at(self.now_ns):
            order = engine.broker.submit(
                canonical(symbol), side, qty, price, tif=tif, post_only=post_only,
                strategy=self.name,
            )  # fmt: skip
        self.tally.on_submit(order)
        return order

    def cancel(self, order: Order | str) -> Order:
        order_id = order if isinstance(order, str) else order.id
        engine = self._engine
        known = engine.broker.order(order_id)
        if known is None:
            raise ItickBotError(f"no order {order_id!r} in the paper account")
        if known.strategy != self.name:
            raise ItickBotError(
                f"order {order_id} belongs to strategy {known.strategy!r}, not {self.name!r}"
            )
        with engine.clock.at(self.now_ns):
            cancelled = engine.broker.cancel(order_id)
        if cancelled.status != known.status:
            engine.route([cancelled])
        return cancelled

    def cancel_all(self, symbol: str | None) -> list[Order]:
        engine = self._engine
        sym = None if symbol is None else canonical(symbol)
        with engine.clock.at(self.now_ns):
            cancelled = engine.broker.cancel_all(sym, strategy=self.name)
        engine.route(cancelled)
        return cancelled

    def schedule(self, every_s: float, callback: Callable[[], Any | Awaitable[Any]]) -> None:
        if not every_s > 0:
            raise ValueError(f"schedule() needs a period above 0 seconds, not {every_s!r}")
        every_ns = round(every_s * 1e9)
        heapq.heappush(
            self._timers, (self.now_ns + every_ns, next(self._seq), _Timer(every_ns, callback))
        )

    def now_ms(self) -> int:
        return self.now_ns // 1_000_000

    # -- reporting ----------------------------------------------------------------------------
    def lag_percentiles_ms(self) -> dict[str, float | None]:
        if not self.lags_ns:
            return {"p50": None, "p99": None, "max": None}
        ordered = sorted(self.lags_ns)

        def pick(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6, 3)

        return {"p50": pick(0.50), "p99": pick(0.99), "max": round(self.max_lag_ns / 1e6, 3)}
