"""Feed health reaches `on_feed` and stops orders on books known to be bad; closed bars reach
`on_bar` exactly once."""

from __future__ import annotations

from collections.abc import Callable

from itick_bot import Bar, Depth, FeedStatus, Order, Strategy, Tick

from ._support import T0_MS, Bench, clock_tick, depth, feed_status, kline, tick


class Watches(Strategy):
    """Records feed events and the book's health at each, and its order updates."""

    def on_start(self) -> None:
        self.feed: list[tuple[str, str, bool]] = []
        self.orders: list[Order] = []

    def on_feed(self, status: FeedStatus) -> None:
        self.feed.append((status.state, status.reason, self.book("BTCUSDT").reliable))

    def on_order(self, order: Order) -> None:
        self.orders.append(order)


async def test_a_stale_feed_reaches_on_feed_with_the_books_already_unreliable(
    bench: Bench,
) -> None:
    strategy = Watches()
    bench.add(strategy)
    await bench.start()

    await bench.feed(depth(0), feed_status(10, "stale", "no frame for 30 s"))

    assert strategy.feed == [("stale", "no frame for 30 s", False)]
    book = bench.market.book("BTCUSDT")
    assert book.unreliable_reason == "feed stale: no frame for 30 s"


async def test_reconnecting_marks_books_unreliable_and_recovered_leaves_them_so_until_a_snapshot(
    bench: Bench,
) -> None:
    strategy = Watches()
    bench.add(strategy)
    await bench.start()

    await bench.feed(
        depth(0),
        feed_status(10, "reconnecting", "connection dropped"),
        feed_status(20, "recovered", "resubscribed"),
    )

    assert strategy.feed == [
        ("reconnecting", "connection dropped", False),
        ("recovered", "resubscribed", False),
    ]
    await bench.feed(depth(30))
    assert bench.market.book("BTCUSDT").reliable


async def test_the_broker_refuses_orders_on_a_book_marked_unreliable(bench: Bench) -> None:
    class BuysWhenStale(Watches):
        def on_feed(self, status: FeedStatus) -> None:
            super().on_feed(status)
            self.sent = self.buy("BTCUSDT", 0.01, 101.0)

    strategy = BuysWhenStale()
    bench.add(strategy)
    await bench.start()

    await bench.feed(depth(0), feed_status(10, "stale", "quiet"), clock_tick(100))

    assert strategy.sent.status == "submitted"
    [rejected] = strategy.orders
    assert rejected.status == "rejected"
    assert "book unreliable (feed stale: quiet)" in rejected.reason
    assert bench.broker.balance("USDT").reserved == 0


async def test_orders_fill_again_once_a_good_snapshot_follows_the_recovery(
    bench: Bench,
) -> None:
    class BuysAfterRecovery(Watches):
        def on_depth(self, depth: Depth) -> None:
            if self.feed and not self.orders:
                self.sent = self.buy("BTCUSDT", 0.01, 101.0)

    strategy = BuysAfterRecovery()
    bench.add(strategy)
    await bench.start()

    await bench.feed(
        depth(0), feed_status(10, "stale"), feed_status(20, "recovered"), depth(30), tick(100)
    )

    assert [o.status for o in strategy.orders] == ["accepted", "filled"]


class BarsSeen(Strategy):
    def on_start(self) -> None:
        self.bars_seen: list[Bar] = []

    def on_bar(self, bar: Bar) -> None:
        self.bars_seen.append(bar)
        newest = self.bars(bar.symbol, bar.interval)[-1]  # already in the series
        assert (newest.open_time, newest.close) == (bar.open_time, bar.close)


async def test_a_bar_built_from_trades_reaches_on_bar_once_when_it_closes(bench: Bench) -> None:
    strategy = BarsSeen()
    bench.add(strategy)
    await bench.start()

    await bench.feed(
        tick(1_000, price=100.0),
        tick(30_000, price=102.0),
        tick(59_000, price=101.0),
        tick(61_000, price=105.0),  # closes minute 0
        clock_tick(119_000),  # minute 1 still open
        clock_tick(120_000),  # closes minute 1 by the clock
        clock_tick(180_000),
        tick(181_000, price=99.0),
    )

    assert [(b.open_time - T0_MS, b.open, b.high, b.low, b.close) for b in strategy.bars_seen] == [
        (0, 100.0, 102.0, 100.0, 101.0),
        (60_000, 105.0, 105.0, 105.0, 105.0),
    ]


async def test_a_kline_bar_reaches_on_bar_once_with_its_last_push(
    make_bench: Callable[..., Bench],
) -> None:
    bench = make_bench(kline_intervals={"1m"})
    strategy = BarsSeen()
    bench.add(strategy)
    await bench.start()

    await bench.feed(
        kline(500, 0, close=100.0),
        kline(30_000, 0, close=101.0),
        kline(59_900, 0, close=102.0),
        kline(60_100, 60_000, close=103.0),  # a later open time closes minute 0
        kline(60_200, 60_000, close=104.0),
        clock_tick(121_000),  # minute 1 is closed by the clock
        kline(121_500, 60_000, close=999.0),  # late: ignored
    )

    assert [(b.open_time - T0_MS, b.close) for b in strategy.bars_seen] == [
        (0, 102.0),
        (60_000, 104.0),
    ]
    assert bench.market.bars.late_klines == 1


async def test_a_strategy_without_on_bar_still_reads_the_bars(bench: Bench) -> None:
    class ReadsBars(Strategy):
        def on_tick(self, tick: Tick) -> None:
            self.closed = len(self.bars(tick.symbol, "1m"))

    strategy = ReadsBars()
    runner = bench.add(strategy)
    await bench.start()

    await bench.feed(tick(1_000), tick(61_000))

    assert strategy.closed == 1
    assert Bar not in runner.wanted


async def test_a_trade_that_closes_a_bar_comes_after_the_bar_it_closed(bench: Bench) -> None:
    class Order_(Strategy):
        def on_start(self) -> None:
            self.seen: list[str] = []

        def on_tick(self, tick: Tick) -> None:
            self.seen.append(f"tick {tick.ts - T0_MS}")

        def on_bar(self, bar: Bar) -> None:
            self.seen.append(f"bar {bar.open_time - T0_MS}")

    strategy = Order_()
    bench.add(strategy)
    await bench.start()

    await bench.feed(tick(1_000, price=100.0), tick(61_000, price=105.0))

    assert strategy.seen == ["tick 1000", "bar 0", "tick 61000"]
