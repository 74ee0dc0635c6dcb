"""The bundled strategies on the engine: they trade as their docstrings say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from itick_bot.plugins import load_strategy_file
from itick_bot.strategy import apply_params

from ._support import Bench, depth, feed_status, tick

STRATEGIES = Path(__file__).parents[2] / "strategies"


def spread(**params: Any) -> Any:
    strategy = load_strategy_file(STRATEGIES / "spread.py")()
    apply_params(strategy, params, "test")
    return strategy


async def test_spread_quotes_post_only_both_sides_around_the_mid(bench: Bench) -> None:
    bench.add(spread(edge_bps=10.0, size=0.001))
    await bench.start()

    await bench.feed(depth(0, bids=[(99.0, 1.0)], asks=[(101.0, 1.0)]), tick(60, price=100.0))

    quotes = sorted((o.side, o.price, o.post_only, o.status) for o in bench.broker.open_orders())
    assert quotes == [("buy", 99.9, True, "accepted"), ("sell", 100.1, True, "accepted")]


async def test_spread_is_filled_when_trades_go_through_its_quote(bench: Bench) -> None:
    runner = bench.add(spread(edge_bps=10.0, size=0.001))
    await bench.start()

    await bench.feed(depth(0, bids=[(99.0, 1.0)], asks=[(101.0, 1.0)]), tick(60, price=99.5))

    assert runner.tally.fills == 1
    assert bench.broker.position("BTCUSDT").qty == 0.001


async def test_spread_pulls_its_quotes_when_the_feed_goes_stale(bench: Bench) -> None:
    bench.add(spread(edge_bps=10.0))
    await bench.start()
    await bench.feed(depth(0, bids=[(99.0, 1.0)], asks=[(101.0, 1.0)]), tick(60, price=100.0))

    await bench.feed(feed_status(100, "stale", "quiet"))

    assert bench.broker.open_orders() == []
