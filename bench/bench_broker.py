"""Paper broker throughput with the ledger on disk: orders/s, fills/s, the cost of a commit, and
the cost of a depth update that fills nothing (the market-data path, which never writes).

    python bench/bench_broker.py [--orders 2000] [--sync full|normal] [--dir DIR]

Prints one line per figure. Not a test: the figures depend on the machine and its disk.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from itick_bot.book import OrderBook
from itick_bot.broker import BrokerConfig, PaperBroker
from itick_bot.clock import ManualClock
from itick_bot.model import Depth, Fill


def _book(i: int) -> tuple[tuple[tuple[float, float], ...], tuple[tuple[float, float], ...]]:
    # Sizes change every update, so liquidity taken is refreshed and each market order walks
    # three levels.
    size = 0.010 + (i % 7) / 1000
    bids = tuple((64999.0 - k, size) for k in range(5))
    asks = tuple((65000.0 + k, size) for k in range(5))
    return bids, asks


def run(orders: int, sync: str, folder: Path) -> None:
    clock = ManualClock(1_700_000_000_000_000_000)
    config = BrokerConfig(
        balances={"USDT": 10**12, "BTC": 10**6},
        latency_ms=0,
        ledger_sync=sync,  # type: ignore[arg-type]
    )
    path = folder / f"bench-{sync}.sqlite"
    broker = PaperBroker(config, clock, path)
    book = OrderBook("BTCUSDT")

    def depth(i: int) -> Depth:
        bids, asks = _book(i)
        event = Depth("BTCUSDT", bids, asks, ts=clock.time_ms(), received_ns=clock.time_ns())
        book.apply(event)
        return event

    broker.on_depth(depth(0), book)

    # 1. Market orders, each walking three levels: submit (1 commit) + arrival (1 commit).
    fills = 0
    commits = broker.ledger_commits
    t0 = time.perf_counter()
    for i in range(orders):
        clock.set_ns(clock.time_ns() + 1_000_000)
        broker.on_depth(depth(i + 1), book)
        broker.submit("BTCUSDT", "buy" if i % 2 else "sell", "0.03")
        fills += sum(isinstance(u, Fill) for u in broker.advance())
    elapsed = time.perf_counter() - t0
    commits = broker.ledger_commits - commits
    print(
        f"sync={sync}: market orders walking 3 levels: {orders / elapsed:,.0f} orders/s, "
        f"{fills / elapsed:,.0f} fills/s ({fills} fills, {commits} commits, "
        f"{elapsed / commits * 1e6:,.0f} µs per call that commits)"
    )

    # 2. Resting limit orders that rest and are cancelled: two commits each, no fill.
    t0 = time.perf_counter()
    for _ in range(orders):
        order = broker.submit("BTCUSDT", "buy", "0.001", "60000")
        broker.advance()
        broker.cancel(order.id)
    elapsed = time.perf_counter() - t0
    print(
        f"sync={sync}: limit order submit + accept + cancel: {orders / elapsed:,.0f} orders/s "
        f"({elapsed / (3 * orders) * 1e6:,.0f} µs per call)"
    )

    # 3. The market-data path: depth updates and ticks with 100 resting orders, no fill.
    for k in range(100):
        broker.submit("BTCUSDT", "buy", "0.001", f"{64000 + k}")
    clock.set_ns(clock.time_ns() + 1_000_000)
    broker.advance()
    commits = broker.ledger_commits
    n = 20_000
    events = [depth(i) for i in range(64)]
    t0 = time.perf_counter()
    for i in range(n):
        broker.on_depth(events[i % 64], book)
    depth_s = (time.perf_counter() - t0) / n
    from itick_bot.model import Tick

    tick = Tick("BTCUSDT", 64999.0, 0.01, ts=0)
    t0 = time.perf_counter()
    for _ in range(n):
        broker.on_tick(tick)
    tick_s = (time.perf_counter() - t0) / n
    assert broker.ledger_commits == commits, "the market-data path wrote to the ledger"
    print(
        f"sync={sync}: on_depth with 100 resting orders, no fill: {depth_s * 1e6:.1f} µs "
        f"(0 commits); on_tick away from them: {tick_s * 1e6:.1f} µs"
    )
    broker.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--sync", choices=["full", "normal", "both"], default="both")
    parser.add_argument("--dir", type=Path, default=None, help="where the ledger goes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for sync in ["full", "normal"] if args.sync == "both" else [args.sync]:
            run(args.orders, sync, Path(folder))


if __name__ == "__main__":
    main()
