"""Feed throughput over loopback: the simulator floods, two clients read, in the same run.

    python bench/bench_feed_throughput.py [--seconds 5] [--rounds 2]

The simulator runs in its own process with `--rate 0` (a pre-rendered cycle of frames, sent as
fast as each connection reads). Measured one after the other against that same server:

- raw: a minimal client of the `websockets` library that subscribes and counts messages;
- feed: itick-bot's `FeedClient` on each of its transports (`websockets`, the default, and
  `httpx-ws`), decoding every frame into events and handing them to an inbox drained by a no-op
  consumer (the whole feed, minus a strategy).

- bot: the whole bot in this process (`run_bot`: feed on `websockets` → engine with books, bars
  and the paper broker → a no-op strategy with every market hook, `bench/strategies/noop.py`).

Prints frames/s for each and the ratio to raw. Figures go to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import anyio
from websockets.asyncio.client import connect

sys.path.insert(0, str(Path(__file__).parent))
from _util import FLOOD, machine, simulator_process

from itick_bot.config import FeedConfig
from itick_bot.feed import EventInbox, FeedClient, make_transport

SUBSCRIBE = '{"ac":"subscribe","params":"BTCUSDT$BA,ETHUSDT$BA","types":"quote,depth,tick"}'


async def raw_client(url: str, seconds: float) -> float:
    count = 0
    async with connect(url, max_size=None, compression=None) as ws:
        await ws.recv()  # greeting
        await ws.recv()  # auth verdict
        await ws.send(SUBSCRIBE)
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            await ws.recv()
            count += 1
        return count / (time.perf_counter() - start)


async def feed_client(url: str, seconds: float, transport: str) -> tuple[float, dict[str, object]]:
    config = FeedConfig(symbols=("BTCUSDT", "ETHUSDT"), types=("quote", "depth", "tick"))
    inbox = EventInbox(10_000_000, name="bench", conflate_after=config.conflate_after)
    client = FeedClient(
        config, url=url, token=None, transport=make_transport(transport), inbox=inbox
    )
    consumed = 0

    async def consume() -> None:
        nonlocal consumed
        while await inbox.get() is not None:
            consumed += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(client.run)
        tg.start_soon(consume)
        while client.stats.connects == 0:  # noqa: ASYNC110 - a benchmark's start, not a test
            await anyio.sleep(0.01)
        start_frames, start = client.stats.frames_total, time.perf_counter()
        await anyio.sleep(seconds)
        frames, elapsed = client.stats.frames_total - start_frames, time.perf_counter() - start
        tg.cancel_scope.cancel()
    extra = {"conflated": inbox.conflated, "malformed": client.stats.malformed_total}
    return frames / elapsed, extra


async def whole_bot(url: str, seconds: float) -> tuple[float, dict[str, object]]:
    import io
    import tempfile

    from itick_bot.app import LoadedStrategy, run_bot
    from itick_bot.broker import BrokerConfig
    from itick_bot.config import AppConfig
    from itick_bot.plugins import load_strategy_file

    noop = load_strategy_file(Path(__file__).parent / "strategies" / "noop.py", "Noop")
    with tempfile.TemporaryDirectory() as folder:
        config = AppConfig(
            feed=FeedConfig(
                url=url, symbols=("BTCUSDT", "ETHUSDT"), types=("quote", "depth", "tick")
            ),
            broker=BrokerConfig(ledger=str(Path(folder) / "ledger.sqlite")),
        )
        result = await run_bot(
            config,
            [LoadedStrategy("noop", noop(), "bench")],
            duration=seconds,
            environ={},
            out=io.StringIO(),
        )
    report = result.report
    strategy = report["strategies"][0]
    extra = {
        "conflated_feed": report["feed"]["conflated"],
        "conflated_strategy": strategy["conflated"],
        "hooks": sum(strategy["events"].values()),
        "reconnects": report["feed"]["reconnects"],
    }
    return report["feed"]["frames_total"] / report["duration_s"], extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with simulator_process(*FLOOD) as url:
        print(f"feed throughput over loopback ({machine()}), {args.seconds:g} s per measurement")
        print(f"{'round':<6} {'client':<22} {'frames/s':>10} {'ratio to raw':>13}")
        for n in range(1, args.rounds + 1):
            raw = anyio.run(raw_client, url, args.seconds)
            print(f"{n:<6} {'raw websockets':<22} {raw:>10,.0f} {1.0:>13.2f}")
            for transport in ("websockets", "httpx-ws"):
                feed, extra = anyio.run(feed_client, url, args.seconds, transport)
                name = f"feed on {transport}"
                print(f"{n:<6} {name:<22} {feed:>10,.0f} {feed / raw:>13.2f}   {extra}")
            bot, extra = anyio.run(whole_bot, url, args.seconds)
            print(f"{n:<6} {'whole bot, no-op':<22} {bot:>10,.0f} {bot / raw:>13.2f}   {extra}")


if __name__ == "__main__":
    main()
