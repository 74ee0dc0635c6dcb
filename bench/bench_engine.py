"""The engine path against bare decoding of the same recorded frames, in the same run.

    python bench/bench_engine.py [--steps 12500] [--symbols 4] [--rounds 5] [--profile]

A recorded stream of realistic frames (the simulator's seeded market for `--symbols` symbols,
one market update every 100 ms of market time, each rendered as tick, depth 5x5, quote and
kline@1 frames by the server role of the protocol core) is built once, as text with a receive
stamp per frame. Then, round after round on the same frames:

- `orjson.loads` and untyped `msgspec.json.decode`: bare JSON parsing of every frame into dicts
  and lists (no types, no validation); the faster of the two is the "bare" floor of the ratios;
- msgspec's typed decode into a Struct (the first step of `decode_frame`, no event made): the
  floor of a typed decoder, shown for comparison (not a floor of the ratios);
- `decode_frame`: the project's typed decode alone (msgspec, symbol canonicalization, event);
- engine, no strategy: `decode_frame` then `Engine.process` (books, bars, the paper broker with
  no orders, equity sampling) with nobody to dispatch to;
- engine + no-op strategy: as above, plus dispatch to a strategy defining on_quote/on_tick/
  on_depth/on_bar whose inbox is drained after every event, exactly as a backtest does;
- engine + no-op, batched drain: the inbox drained every `--batch` frames (quotes and depth of a
  symbol then conflate, as they do live when a strategy falls behind: fewer hook calls).

Prints frames/s and µs per frame (median over the rounds), the ratios to the bare floor and
to `decode_frame`, the same per kind on streams of one kind only, and with `--profile` the top of a
`cProfile` of the engine path. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import msgspec
import orjson

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent / "strategies"))
from _util import machine
from noop import Noop

from itick_bot.bars import BarStore
from itick_bot.broker import BrokerConfig, PaperBroker
from itick_bot.engine import Engine, EngineClock, MarketState
from itick_bot.protocol import decode_frame
from itick_bot.protocol._fast import _decoder as _fast_decoder
from itick_bot.sim._render import flood_cycle

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT", "DOGEUSDT", "ADAUSDT", "EURUSD")
TYPES = frozenset({"quote", "depth", "tick", "kline@1"})
START_MS = 1_731_660_000_000
STEP_MS = 100


class Stream:
    """Recorded frames: text, receive stamp (ns) and kind, in arrival order."""

    def __init__(self, texts: list[str], stamps: list[int], kinds: list[str]) -> None:
        self.texts, self.stamps, self.kinds = texts, stamps, kinds

    def __len__(self) -> int:
        return len(self.texts)

    def only(self, kind: str) -> Stream:
        keep = [i for i, k in enumerate(self.kinds) if k == kind]
        return Stream(
            [self.texts[i] for i in keep], [self.stamps[i] for i in keep], [kind] * len(keep)
        )


def record(symbols: int, steps: int) -> Stream:
    """`steps` market updates of `symbols` symbols, rendered as the simulator sends them."""
    subs = {(sym, "BA"): TYPES for sym in SYMBOLS[:symbols]}
    frames = flood_cycle(
        subs, seed=7, start_ms=START_MS, steps=steps, step_ms=STEP_MS, volatility=1e-4,
        echo_region=True, kline_format="flat", symbol_style="canonical",
    )  # fmt: skip
    per_step = len(frames) / steps
    # Frames of one step arrive spread over its 100 ms, in order (the engine's clock only moves
    # forward, and bars close on it).
    step_ns = STEP_MS * 1_000_000
    stamps = [START_MS * 1_000_000 + round(i / per_step * step_ns) for i in range(len(frames))]
    kinds = ["kline" if k.startswith("kline") else k for k, _ in frames]
    return Stream([t for _, t in frames], stamps, kinds)


# -- what is measured ----------------------------------------------------------------------------


def _parse_all(loads: Callable[[str], Any], stream: Stream) -> int:
    """ns to parse every frame of `stream` with `loads`."""
    start = time.perf_counter_ns()
    for text in stream.texts:
        loads(text)
    return time.perf_counter_ns() - start


def run_orjson(stream: Stream) -> int:
    return _parse_all(orjson.loads, stream)


def run_msgspec(stream: Stream) -> int:
    return _parse_all(msgspec.json.Decoder().decode, stream)


def run_typed(stream: Stream) -> int:
    """msgspec's typed decode into a Struct: the decoder's own first step, no event made."""
    return _parse_all(_fast_decoder.decode, stream)


def run_decode(stream: Stream) -> int:
    decode = decode_frame
    start = time.perf_counter_ns()
    for text, at in zip(stream.texts, stream.stamps, strict=True):
        decode(text, at)
    return time.perf_counter_ns() - start


def make_engine(with_strategy: bool, *, lockstep: bool = True) -> tuple[Engine, PaperBroker]:
    clock = EngineClock(0)
    broker = PaperBroker(BrokerConfig(), clock, ":memory:")
    bars = BarStore(("1m", "5m"), 1000, kline_intervals={"1m"})  # [bars] defaults, kline@1 fed
    engine = Engine(market=MarketState(bars), broker=broker, clock=clock)
    if with_strategy:
        runner = engine.add(Noop(), "noop")
        if lockstep:  # drained after every event, as a backtest and a single live strategy are
            runner.lockstep()
    return engine, broker


async def _engine_loop(engine: Engine, stream: Stream, batch: int) -> int:
    """The backtest's loop (decode, process, drain), minus its recording reader."""
    decode, process, runners = decode_frame, engine.process, engine.runners
    for runner in runners:
        await runner.start(stream.stamps[0])
    start = time.perf_counter_ns()
    if batch <= 1:
        for text, at in zip(stream.texts, stream.stamps, strict=True):
            process(decode(text, at))
            for runner in runners:
                if not runner.drain_now():
                    await runner.drain()
    else:
        n = 0
        for text, at in zip(stream.texts, stream.stamps, strict=True):
            process(decode(text, at))
            n += 1
            if n == batch:
                n = 0
                for runner in runners:
                    await runner.drain()
        for runner in runners:
            await runner.drain()
    return time.perf_counter_ns() - start


def run_engine(stream: Stream, *, with_strategy: bool, batch: int = 1) -> tuple[int, Engine]:
    engine, broker = make_engine(with_strategy, lockstep=batch <= 1)
    try:
        elapsed = anyio.run(_engine_loop, engine, stream, batch)
    finally:
        broker.close()
    return elapsed, engine


# -- reporting -----------------------------------------------------------------------------------


def median_ns(fn: Callable[[], int], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        gc.collect()
        times.append(fn())
    return statistics.median(times)


def row(name: str, ns: float, n: int, floor_ns: float, decode_ns: float) -> str:
    us = ns / n / 1000
    over = (ns - decode_ns) / n / 1000
    return (
        f"{name:<34} {n / (ns / 1e9):>12,.0f} {us:>8.2f} {ns / floor_ns:>8.2f} "
        f"{ns / decode_ns:>9.2f} {over:>+11.2f}"
    )


HEADER = (
    f"{'path':<34} {'frames/s':>12} {'µs/frame':>8} {'÷ bare':>8} {'÷ decode':>9} "
    f"{'µs − decode':>11}"
)
STAGES = (
    ("decode_frame", "_fast.py", "decode_frame"),
    ("  msgspec typed decode", "~", "<method 'decode' of 'msgspec.json.Decoder' objects>"),
    ("  depth levels", "_fast.py", "_levels"),
    ("Engine.process", "_engine.py", "process"),
    ("  Engine._advance (clock, due orders, equity, bar deadlines)", "_engine.py", "_advance"),
    ("  OrderBook.apply (snapshot checks)", "book.py", "apply"),
    ("  PaperBroker.on_depth (no orders)", "_broker.py", "on_depth"),
    ("  PaperBroker.on_tick (no orders)", "_broker.py", "on_tick"),
    ("  BarStore.on_tick", "_store.py", "on_tick"),
    ("  BarStore.on_kline", "_store.py", "on_kline"),
    ("  Engine._deliver (into the strategy's queue)", "_engine.py", "_deliver"),
    ("StrategyRunner.drain_now (queue out, hook called)", "_runner.py", "drain_now"),
)


def measure(stream: Stream, rounds: int, batch: int, *, full: bool) -> None:
    n = len(stream)
    times: dict[str, list[int]] = {}
    engine = batched = None

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        gc.collect()
        result = fn()
        elapsed, extra = result if isinstance(result, tuple) else (result, None)
        times.setdefault(name, []).append(elapsed)
        return extra

    # Interleaved rounds, so that a noisy moment hits every path alike.
    for _ in range(rounds):
        timed("orjson", lambda: run_orjson(stream))
        timed("msgspec", lambda: run_msgspec(stream))
        timed("typed", lambda: run_typed(stream))
        timed("decode", lambda: run_decode(stream))
        if full:
            timed("bare engine", lambda: run_engine(stream, with_strategy=False))
        engine = timed("engine", lambda: run_engine(stream, with_strategy=True))
        if full:
            batched = timed("batched", lambda: run_engine(stream, with_strategy=True, batch=batch))
    med = {name: statistics.median(t) for name, t in times.items()}
    floor, d = min(med["orjson"], med["msgspec"]), med["decode"]
    print(HEADER)
    print(row("orjson.loads", med["orjson"], n, floor, d))
    print(row("msgspec.json.decode (untyped)", med["msgspec"], n, floor, d))
    print(row("msgspec typed, into a Struct", med["typed"], n, floor, d))
    print(row("decode_frame (typed events)", d, n, floor, d))
    if full:
        print(row("engine, no strategy", med["bare engine"], n, floor, d))
    print(row("engine + no-op strategy", med["engine"], n, floor, d))
    if full:
        print(row(f"engine + no-op, drain every {batch}", med["batched"], n, floor, d))
    assert engine is not None
    runner = engine.runners[0]
    print(f"  per-event drain: hooks called {dict(sorted(runner.handled.items()))}")
    if full and batched is not None:
        r = batched.runners[0]
        print(
            f"  drain every {batch}: hooks called {dict(sorted(r.handled.items()))}, "
            f"conflated {r.inbox.conflated:,}"
        )
        print(
            f"  engine events {dict(sorted(engine.events.items()))}, "
            f"bad snapshots {engine.bad_snapshots}, equity samples {len(engine.equity)}"
        )


def profile(stream: Stream, top: int) -> None:
    engine, broker = make_engine(True)
    prof = cProfile.Profile()
    try:
        prof.enable()
        anyio.run(_engine_loop, engine, stream, 1)
        prof.disable()
    finally:
        broker.close()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    total = sum(v[2] for v in stats.stats.values())
    entries: list[tuple[float, float, int, str]] = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        where = f"{Path(file).name}:{line}({func})" if line else func
        entries.append((tt, ct, nc, where))
    entries.sort(reverse=True)
    print(f"\ncProfile: engine + no-op strategy, per-event drain, {len(stream):,} frames")
    print("(profiling inflates the cost of small Python calls; read the shares, not the times)")
    print(f"{'own time %':>10} {'cum %':>7} {'calls':>10}  function")
    for tt, ct, nc, where in entries[:top]:
        print(f"{tt / total * 100:>10.1f} {ct / total * 100:>7.1f} {nc:>10,}  {where}")
    print("cumulative share of each stage (the rest is the loop itself)")
    for label, file, func in STAGES:
        cum = sum(
            v[3] for (f, _, fn), v in stats.stats.items() if Path(f).name == file and fn == func
        )
        print(f"{cum / total * 100:>10.1f}%  {label}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=12_500, help="market updates per symbol")
    parser.add_argument("--symbols", type=int, default=4, choices=range(1, len(SYMBOLS) + 1))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64, help="frames per drain in the variant")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile top list")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    stream = record(args.symbols, args.steps)
    mix = Counter(stream.kinds)
    mean_len = sum(map(len, stream.texts)) / len(stream)
    span_s = (stream.stamps[-1] - stream.stamps[0]) / 1e9
    print(f"engine path against bare decoding ({machine()})")
    print(
        f"{len(stream):,} frames of {args.symbols} symbols, {span_s:,.0f} s of market time, "
        f"mean {mean_len:.0f} chars, built in {time.perf_counter() - start:.1f} s; "
        f"median of {args.rounds} interleaved rounds"
    )
    print("mix: " + ", ".join(f"{k} {v:,} ({v / len(stream):.0%})" for k, v in sorted(mix.items())))
    print("\nmixed stream")
    measure(stream, args.rounds, args.batch, full=True)
    for kind in ("quote", "depth", "tick", "kline"):
        only = stream.only(kind)
        print(f"\n{kind} frames only ({len(only):,})")
        measure(only, args.rounds, args.batch, full=False)
    if args.profile:
        profile(stream, args.top)


if __name__ == "__main__":
    main()
