"""How events reach a strategy's hooks: in order, only the hooks it has, plain or async, at the
time of the event, with timers on the engine's clock."""

from __future__ import annotations

from typing import Any

import anyio.lowlevel
import pytest
import structlog.testing

from itick_bot import Depth, FeedStatus, Quote, Strategy, Tick

from ._support import T0_MS, Bench, clock_tick, depth, feed_status, quote, tick


class Recorder(Strategy):
    """Records every hook call as `(hook, event)`."""

    def on_start(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def on_quote(self, quote: Quote) -> None:
        self.calls.append(("on_quote", quote))

    def on_tick(self, tick: Tick) -> None:
        self.calls.append(("on_tick", tick))

    def on_depth(self, depth: Depth) -> None:
        self.calls.append(("on_depth", depth))

    def on_feed(self, status: FeedStatus) -> None:
        self.calls.append(("on_feed", status))


async def test_hooks_receive_the_events_in_the_order_they_were_processed(bench: Bench) -> None:
    strategy = Recorder()
    bench.add(strategy)
    await bench.start()
    events = [feed_status(0, "connected"), depth(1), tick(2), quote(3), tick(4), depth(5)]

    await bench.feed(*events)

    assert [event for _, event in strategy.calls] == events
    assert [hook for hook, _ in strategy.calls] == [
        "on_feed",
        "on_depth",
        "on_tick",
        "on_quote",
        "on_tick",
        "on_depth",
    ]


async def test_the_book_is_already_updated_when_on_depth_runs(bench: Bench) -> None:
    class ReadsTheBook(Strategy):
        def on_start(self) -> None:
            self.seen: list[tuple[float, float] | None] = []

        def on_depth(self, depth: Depth) -> None:
            self.seen.append(self.book(depth.symbol).best_bid)

    strategy = ReadsTheBook()
    bench.add(strategy)
    await bench.start()

    await bench.feed(depth(0, bids=[(100.0, 2.0)]), depth(1, bids=[(99.5, 3.0)]))

    assert strategy.seen == [(100.0, 2.0), (99.5, 3.0)]


async def test_only_the_hooks_a_strategy_defines_are_dispatched(bench: Bench) -> None:
    class TicksOnly(Strategy):
        def on_tick(self, tick: Tick) -> None:
            pass

    runner = bench.add(TicksOnly())
    await bench.start()
    queued: list[Any] = []
    put = runner.put
    runner.put = lambda event: (queued.append(event), put(event))  # type: ignore[method-assign]

    await bench.feed(depth(0), quote(1), tick(2), feed_status(3, "stale"), tick(4))

    assert runner.handled == {"on_tick": 2}
    assert [type(e) for e in queued] == [Tick, Tick]  # nothing else was queued for it


async def test_async_hooks_and_async_timer_callbacks_are_awaited(bench: Bench) -> None:
    class Async(Strategy):
        async def on_start(self) -> None:
            await anyio.lowlevel.checkpoint()
            self.calls: list[str] = ["on_start"]
            self.schedule(0.1, self.every_100ms)

        async def every_100ms(self) -> None:
            await anyio.lowlevel.checkpoint()
            self.calls.append(f"timer@{self.now() - T0_MS}")

        async def on_tick(self, tick: Tick) -> None:
            await anyio.lowlevel.checkpoint()
            self.calls.append(f"on_tick@{self.now() - T0_MS}")

    strategy = Async()
    runner = bench.add(strategy)
    await bench.start()

    await bench.feed(tick(50), tick(150))

    assert strategy.calls == ["on_start", "on_tick@50", "timer@100", "on_tick@150"]
    assert runner.state == "running"


async def test_now_is_the_receive_time_of_the_event_being_handled(bench: Bench) -> None:
    class Times(Strategy):
        def on_start(self) -> None:
            self.times: list[int] = []

        def on_tick(self, tick: Tick) -> None:
            self.times.append(self.now())

    strategy = Times()
    bench.add(strategy)
    await bench.start()

    # Exchange time (`ts`) is not the clock: a trade stamped earlier is still handled "now".
    late = Tick("BTCUSDT", 100.0, 1.0, ts=T0_MS - 5_000, received_ns=(T0_MS + 250) * 1_000_000)
    await bench.feed(tick(100), late, tick(1_000.7))

    assert strategy.times == [T0_MS + 100, T0_MS + 250, T0_MS + 1_000]


class EveryTenthOfASecond(Strategy):
    """Logs its timer and its ticks, with the time each saw."""

    def on_start(self) -> None:
        self.log_: list[tuple[str, int]] = []
        self.schedule(0.1, lambda: self.log_.append(("timer", self.now() - T0_MS)))

    def on_tick(self, tick: Tick) -> None:
        self.log_.append(("tick", self.now() - T0_MS))


async def test_timers_fire_on_the_event_clock_in_order_with_events(bench: Bench) -> None:
    strategy = EveryTenthOfASecond()
    bench.add(strategy)
    await bench.start()

    await bench.feed(tick(40), tick(100), tick(130), tick(250))

    assert strategy.log_ == [
        ("tick", 40),
        ("timer", 100),  # due at the same time as the tick: the timer goes first
        ("tick", 100),
        ("tick", 130),
        ("timer", 200),
        ("tick", 250),
    ]


async def test_timers_do_not_fire_without_events_however_long_the_wall_clock_waits(
    bench: Bench,
) -> None:
    strategy = EveryTenthOfASecond()
    bench.add(strategy)
    await bench.start()

    await bench.feed(tick(10))
    await anyio.lowlevel.checkpoint()

    assert strategy.log_ == [("tick", 10)]


async def test_clock_ticks_move_timers_in_a_quiet_market_catching_up_every_period(
    bench: Bench,
) -> None:
    strategy = EveryTenthOfASecond()
    runner = bench.add(strategy)
    await bench.start()

    await bench.feed(clock_tick(50), clock_tick(320))

    assert strategy.log_ == [("timer", 100), ("timer", 200), ("timer", 300)]
    assert runner.handled == {}  # a clock tick is no hook of its own
    assert strategy.now() == T0_MS + 320


async def test_schedule_refuses_a_period_that_is_not_positive(bench: Bench) -> None:
    class Zero(Strategy):
        pass

    strategy = Zero()
    bench.add(strategy)

    with pytest.raises(ValueError, match="above 0 seconds"):
        strategy.schedule(0, lambda: None)


def test_a_strategy_not_yet_bound_to_an_engine_says_to_use_on_start() -> None:
    class Early(Strategy):
        pass

    with pytest.raises(RuntimeError, match="on_start"):
        Early().book("BTCUSDT")


async def test_self_log_is_bound_to_the_strategys_name_even_without_a_configured_logger(
    bench: Bench,
) -> None:
    class Talks(Strategy):
        def on_tick(self, tick: Tick) -> None:
            self.log.info("saw a trade", price=tick.price)

    bench.add(Talks(), "talker")
    await bench.start()

    with structlog.testing.capture_logs() as logs:
        await bench.feed(tick(1, price=100.5))

    assert logs == [
        {"strategy": "talker", "price": 100.5, "event": "saw a trade", "log_level": "info"}
    ]


async def test_an_idle_tick_never_overtakes_trades_a_slow_strategy_has_not_handled(
    bench: Bench,
) -> None:
    strategy = EveryTenthOfASecond()
    runner = bench.add(strategy)
    await bench.start()

    # The strategy is behind: two trades wait in its inbox when the engine's clock ticks on.
    bench.engine.process(tick(40))
    bench.engine.process(tick(130))
    bench.engine.process(clock_tick(500))
    await runner.drain()

    assert strategy.log_ == [("tick", 40), ("timer", 100), ("tick", 130)]
