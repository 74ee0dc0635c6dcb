"""Backtest throughput and the cost of recording on the live path.

    python bench/bench_backtest.py [--frames 1000000] [--seconds 3] [--rounds 2] [--keep PATH]

1. A recording of at least `--frames` frames, written with `Recorder` (as `itick-bot run
   --record` writes one) from the simulator's own market model and server-role rendering:
   BTCUSDT and ETHUSDT, quote/depth/tick/kline@1, a market update per symbol every 100 ms, the
   frames of a step spread over it, an idle tick between steps.
2. Over that file, in the same run: reading alone (`read_recording`), reading plus bare
   `decode_frame`, and `run_backtest` through the engine, the paper broker (a ledger on disk)
   and a strategy: `bench/strategies/noop.py` (`Noop`), `strategies/sma_cross.py` (the simple
   strategy: market orders on moving-average crosses of 1m bars) and `strategies/spread.py`
   quoting BTCUSDT (a busy market maker); records/s and frames/s, wall time. A backtest always
   writes its ledger with `ledger_sync = "normal"`, whatever the config says, and commits its
   changes in groups of 256.
3. `Recorder.frame`: µs per frame (the live path's share: format a line, append it; the writer
   thread compresses), over the same mixed frames.
4. A flooded loopback feed (`itick-bot sim --rate 0` in its own process) read by `FeedClient`
   on the default transport into a drained inbox, with and without a recorder, alternating.

Figures go to bench/RESULTS.md ("Backtest and recording").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).parent))
from _util import FLOOD, machine, simulator_process

from itick_bot._logging import configure_logging
from itick_bot.app import load_strategies, strategy_specs
from itick_bot.backtest import run_backtest
from itick_bot.config import FeedConfig, parse_config
from itick_bot.feed import EventInbox, FeedClient, make_transport
from itick_bot.protocol import decode_frame, render_auth_ok, render_connected
from itick_bot.record import Recorder
from itick_bot.replay import read_recording
from itick_bot.sim import SymbolMarket
from itick_bot.sim._render import FrameRenderer

REPO = Path(__file__).resolve().parents[1]
SYMBOLS = ("BTCUSDT", "ETHUSDT")
TYPES = frozenset({"quote", "depth", "tick", "kline@1"})
START_MS = 1_731_660_000_000
STEP_MS = 100


def market_frames(steps: int) -> Iterator[tuple[int, str | None]]:
    """`(received_ns, frame)` for `steps` market updates of every symbol; `frame` None marks
    the idle tick after each step."""
    markets = [SymbolMarket(s, 7, START_MS, volatility=1e-4) for s in SYMBOLS]
    renderers = [
        FrameRenderer(s, "BA", echo_region=True, kline_format="flat", symbol_style="canonical")
        for s in SYMBOLS
    ]
    step_ns = STEP_MS * 1_000_000
    for i in range(1, steps + 1):
        now_ms = START_MS + i * STEP_MS
        frames = []
        for market, renderer in zip(markets, renderers, strict=True):
            frames += renderer.render(market.step(now_ms), TYPES)
        base = now_ms * 1_000_000
        gap = step_ns // 2 // len(frames)  # the step's frames spread over its first half
        for n, (_, frame) in enumerate(frames):
            yield base + n * gap, frame
        yield base + step_ns // 2 + 1, None


def write_recording(path: Path, frames: int) -> tuple[int, float]:
    """Write a recording of at least `frames` frames; return (frames, seconds taken)."""
    start = time.perf_counter()
    at = START_MS * 1_000_000
    with Recorder(path, header_fields={"url": "ws://bench/crypto", "symbols": SYMBOLS}) as rec:
        rec.tick(at)
        rec.frame(at + 1000, render_connected())
        rec.frame(at + 2000, render_auth_ok())
        rec.event(at + 3000, "connected", reason="bench")
        for at, frame in market_frames(10**9):
            if frame is None:
                rec.tick(at)
                if rec.frames >= frames:
                    break
            else:
                rec.frame(at, frame)
        written = rec.frames
    return written, time.perf_counter() - start


def read_only(path: Path) -> tuple[int, float]:
    start = time.perf_counter()
    count = 0
    for _ in read_recording(path):
        count += 1
    return count, time.perf_counter() - start


def read_and_decode(path: Path) -> tuple[int, float]:
    start = time.perf_counter()
    count = 0
    for record in read_recording(path):
        if record.kind == "F":
            decode_frame(record.payload, record.received_ns)
            count += 1
    return count, time.perf_counter() - start


STRATEGIES = {
    "spread": {
        "path": str(REPO / "strategies" / "spread.py"),
        "params": {"symbol": "BTCUSDT", "edge_bps": 0.5, "requote_bps": 1.0},
    },
    "noop": {"path": str(REPO / "bench" / "strategies" / "noop.py"), "class_name": "Noop"},
    # The simple strategy: a few orders on moving-average crosses of 1m bars.
    "sma": {
        "path": str(REPO / "strategies" / "sma_cross.py"),
        "params": {"symbol": "BTCUSDT", "fast": 3, "slow": 8},
    },
}


def backtest(path: Path, folder: Path, name: str, sync: str) -> tuple[dict[str, Any], float]:
    config = parse_config(
        {
            "feed": {"url": "sim", "symbols": list(SYMBOLS), "types": sorted(TYPES)},
            "strategy": STRATEGIES[name],
            "broker": {
                "balances": {"USDT": 100000.0, "BTC": 1.0, "ETH": 10.0},
                "ledger_sync": sync,
            },
        },
        "bench",
    )
    loaded = load_strategies(strategy_specs(config, None), "bench")
    start = time.perf_counter()
    result = anyio.run(
        lambda: run_backtest(
            config, loaded, [path], ledger=folder / f"{name}-{sync}.sqlite", progress=None
        )
    )
    return result.report, time.perf_counter() - start


def recorder_frame_us(folder: Path, frames: list[str], number: int) -> float:
    """µs per `Recorder.frame` call, median of 5 batches, the writer thread running."""
    times = []
    for r in range(5):
        with Recorder(folder / f"micro{r}.itrec.gz") as rec:
            frame = rec.frame
            start = time.perf_counter_ns()
            at = START_MS * 1_000_000
            for i in range(number):
                frame(at + i, frames[i % len(frames)])
            times.append((time.perf_counter_ns() - start) / number / 1000)
    return statistics.median(times)


async def flood(url: str, seconds: float, record: Path | None) -> tuple[float, dict[str, object]]:
    config = FeedConfig(symbols=SYMBOLS, types=("quote", "depth", "tick"))
    inbox = EventInbox(10_000_000, name="bench", conflate_after=config.conflate_after)
    recorder = Recorder(record) if record is not None else None
    client = FeedClient(
        config, url=url, token=None, transport=make_transport("websockets"), inbox=inbox,
        recorder=recorder,
    )  # fmt: skip

    async def consume() -> None:
        while await inbox.get() is not None:
            pass

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.run)
            tg.start_soon(consume)
            if recorder is not None:
                tg.start_soon(recorder.run_flusher)
            while client.stats.connects == 0:  # noqa: ASYNC110 - a benchmark's start
                await anyio.sleep(0.01)
            first, start = client.stats.frames_total, time.perf_counter()
            await anyio.sleep(seconds)
            frames, elapsed = client.stats.frames_total - first, time.perf_counter() - start
            tg.cancel_scope.cancel()
    finally:
        if recorder is not None:
            recorder.close()
    extra: dict[str, object] = {"conflated": inbox.conflated}
    if recorder is not None:
        extra["MiB written"] = round(recorder.bytes_out / 2**20, 1)
    return frames / elapsed, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="per flood measurement")
    parser.add_argument("--rounds", type=int, default=2, help="flood rounds")
    parser.add_argument("--keep", metavar="PATH", help="write the recording here and keep it")
    args = parser.parse_args()
    configure_logging("warning")  # the strategy's info lines would be most of the time
    print(f"backtest and recording ({machine()})")
    with tempfile.TemporaryDirectory(prefix="bench-backtest-") as tmp:
        folder = Path(tmp)
        path = Path(args.keep) if args.keep else folder / "bench.itrec.gz"
        frames, took = write_recording(path, args.frames)
        size = path.stat().st_size
        print(
            f"recording: {frames:,} frames written in {took:.1f} s (market model, rendering and "
            f"Recorder), {size / 2**20:.1f} MiB, {size / frames:.1f} bytes/frame compressed"
        )
        records, t_read = read_only(path)
        print(f"read only:        {records:>10,} records  {records / t_read:>12,.0f} records/s")
        decoded, t_dec = read_and_decode(path)
        print(
            f"read + decode:    {decoded:>10,} frames   {decoded / t_dec:>12,.0f} frames/s "
            f"(decode_frame alone ~{(t_dec - t_read) / decoded * 1e6:.2f} µs/frame)"
        )
        for name, sync in (("noop", "normal"), ("sma", "normal"), ("spread", "normal")):
            report, t_bt = backtest(path, folder, name, sync)
            total, replayed = report["feed"]["frames_total"], report["feed"]["records"]
            [strategy] = report["strategies"]
            print(
                f"backtest {name:<6} {sync:<6} {total:>10,} frames {total / t_bt:>9,.0f} frames/s, "
                f"{replayed / t_bt:,.0f} records/s, {t_bt:.1f} s wall "
                f"({t_bt / total * 1e6:.2f} µs/frame); {strategy['orders']} orders, "
                f"{strategy['fills']} fills, events {strategy['events']}"
            )
        sample = [f for _, f in zip(range(4000), market_frames(500), strict=False) if f[1]]
        texts = [f for _, f in sample if isinstance(f, str)]
        us = recorder_frame_us(folder, texts, 200_000)
        mean = sum(map(len, texts)) / len(texts)
        print(f"Recorder.frame:   {us:.2f} µs/frame (mixed frames, mean {mean:.0f} chars)")
        with simulator_process(*FLOOD) as url:
            print(f"flooded loopback feed, {args.seconds:g} s each:")
            for n in range(1, args.rounds + 1):
                for label, record in (
                    ("without recorder", None),
                    ("with recorder", folder / f"flood{n}.itrec.gz"),
                ):
                    rate, extra = anyio.run(flood, url, args.seconds, record)
                    print(f"  round {n} {label:<17} {rate:>10,.0f} frames/s  {extra}")
        if args.keep:
            print(f"kept {path}")


if __name__ == "__main__":
    main()
