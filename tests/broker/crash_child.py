"""Trades on a ledger and prints, line by line, everything the broker told it.

Run by tests/broker/test_crash.py, which kills it with SIGKILL at random points:

    python crash_child.py LEDGER SEED START_NS STEPS

Lines: `started seeded|resumed`, `order ID STATUS FILLED_QTY`, `fill ORDER_ID QTY PRICE`,
`done`. A line is printed only after the call that produced it returned, that is after the
ledger committed it.
"""

from __future__ import annotations

import random
import sys

from itick_bot.book import OrderBook
from itick_bot.broker import BrokerConfig, BrokerUpdate, PaperBroker
from itick_bot.clock import ManualClock
from itick_bot.model import Depth, Fill, Order, Tick


def say(updates: list[BrokerUpdate]) -> None:
    for u in updates:
        if isinstance(u, Fill):
            print(f"fill {u.order_id} {u.qty!r} {u.price!r}")
        elif isinstance(u, Order):
            print(f"order {u.id} {u.status} {u.filled_qty!r}")
    sys.stdout.flush()


def main(path: str, seed: int, start_ns: int, steps: int) -> None:
    rng = random.Random(seed)
    clock = ManualClock(start_ns)
    config = BrokerConfig(
        balances={"USDT": 1_000, "BTC": 1},
        latency_ms=20,
        overflow="partial",
        symbols={"BTCUSDT": {"tick_size": "0.01", "step_size": "0.001", "min_qty": "0.001"}},
    )
    broker = PaperBroker(config, clock, path)
    print(f"started {broker.started}", flush=True)
    book = OrderBook("BTCUSDT")
    mid = 10_000  # in cents
    for _ in range(steps):
        clock.advance(0.005)
        roll = rng.random()
        if roll < 0.35:
            mid += rng.randint(-3, 3)
            bids = tuple(((mid - 1 - i) / 100, rng.randint(1, 20) / 1000) for i in range(5))
            asks = tuple(((mid + 1 + i) / 100, rng.randint(1, 20) / 1000) for i in range(5))
            depth = Depth("BTCUSDT", bids, asks, ts=clock.time_ms(), received_ns=clock.time_ns())
            book.apply(depth)
            say(broker.on_depth(depth, book))
        elif roll < 0.55:
            price = (mid + rng.randint(-3, 3)) / 100
            say(broker.on_tick(Tick("BTCUSDT", price, rng.randint(1, 20) / 1000, clock.time_ms())))
        elif roll < 0.85:
            price = None if rng.random() < 0.3 else f"{(mid + rng.randint(-4, 4)) / 100:.2f}"
            order = broker.submit(
                "BTCUSDT",
                rng.choice(["buy", "sell"]),
                f"{rng.randint(1, 30) / 1000:.3f}",
                price,
                tif=rng.choice(["GTC", "GTC", "IOC", "FOK"]),
                strategy="crash",
            )
            say([order])
        elif roll < 0.92:
            open_orders = broker.open_orders()
            if open_orders:
                say([broker.cancel(rng.choice(open_orders).id)])
        else:
            say(broker.advance())
    broker.close()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
