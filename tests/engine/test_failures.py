"""A strategy that raises, or falls too far behind, is stopped and reported; the others go on."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import structlog.testing

from itick_bot import Depth, Strategy, Tick

from ._support import Bench, depth, tick

HERE = Path(__file__).name


def line_of(text: str) -> int:
    """The number of the line of this file that contains `text`."""
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    return next(
        n for n, line in enumerate(lines, start=1) if text in line and "line_of" not in line
    )


class Healthy(Strategy):
    def on_start(self) -> None:
        self.ticks = 0

    def on_tick(self, tick: Tick) -> None:
        self.ticks += 1


class RaisesOnSecondTick(Strategy):
    def on_start(self) -> None:
        self.ticks = 0

    def on_tick(self, tick: Tick) -> None:
        self.ticks += 1
        if self.ticks == 2:
            raise ValueError(f"no price like {tick.price}")


async def test_a_raising_hook_stops_its_strategy_with_the_hook_exception_and_place(
    bench: Bench,
) -> None:
    runner = bench.add(RaisesOnSecondTick())
    await bench.start()

    await bench.feed(tick(1, price=100.0), tick(2, price=101.0))

    assert runner.state == "failed"
    assert runner.error is not None
    assert runner.error.startswith("on_tick raised ValueError: no price like 101.0 at ")
    assert runner.error.endswith(f"{HERE}:{line_of('no price like {tick.price}')}")
    assert "Traceback" in runner.traceback


async def test_a_failed_strategy_gets_no_more_events_while_the_others_go_on(
    bench: Bench,
) -> None:
    failing, healthy = RaisesOnSecondTick(), Healthy()
    failing_runner = bench.add(failing)
    healthy_runner = bench.add(healthy)
    await bench.start()

    await bench.feed(*(tick(ms) for ms in range(1, 6)))

    assert failing.ticks == 2
    assert healthy.ticks == 5
    assert (failing_runner.state, healthy_runner.state) == ("failed", "running")
    assert bench.engine.failed == [failing_runner]
    assert not bench.engine.all_failed.is_set()


async def test_all_failed_is_set_once_every_strategy_has_failed(bench: Bench) -> None:
    class RaisesOnDepth(Strategy):
        def on_depth(self, depth: Depth) -> None:
            raise RuntimeError("no")

    bench.add(RaisesOnSecondTick())
    bench.add(RaisesOnDepth())
    await bench.start()

    await bench.feed(depth(0), tick(1))
    assert not bench.engine.all_failed.is_set()

    await bench.feed(tick(2))
    assert bench.engine.all_failed.is_set()


async def test_an_error_raised_inside_the_framework_points_at_the_strategys_line(
    bench: Bench,
) -> None:
    class CancelsNothing(Strategy):
        def on_tick(self, tick: Tick) -> None:
            self.cancel("no-such-order")  # the line the error should name

    runner = bench.add(CancelsNothing())
    await bench.start()
    await bench.feed(tick(1))

    assert runner.error is not None
    assert runner.error.startswith("on_tick raised ItickBotError: no order 'no-such-order'")
    assert runner.error.endswith(f"{HERE}:{line_of('the line the error should name')}")


async def test_a_raising_on_start_stops_the_strategy_before_any_event(bench: Bench) -> None:
    class BadStart(Healthy):
        def on_start(self) -> None:
            raise KeyError("missing")

    runner = bench.add(BadStart())
    await bench.start()
    await bench.feed(tick(1))

    assert runner.state == "failed"
    assert runner.error is not None
    assert runner.error.startswith("on_start raised KeyError")
    assert runner.handled == {}


async def test_a_raising_timer_callback_stops_the_strategy_naming_it(bench: Bench) -> None:
    class BadTimer(Healthy):
        def on_start(self) -> None:
            super().on_start()
            self.schedule(0.01, self.boom)

        def boom(self) -> None:
            raise ZeroDivisionError("division by zero")

    runner = bench.add(BadTimer())
    await bench.start()
    await bench.feed(tick(5), tick(20))

    assert runner.state == "failed"
    assert runner.error is not None
    assert runner.error.startswith("scheduled callback raised ZeroDivisionError")
    assert runner.handled == {"on_tick": 1}  # the tick at 20 ms came after the failure


async def test_on_stop_runs_for_a_running_strategy_but_not_for_a_failed_one(
    bench: Bench,
) -> None:
    stopped: list[str] = []

    class FailsAndStops(RaisesOnSecondTick):
        def on_stop(self) -> None:
            stopped.append(self.name)

    class Stops(Healthy):
        def on_stop(self) -> None:
            stopped.append(self.name)

    bench.add(FailsAndStops(), "fails")
    bench.add(Stops(), "survives")
    await bench.start()
    await bench.feed(tick(1), tick(2))

    for runner in bench.engine.runners:
        await runner.stop()

    assert [r.state for r in bench.engine.runners] == ["failed", "stopped"]
    assert stopped == ["survives"]


async def test_a_strategy_more_than_max_backlog_behind_is_stopped_saying_so(
    make_bench: Callable[..., Bench],
) -> None:
    bench = make_bench(max_backlog=3)
    slow_runner = bench.add(Healthy(), "slow")
    await bench.start()

    for ms in range(1, 5):  # four ticks wait: one more than the limit
        bench.engine.process(tick(ms))
    await slow_runner.drain()

    assert slow_runner.state == "failed"
    assert slow_runner.error is not None
    assert "strategy 'slow' fell more than 3 events behind" in slow_runner.error
    assert "max_backlog" in slow_runner.error
    assert bench.engine.all_failed.is_set()


async def test_a_backlog_up_to_max_backlog_is_handled_in_full(
    make_bench: Callable[..., Bench],
) -> None:
    bench = make_bench(max_backlog=3)
    strategy = Healthy()
    runner = bench.add(strategy)
    await bench.start()

    for ms in range(1, 4):
        bench.engine.process(tick(ms))
    await runner.drain()

    assert (runner.state, strategy.ticks) == ("running", 3)


async def test_a_failure_is_logged_when_it_happens(bench: Bench) -> None:
    bench.add(RaisesOnSecondTick(), "fragile")
    await bench.start()

    with structlog.testing.capture_logs() as logs:
        await bench.feed(tick(1), tick(2, price=101.0))

    [entry] = logs
    assert entry["log_level"] == "error"
    assert entry["strategy"] == "fragile"
    assert entry["error"].startswith("on_tick raised ValueError: no price like 101.0")
