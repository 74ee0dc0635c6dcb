"""The per-strategy tally behind the run report: orders, fills, fees, positions and P&L."""

from __future__ import annotations

from itick_bot import Depth, Fill, Order, Strategy, Tick
from itick_bot.engine._tally import StrategyTally
from itick_bot.model import OrderStatus, Side

from ._support import Bench, depth, tick


def fill(side: Side, qty: float, price: float, fee: float, symbol: str = "BTCUSDT") -> Fill:
    return Fill("P1", symbol, side, price, qty, fee, "USDT", "taker", ts=0)


def order(status: OrderStatus, id_: str = "P1") -> Order:
    return Order(id_, "BTCUSDT", "buy", 1.0, 100.0, status=status)


def test_a_worked_example_of_fills_gives_exact_positions_fees_and_pnl() -> None:
    tally = StrategyTally()
    for f in (
        fill("buy", 2.0, 100.0, 0.2),  # long 2 @ 100
        fill("buy", 2.0, 110.0, 0.22),  # long 4 @ 105
        fill("sell", 3.0, 120.0, 0.36),  # realizes 3 x 15 = 45; long 1 @ 105
        fill("sell", 2.0, 100.0, 0.2),  # realizes 1 x -5; flips to short 1 @ 100
        fill("buy", 1.0, 20.0, 0.02, symbol="ETHUSDT"),  # long 1 ETH @ 20
    ):
        tally.on_fill(f)

    summary = tally.summary({"BTCUSDT": 90.0})  # ETHUSDT has no mark

    assert summary["fills"] == 5
    assert summary["volume"] == 1_000.0  # 200 + 220 + 360 + 200 + 20
    assert summary["fees"] == {"USDT": 1.0}
    assert summary["positions"] == [
        {
            "symbol": "BTCUSDT",
            "qty": -1.0,
            "avg_price": 100.0,
            "realized_pnl": 39.02,  # 45 - 5 - 0.98 of fees
            "unrealized_pnl": 10.0,  # short 1 from 100, marked at 90
        },
        {
            "symbol": "ETHUSDT",
            "qty": 1.0,
            "avg_price": 20.0,
            "realized_pnl": -0.02,
            "unrealized_pnl": 0.0,
        },
    ]
    assert summary["realized_pnl"] == 39.0
    assert summary["unrealized_pnl"] == 10.0


def test_a_flat_position_has_no_average_price() -> None:
    tally = StrategyTally()
    tally.on_fill(fill("buy", 0.3, 100.0, 0.0))
    tally.on_fill(fill("sell", 0.1, 101.0, 0.0))
    tally.on_fill(fill("sell", 0.2, 102.0, 0.0))

    [position] = tally.summary({"BTCUSDT": 200.0})["positions"]

    assert position["qty"] == 0.0
    assert position["avg_price"] is None
    assert position["realized_pnl"] == 0.5
    assert position["unrealized_pnl"] == 0.0


def test_orders_are_counted_when_sent_and_by_how_they_ended() -> None:
    tally = StrategyTally()
    sent: list[tuple[str, OrderStatus]] = [
        ("A", "submitted"),
        ("B", "submitted"),
        ("C", "rejected"),
    ]
    changed: list[tuple[str, OrderStatus]] = [
        ("A", "accepted"), ("A", "partially_filled"), ("A", "filled"),
        ("B", "accepted"), ("B", "cancelled"),
    ]  # fmt: skip
    for id_, status in sent:
        tally.on_submit(order(status, id_))
    for id_, status in changed:
        tally.on_order(order(status, id_))

    summary = tally.summary({})

    assert summary["orders"] == 3
    assert summary["orders_by_final_status"] == {"cancelled": 1, "filled": 1, "rejected": 1}


def test_an_order_of_an_earlier_run_ending_now_is_not_counted_as_this_runs() -> None:
    tally = StrategyTally()
    tally.on_order(order("cancelled", "from-the-resumed-ledger"))
    assert tally.summary({})["orders_by_final_status"] == {}


async def test_the_tally_of_a_run_agrees_with_the_paper_account(bench: Bench) -> None:
    class RoundTrip(Strategy):
        def on_depth(self, depth: Depth) -> None:
            if depth.received_ns == depth_at_0.received_ns:
                self.buy("BTCUSDT", "0.03", 101.0)
            elif depth.received_ns == depth_at_100.received_ns:
                self.sell("BTCUSDT", "0.01", 104.0)

        def on_tick(self, tick: Tick) -> None:
            pass

    depth_at_0 = depth(0)
    depth_at_100 = depth(100, bids=[(104.0, 1.0)], asks=[(105.0, 1.0)])
    runner = bench.add(RoundTrip())
    await bench.start()

    await bench.feed(depth_at_0, tick(60), depth_at_100, tick(200))

    summary = runner.tally.summary(bench.market.marks())
    position = bench.broker.position("BTCUSDT")
    [row] = summary["positions"]
    assert summary["orders"] == 2
    assert summary["fills"] == 2
    assert row["qty"] == position.qty == 0.02
    assert row["realized_pnl"] == round(position.realized_pnl, 8)
    assert summary["fees"] == {"USDT": round(bench.broker.fees_paid()["USDT"], 10)}
    assert row["realized_pnl"] == round(0.01 * (104.0 - 101.0) - 0.00303 - 0.00104, 8)
