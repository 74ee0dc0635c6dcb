"""The bar store: memory per stored bar, the resident memory of a large store in a fresh process,
and the cost of the calls on the market-data path.

    python bench/bench_bars.py [--symbols 500] [--history 1000] [--traced-symbols 50]

Prints one line per figure. Not a test: the figures depend on the machine.

- bytes per stored bar: `tracemalloc` (numpy reports its buffers to it) around a store whose
  series are all full, divided by the bars stored; every object of the store is counted.
- resident memory: a child process imports itick_bot, reads its RSS, fills `--symbols` x 3
  intervals x `--history` bars and reads it again (VmRSS and the peak VmHWM of /proc/self/status).
- per call: median of 7 batches, prebuilt events, the loop's own cost included (~20 ns).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).parent))

from _util import machine

from itick_bot.bars import BarStore
from itick_bot.model import Bar, Interval, Tick

INTERVALS: tuple[Interval, ...] = ("1m", "5m", "15m")
T0 = 1_731_660_000_000  # aligned on 15 minutes
E = TypeVar("E")
STEP = {"1m": 60_000, "5m": 300_000, "15m": 900_000}


def fill(symbols: int, history: int) -> BarStore:
    """A store of kline-fed series, each holding `history` closed bars and one forming bar."""
    store = BarStore(INTERVALS, history, kline_intervals=INTERVALS)
    on_kline = store.on_kline
    for s in range(symbols):
        symbol = f"SYM{s:04d}USDT"
        for interval in INTERVALS:
            step = STEP[interval]
            for i in range(history + 1):
                price = 100.0 + i % 50
                on_kline(
                    Bar(
                        symbol,
                        interval,
                        T0 + i * step,
                        price,
                        price + 1,
                        price - 1,
                        price,
                        1.5,
                        150.0,
                        "BA",
                    )
                )
    return store


def bytes_per_bar(symbols: int, history: int) -> tuple[float, int]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = fill(symbols, history)
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    stored = sum(
        len(store.series(f"SYM{s:04d}USDT", iv)) for s in range(symbols) for iv in INTERVALS
    )
    return used / stored, stored


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def rss_child(symbols: int, history: int) -> None:
    """Runs in a fresh interpreter: print RSS (MB) after imports, after filling, and the peak."""
    import itick_bot  # noqa: F401  (the framework as a bot loads it)

    base = _status_kb("VmRSS")
    start = time.perf_counter()
    store = fill(symbols, history)
    elapsed = time.perf_counter() - start
    gc.collect()
    print(
        base / 1024,
        _status_kb("VmRSS") / 1024,
        _status_kb("VmHWM") / 1024,
        elapsed,
        len(store.symbols),
    )


def per_item_us(call: Callable[[E], object], items: Sequence[E], repeat: int = 7) -> float:
    """Median µs per call of `call` over `repeat` passes over `items`."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        for item in items:
            call(item)
        times.append((time.perf_counter_ns() - start) / len(items) / 1000)
    return statistics.median(times)


def per_pass_us(
    make: Callable[[], tuple[Callable[[E], object], Sequence[E]]], repeat: int = 7
) -> float:
    """Like `per_item_us`, with a fresh store and events for each pass (for calls that close)."""
    times = []
    for _ in range(repeat):
        call, items = make()
        start = time.perf_counter_ns()
        for item in items:
            call(item)
        times.append((time.perf_counter_ns() - start) / len(items) / 1000)
    return statistics.median(times)


def hot_path(n: int) -> list[tuple[str, float]]:
    results: list[tuple[str, float]] = []
    same_bar = [
        Tick("BTCUSDT", 67_000.0 + i % 17, 0.01, T0 + 1 + i % 50_000, region="BA") for i in range(n)
    ]
    for label, intervals in [("1 interval", ("1m",)), ("3 intervals", INTERVALS)]:
        store = BarStore(intervals)
        store.on_tick(same_bar[0])
        results.append(
            (f"on_tick, same bar, {label} from ticks", per_item_us(store.on_tick, same_bar))
        )

    def closing_ticks() -> tuple[Callable[[Tick], object], Sequence[Tick]]:
        store = BarStore(INTERVALS, 1000)
        ticks = [
            Tick("BTCUSDT", 67_000.0, 0.01, T0 + i * 60_000, region="BA") for i in range(n // 10)
        ]
        return store.on_tick, ticks

    results.append(
        ("on_tick, every call closes a 1m bar (3 intervals)", per_pass_us(closing_ticks))
    )

    store = BarStore(INTERVALS, kline_intervals=INTERVALS)
    pushes = [Bar("BTCUSDT", "1m", T0, 1.0, 2.0, 0.5, 1.0 + i % 7, i, i, "BA") for i in range(n)]
    store.on_kline(pushes[0])
    results.append(("on_kline, update of the forming bar", per_item_us(store.on_kline, pushes)))

    def closing_klines() -> tuple[Callable[[Bar], object], Sequence[Bar]]:
        store = BarStore(INTERVALS, 1000, kline_intervals=INTERVALS)
        bars = [
            Bar("BTCUSDT", "1m", T0 + i * 60_000, 1.0, 2.0, 0.5, 1.5, 3.0, 4.0, "BA")
            for i in range(n // 10)
        ]
        return store.on_kline, bars

    results.append(("on_kline, every call closes a bar", per_pass_us(closing_klines)))

    big = fill(500, 10)
    big.advance(T0)
    clock = [T0 + 1 + i % 1000 for i in range(n)]
    results.append(("advance, 1,500 series, nothing due", per_item_us(big.advance, clock)))

    full = fill(1, 1000).series("SYM0000USDT", "1m")
    results.append(
        (
            "series.close (1,000 bars, a fresh array)",
            per_item_us(lambda _: full.close, range(n // 10)),
        )
    )
    results.append(
        ("series[-1] (a Bar built on demand)", per_item_us(lambda _: full[-1], range(n // 10)))
    )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--history", type=int, default=1000)
    parser.add_argument(
        "--traced-symbols",
        type=int,
        default=50,
        help="symbols for the tracemalloc figure (it slows the filling)",
    )
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()  # bench/run_all.py passes its arguments to every script
    if args.rss_child:
        rss_child(args.symbols, args.history)
        return 0

    print(f"# {machine()}; intervals {', '.join(INTERVALS)}, history {args.history}")
    per_bar, stored = bytes_per_bar(args.traced_symbols, args.history)
    print(f"bytes per stored bar (tracemalloc, {stored:,} bars, everything counted): {per_bar:.1f}")

    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--rss-child",
            "--symbols",
            str(args.symbols),
            "--history",
            str(args.history),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    base, rss, peak, elapsed, symbols = (float(x) for x in out.stdout.split())
    bars = int(symbols) * len(INTERVALS) * args.history
    print(f"RSS, fresh process, after importing itick_bot and numpy: {base:.1f} MB")
    print(
        f"RSS with {int(symbols)} symbols x {len(INTERVALS)} intervals x {args.history} bars "
        f"({bars:,} bars): {rss:.1f} MB (peak {peak:.1f} MB); store's share "
        f"{(rss - base) * 2**20 / bars:.1f} B/bar; filled in {elapsed:.1f} s"
    )

    for label, us in hot_path(args.calls):
        print(f"{label}: {us:.3f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
