"""A strategy that falls behind has its quotes and depth conflated; ticks, bars, orders and fills
are never lost; one that keeps up sees every event."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from itick_bot import Bar, Depth, Fill, Order, Quote, Strategy, Tick

from ._support import Bench, depth, quote, tick


class Counts(Strategy):
    """Counts what each hook saw; sends five market buys from `on_start`."""

    buys = 0

    def on_start(self) -> None:
        self.seen: Counter[str] = Counter()
        self.depths: list[Depth] = []
        self.quotes: list[Quote] = []
        self.ticks: list[Tick] = []
        self.bars_seen: list[Bar] = []
        self.statuses: dict[str, list[str]] = {}
        self.fills: list[Fill] = []
        for _ in range(self.buys):
            self.buy("BTCUSDT", "0.01")

    def on_depth(self, depth: Depth) -> None:
        self.depths.append(depth)

    def on_quote(self, quote: Quote) -> None:
        self.quotes.append(quote)

    def on_tick(self, tick: Tick) -> None:
        self.ticks.append(tick)

    def on_bar(self, bar: Bar) -> None:
        self.bars_seen.append(bar)

    def on_order(self, order: Order) -> None:
        self.statuses.setdefault(order.id, []).append(order.status)

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)


class Buys(Counts):
    buys = 5


def market_session() -> list[object]:
    """Three minutes of a busy market: a depth, a quote and a trade every 100 ms, and some
    depth for a second symbol."""
    events: list[object] = []
    for ms in range(0, 180_000, 100):
        price = 100.0 + (ms // 100 % 7) * 0.1
        events.append(depth(ms, bids=[(price - 0.5, 5.0)], asks=[(price + 0.5, 5.0)]))
        events.append(quote(ms + 10, last=price))
        events.append(tick(ms + 20, price=price))
        if ms % 1_000 == 0:
            events.append(depth(ms + 30, symbol="ETHUSDT", bids=[(9.0, 1.0)], asks=[(9.1, 1.0)]))
    return events


async def test_a_slow_strategy_loses_no_tick_bar_order_or_fill_while_market_state_conflates(
    make_bench: Callable[..., Bench],
) -> None:
    bench = make_bench()  # a strategy on a task of its own: behind, it has an inbox
    slow = Buys()
    runner = bench.add(slow)
    await bench.start()
    events = market_session()
    ticks = [e for e in events if isinstance(e, Tick)]

    for event in events:  # the strategy is busy: nothing is handled until the end
        bench.engine.process(event)
    await runner.drain()

    assert runner.state == "running"
    assert slow.ticks == ticks
    assert [b.open_time for b in slow.bars_seen] == [
        b.open_time for b in bench.market.series("BTCUSDT", "1m")
    ]
    assert len(slow.bars_seen) == 2  # minutes 0 and 1 closed; minute 2 is still forming
    assert len(slow.fills) == 5
    assert list(slow.statuses.values()) == [["accepted", "filled"]] * 5
    assert runner.tally.fills == 5
    # One depth and one quote per symbol stood in for the thousands that came.
    assert [d.symbol for d in slow.depths] == ["BTCUSDT", "ETHUSDT"]
    assert len(slow.quotes) == 1
    assert runner.inbox.conflated > 3_000


async def test_conflation_delivers_the_newest_depth_and_quote_of_each_symbol(
    make_bench: Callable[..., Bench],
) -> None:
    bench = make_bench()  # a strategy on a task of its own: behind, it has an inbox
    slow = Counts()
    runner = bench.add(slow)
    await bench.start()
    events = market_session()

    for event in events:
        bench.engine.process(event)
    await runner.drain()

    newest = {}
    for event in events:
        if isinstance(event, Depth):
            newest[event.symbol] = event
    assert {d.symbol: d for d in slow.depths} == newest
    assert slow.quotes == [[e for e in events if isinstance(e, Quote)][-1]]


async def test_a_strategy_that_keeps_up_sees_every_event_and_no_conflation(bench: Bench) -> None:
    strategy = Counts()
    runner = bench.add(strategy)
    await bench.start()
    events = market_session()[:3_000]

    await bench.feed(*events)

    assert strategy.depths == [e for e in events if isinstance(e, Depth)]
    assert strategy.quotes == [e for e in events if isinstance(e, Quote)]
    assert strategy.ticks == [e for e in events if isinstance(e, Tick)]
    assert runner.inbox.conflated == 0
