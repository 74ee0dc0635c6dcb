"""Orders from a strategy's hooks: sent at once, at the venue after the broker's latency in event
time, and their updates and fills delivered to the strategy that owns them only."""

from __future__ import annotations

import pytest

from itick_bot import Depth, Fill, Order, Strategy, Tick
from itick_bot.errors import ItickBotError

from ._support import T0_MS, Bench, depth, tick


class Orders(Strategy):
    """Records its order updates and fills with the time it saw them."""

    def on_start(self) -> None:
        self.sent: list[Order] = []
        self.updates: list[tuple[str, str, int]] = []
        self.fills: list[Fill] = []

    def on_order(self, order: Order) -> None:
        self.updates.append((order.id, order.status, self.now() - T0_MS))

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)


class BuysOnFirstDepth(Orders):
    """Sends one marketable limit buy from its first `on_depth`."""

    def on_depth(self, depth: Depth) -> None:
        if not self.sent:
            self.sent.append(self.buy(depth.symbol, "0.01", 101.0))


async def test_an_order_from_a_hook_is_submitted_at_once(bench: Bench) -> None:
    strategy = BuysOnFirstDepth()
    bench.add(strategy)
    await bench.start()

    await bench.feed(depth(0))

    [order] = strategy.sent
    assert order.status == "submitted"
    assert order.strategy == "BuysOnFirstDepth"
    assert order.created_ns == bench.engine.clock.time_ns()
    assert strategy.updates == []
    assert bench.broker.order(order.id) == order


async def test_an_order_reaches_the_venue_after_the_latency_in_event_time(bench: Bench) -> None:
    strategy = BuysOnFirstDepth()
    bench.add(strategy)
    await bench.start()
    await bench.feed(depth(0))
    [order] = strategy.sent

    await bench.feed(tick(49, price=100.5))  # 1 ms short of the 50 ms latency
    assert strategy.updates == []

    await bench.feed(tick(50, price=100.5))
    assert strategy.updates == [(order.id, "accepted", 50), (order.id, "filled", 50)]
    [fill] = strategy.fills
    assert (fill.order_id, fill.price, fill.qty, fill.liquidity) == (order.id, 101.0, 0.01, "taker")
    assert fill.fee == pytest.approx(101.0 * 0.01 * 10 / 10_000)


async def test_a_resting_order_fills_when_a_trade_goes_through_its_price(bench: Bench) -> None:
    class Bids(Orders):
        def on_depth(self, depth: Depth) -> None:
            if not self.sent:
                self.sent.append(self.buy(depth.symbol, 0.01, 99.0))

    strategy = Bids()
    bench.add(strategy)
    await bench.start()

    await bench.feed(depth(0), tick(60, price=100.0), tick(80, price=98.5))

    [order] = strategy.sent
    # Accepted when it reached the venue (50 ms), which the trade at 60 ms brought to light.
    assert strategy.updates == [(order.id, "accepted", 50), (order.id, "filled", 80)]
    assert [(f.price, f.liquidity) for f in strategy.fills] == [(99.0, "maker")]


async def test_order_updates_and_fills_reach_only_the_strategy_that_owns_them(
    bench: Bench,
) -> None:
    buyer, bystander = BuysOnFirstDepth(), Orders()
    bench.add(buyer)
    bystander_runner = bench.add(bystander)
    await bench.start()

    await bench.feed(depth(0), tick(60))

    assert [status for _, status, _ in buyer.updates] == ["accepted", "filled"]
    assert len(buyer.fills) == 1
    assert bystander.updates == []
    assert bystander.fills == []
    assert bystander_runner.tally.summary({})["fills"] == 0


async def test_a_strategy_sees_and_cancels_only_its_own_orders(bench: Bench) -> None:
    class Rests(Orders):
        def on_depth(self, depth: Depth) -> None:
            if not self.sent:
                self.sent.append(self.buy(depth.symbol, 0.01, 90.0))

    mine, theirs = Rests(), Rests()
    bench.add(mine, "mine")
    bench.add(theirs, "theirs")
    await bench.start()
    await bench.feed(depth(0), tick(60))

    assert [o.id for o in mine.open_orders()] == [mine.sent[0].id]
    with pytest.raises(ItickBotError, match="belongs to strategy 'theirs'"):
        mine.cancel(theirs.sent[0])
    [cancelled] = mine.cancel_all()
    await bench.drain()
    assert cancelled.status == "cancelled"
    assert mine.updates[-1][:2] == (cancelled.id, "cancelled")
    assert [o.status for o in theirs.open_orders()] == ["accepted"]


async def test_an_order_cancelled_on_its_way_never_reaches_the_venue(bench: Bench) -> None:
    class CancelsAtOnce(Orders):
        def on_depth(self, depth: Depth) -> None:
            if not self.sent:
                self.sent.append(self.buy(depth.symbol, 0.01, 101.0))
                self.cancel(self.sent[0])

        def on_tick(self, tick: Tick) -> None:
            pass

    strategy = CancelsAtOnce()
    bench.add(strategy)
    await bench.start()

    await bench.feed(depth(0), tick(100))

    assert [status for _, status, _ in strategy.updates] == ["cancelled"]
    assert strategy.fills == []


async def test_an_order_invalid_before_it_leaves_comes_back_rejected(bench: Bench) -> None:
    class TooBig(Orders):
        def on_depth(self, depth: Depth) -> None:
            if not self.sent:
                self.sent.append(self.buy(depth.symbol, 1_000, 101.0))

    strategy = TooBig()
    runner = bench.add(strategy)
    await bench.start()

    await bench.feed(depth(0), tick(100))

    [order] = strategy.sent
    assert order.status == "rejected"
    assert "insufficient balance" in order.reason
    assert runner.tally.summary({})["orders_by_final_status"] == {"rejected": 1}
