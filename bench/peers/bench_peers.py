"""itick-bot side by side with NautilusTrader and cryptofeed, on the same market data, in one run.

    bench/peers/.venv/bin/python bench/peers/bench_peers.py [--steps 12500] [--symbols 2]
        [--rounds 5] [--only itick,nautilus,cryptofeed]

(`python bench/peers/setup.py` creates that venv; see bench/peers/README.md.)

The market data is made once, by `bench/bench_engine.py`'s `record` (the simulator's seeded market
model rendered as iTick frames by the server role of the protocol core): `--steps` updates of
`--symbols` symbols, each a 5x5 depth frame and a quote frame. Our own `decode_frame` turns the
frames into events once, outside any timing, and every peer's input is built from those events,
so all three sides see the same updates in the same order:

- itick-bot: the iTick JSON text -> `decode_frame` -> `Engine.process` (book kept, bars, paper
  broker with no orders) -> a no-op strategy's inbox drained after every event
  (`bench_engine.run_engine`, the backtest's loop);
- NautilusTrader: pre-built `QuoteTick`s (best bid/ask of the depth of the same step: an iTick
  quote is a last-price quote, not a bid/ask one) and `OrderBookDepth10` (5 levels filled, the
  rest null) through a `BacktestEngine` (venue with an L2 book) with a no-op Python `Strategy`
  subscribed to quote ticks and to order book depth with a managed book; timed: `engine.run()`;
  the engine's set-up (venue, instruments, `add_data`, strategy) is timed apart;
- cryptofeed: Binance combined-stream raw JSON text (`bookTicker` for quotes, `depthUpdate` for
  depth: the 5 levels of each side set again and the levels that left the top 5 set to 0) through
  `Binance.message_handler` (JSON with Decimal, symbol normalization, its `OrderBook` kept,
  `book_callback` with the crossed-book check) to no-op async callbacks.

Prints events/s and µs/event (median over interleaved rounds) per side and kind, and the ratio of
each peer's time to ours. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from _util import machine  # noqa: E402
from bench_engine import Stream, record, run_engine  # noqa: E402

from itick_bot.protocol import decode_frame  # noqa: E402

KINDS = ("quote", "depth", "mixed")


# -- the same data, once -------------------------------------------------------------------------


class Data:
    """The quote and depth frames of the recorded stream, decoded once, in arrival order."""

    def __init__(self, symbols: int, steps: int) -> None:
        full = record(symbols, steps)
        keep = [i for i, k in enumerate(full.kinds) if k in ("quote", "depth")]
        self.mixed = Stream(
            [full.texts[i] for i in keep],
            [full.stamps[i] for i in keep],
            [full.kinds[i] for i in keep],
        )
        self.streams = {
            "quote": self.mixed.only("quote"),
            "depth": self.mixed.only("depth"),
            "mixed": self.mixed,
        }
        events = [
            decode_frame(t, a) for t, a in zip(self.mixed.texts, self.mixed.stamps, strict=True)
        ]
        # Each side gets per kind: (kind, symbol, stamp ns, best bid/ask or 5x5 levels).
        # A quote update is the top of the latest depth of its symbol (see the docstring).
        self.updates: list[tuple[str, str, int, Any]] = []
        top: dict[str, tuple[float, float, float, float]] = {}
        for ev, kind, at in zip(events, self.mixed.kinds, self.mixed.stamps, strict=True):
            if kind == "depth":
                bids, asks = ev.bids, ev.asks
                top[ev.symbol] = (bids[0][0], bids[0][1], asks[0][0], asks[0][1])
                self.updates.append(("depth", ev.symbol, at, (bids, asks)))
            elif ev.symbol in top:
                self.updates.append(("quote", ev.symbol, at, top[ev.symbol]))
            else:  # a quote before any depth of its symbol: its last price on both sides
                self.updates.append(("quote", ev.symbol, at, (ev.last, 1.0, ev.last, 1.0)))
        self.symbols = sorted({u[1] for u in self.updates})

    def of(self, kind: str) -> list[tuple[str, str, int, Any]]:
        return self.updates if kind == "mixed" else [u for u in self.updates if u[0] == kind]


# -- itick-bot -----------------------------------------------------------------------------------


def run_ours(data: Data, kind: str) -> tuple[int, str]:
    elapsed, engine = run_engine(data.streams[kind], with_strategy=True)
    handled = dict(sorted(engine.runners[0].handled.items()))
    return elapsed, f"hooks called {handled}"


# -- NautilusTrader ------------------------------------------------------------------------------


class Nautilus:
    """Pre-built Nautilus objects for the same updates (built once, outside the timing)."""

    def __init__(self, data: Data) -> None:
        from nautilus_trader.model.data import BookOrder, OrderBookDepth10, QuoteTick
        from nautilus_trader.model.enums import OrderSide, RecordFlag
        from nautilus_trader.test_kit.providers import TestInstrumentProvider

        makers = {
            "BTCUSDT": TestInstrumentProvider.btcusdt_binance,
            "ETHUSDT": TestInstrumentProvider.ethusdt_binance,
            "ADAUSDT": TestInstrumentProvider.adausdt_binance,
        }
        missing = [s for s in data.symbols if s not in makers]
        if missing:
            raise SystemExit(f"no Nautilus test instrument for {missing}: use --symbols 1 or 2")
        self.instruments = {s: makers[s]() for s in data.symbols}
        flags = RecordFlag.F_SNAPSHOT | RecordFlag.F_LAST
        self.objects: dict[str, list[Any]] = {}
        built: list[Any] = []
        for kind, sym, at, payload in data.updates:
            inst = self.instruments[sym]
            price, qty = inst.make_price, inst.make_qty
            if kind == "quote":
                bid, bid_size, ask, ask_size = payload
                built.append(
                    QuoteTick(inst.id, price(bid), price(ask), qty(bid_size), qty(ask_size), at, at)
                )
            else:
                bids, asks = payload
                built.append(
                    OrderBookDepth10(
                        inst.id,
                        [BookOrder(OrderSide.BUY, price(p), qty(v), 0) for p, v in bids],
                        [BookOrder(OrderSide.SELL, price(p), qty(v), 0) for p, v in asks],
                        [1] * len(bids),
                        [1] * len(asks),
                        flags,
                        0,
                        at,
                        at,
                    )
                )
        self.objects["mixed"] = built
        for k in ("quote", "depth"):
            cls = QuoteTick if k == "quote" else OrderBookDepth10
            self.objects[k] = [o for o in built if isinstance(o, cls)]

    def engine(self, kind: str, limit: int | None = None) -> tuple[Any, Any]:
        from nautilus_trader.backtest.config import BacktestEngineConfig
        from nautilus_trader.backtest.engine import BacktestEngine
        from nautilus_trader.common.config import LoggingConfig
        from nautilus_trader.model.currencies import BTC, ETH, USDT
        from nautilus_trader.model.data import OrderBookDepth10, QuoteTick
        from nautilus_trader.model.enums import AccountType, BookType, OmsType
        from nautilus_trader.model.identifiers import Venue
        from nautilus_trader.model.objects import Money

        engine = BacktestEngine(
            BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR", bypass_logging=True))
        )
        engine.add_venue(
            Venue("BINANCE"),
            oms_type=OmsType.NETTING,
            account_type=AccountType.CASH,
            starting_balances=[Money(1_000_000, USDT), Money(10, BTC), Money(100, ETH)],
            # L2 when depth is fed (the exchange then matches on a book of its own); Nautilus
            # refuses an L2 venue with no book data, so quotes alone get L1.
            book_type=BookType.L1_MBP if kind == "quote" else BookType.L2_MBP,
        )
        for inst in self.instruments.values():
            engine.add_instrument(inst)
        objs = self.objects[kind][:limit]
        for cls in (QuoteTick, OrderBookDepth10):
            part = [o for o in objs if isinstance(o, cls)]
            if part:
                engine.add_data(part, sort=False)
        engine.sort_data()
        strategy = noop_nautilus_strategy([i.id for i in self.instruments.values()], kind)
        engine.add_strategy(strategy)
        return engine, strategy


def noop_nautilus_strategy(instrument_ids: list[Any], kind: str) -> Any:
    from nautilus_trader.model.enums import BookType
    from nautilus_trader.trading.strategy import Strategy

    class NoopStrategy(Strategy):  # type: ignore[misc]
        """Subscribes to quote ticks and book depth (managed book); its handlers count only."""

        def __init__(self) -> None:
            super().__init__()
            self.quotes = 0
            self.depths = 0

        def on_start(self) -> None:
            for iid in instrument_ids:
                if kind != "depth":
                    self.subscribe_quote_ticks(iid)
                if kind != "quote":
                    self.subscribe_order_book_depth(iid, BookType.L2_MBP, depth=10, managed=True)

        def on_quote_tick(self, tick: Any) -> None:
            self.quotes += 1

        def on_order_book_depth(self, depth: Any) -> None:
            self.depths += 1

    return NoopStrategy()


FIXED_EVENTS = 20


def nautilus_fixed(nt: Nautilus, kind: str) -> int:
    """Wall time of `engine.run()` over the first FIXED_EVENTS events: its fixed cost (start,
    stop, end-of-run results), which the per-event figure includes once per run."""
    engine, _ = nt.engine(kind, FIXED_EVENTS)
    try:
        start = time.perf_counter_ns()
        engine.run()
        return time.perf_counter_ns() - start
    finally:
        engine.dispose()


def run_nautilus(nt: Nautilus, kind: str, setups: list[int]) -> tuple[int, str]:
    start = time.perf_counter_ns()
    engine, strategy = nt.engine(kind)
    setups.append(time.perf_counter_ns() - start)
    try:
        start = time.perf_counter_ns()
        engine.run()
        elapsed = time.perf_counter_ns() - start
        books = []
        for iid in (i.id for i in nt.instruments.values()):
            book = engine.cache.order_book(iid)
            if book is not None:
                books.append(f"{iid.symbol}: {book.best_bid_price()}/{book.best_ask_price()}")
        note = f"on_quote_tick {strategy.quotes:,}, on_order_book_depth {strategy.depths:,}"
        if books:
            note += f"; managed books at the end: {', '.join(books)}"
    finally:
        engine.dispose()
    return elapsed, note


# -- cryptofeed ----------------------------------------------------------------------------------


class Cryptofeed:
    """The same updates as Binance combined-stream raw text (built once, outside the timing)."""

    def __init__(self, data: Data) -> None:
        import orjson

        self.std = {s: f"{s[:-4]}-{s[-4:]}" for s in data.symbols}  # BTCUSDT -> BTC-USDT
        self.texts: dict[str, list[str]] = {k: [] for k in KINDS}
        seq: dict[str, int] = dict.fromkeys(data.symbols, 0)
        last: dict[str, tuple[set[float], set[float]]] = {}
        for kind, sym, at, payload in data.updates:
            ms = at // 1_000_000
            if kind == "quote":
                bid, bid_size, ask, ask_size = payload
                msg: dict[str, Any] = {
                    "stream": f"{sym.lower()}@bookTicker",
                    "data": {
                        "u": seq[sym] + 1, "s": sym, "b": f"{bid:.8f}", "B": f"{bid_size:.8f}",
                        "a": f"{ask:.8f}", "A": f"{ask_size:.8f}",
                    },
                }  # fmt: skip
            else:
                bids, asks = payload
                old_b, old_a = last.get(sym, (set(), set()))
                new_b, new_a = {p for p, _ in bids}, {p for p, _ in asks}
                b = [[f"{p:.8f}", f"{v:.8f}"] for p, v in bids]
                b += [[f"{p:.8f}", "0.00000000"] for p in sorted(old_b - new_b, reverse=True)]
                a = [[f"{p:.8f}", f"{v:.8f}"] for p, v in asks]
                a += [[f"{p:.8f}", "0.00000000"] for p in sorted(old_a - new_a)]
                last[sym] = (new_b, new_a)
                seq[sym] += 1  # depth updates of a symbol are consecutive: U = u = previous u + 1
                msg = {
                    "stream": f"{sym.lower()}@depth@100ms",
                    "data": {
                        "e": "depthUpdate", "E": ms, "s": sym, "U": seq[sym], "u": seq[sym],
                        "b": b, "a": a,
                    },
                }  # fmt: skip
            text = orjson.dumps(msg).decode()
            self.texts[kind].append(text)
            self.texts["mixed"].append(text)

    def feed(self) -> tuple[Any, dict[str, int]]:
        from cryptofeed.defines import BINANCE, L2_BOOK, TICKER
        from cryptofeed.exchanges import Binance
        from cryptofeed.symbols import Symbols
        from cryptofeed.types import OrderBook

        # The symbol table Binance's exchangeInfo would give, without the network.
        Symbols.set(BINANCE, {std: sym for sym, std in self.std.items()}, {})
        counts = {"ticker": 0, "book": 0}

        async def on_ticker(_obj: Any, _ts: float) -> None:
            counts["ticker"] += 1

        async def on_book(_obj: Any, _ts: float) -> None:
            counts["book"] += 1

        feed = Binance(
            symbols=list(self.std.values()),
            channels=[L2_BOOK, TICKER],
            callbacks={L2_BOOK: on_book, TICKER: on_ticker},
        )
        # The REST snapshot `_book` would fetch on the first update of a symbol: an empty book
        # at sequence 0 (the first depthUpdate, U = u = 1, then sets the top 5 levels).
        for std in self.std.values():
            feed._l2_book[std] = OrderBook(BINANCE, std, max_depth=0)
            feed.last_update_id[std] = 0

        async def no_network(pair: str) -> None:
            raise RuntimeError(f"cryptofeed asked for a REST snapshot of {pair}: sequence broken")

        feed._snapshot = no_network  # never on the network: a gap here is a bug of this harness
        return feed, counts


def run_cryptofeed(cf: Cryptofeed, kind: str) -> tuple[int, str]:
    feed, counts = cf.feed()
    texts = cf.texts[kind]

    async def loop() -> int:
        handler = feed.message_handler
        start = time.perf_counter_ns()
        for text in texts:
            await handler(text, None, 0.0)
        return time.perf_counter_ns() - start

    elapsed = asyncio.run(loop())
    books = []
    for std, book in feed._l2_book.items():
        if len(book.book.bids) and len(book.book.asks):
            books.append(f"{std}: {book.book.bids.index(0)[0]}/{book.book.asks.index(0)[0]}")
    note = f"ticker callbacks {counts['ticker']:,}, book callbacks {counts['book']:,}"
    if books:
        note += f"; books at the end: {', '.join(books)}"
    return elapsed, note


# -- reporting -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=12_500, help="market updates per symbol")
    parser.add_argument("--symbols", type=int, default=2, choices=(1, 2))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", default="itick,nautilus,cryptofeed")
    args = parser.parse_args()
    # Nautilus 1.231 calls pandas' deprecated Timestamp.utcnow at the end of each run.
    warnings.filterwarnings("ignore", message=".*utcnow is deprecated")
    sides = args.only.split(",")

    start = time.perf_counter()
    data = Data(args.symbols, args.steps)
    print(f"itick-bot against its peers ({machine()})")
    print(
        f"{len(data.streams['quote']):,} quote and {len(data.streams['depth']):,} depth 5x5 "
        f"updates of {', '.join(data.symbols)}, built in {time.perf_counter() - start:.1f} s"
    )
    versions = {}
    runners: dict[str, Callable[[str], tuple[int, str]]] = {}
    if "itick" in sides:
        runners["itick-bot"] = lambda kind: run_ours(data, kind)
    nt_setups: dict[str, list[int]] = {k: [] for k in KINDS}
    nt_fixed: dict[str, list[int]] = {k: [] for k in KINDS}
    failed: dict[str, str] = {}
    if "nautilus" in sides:
        try:
            import nautilus_trader

            versions["nautilus_trader"] = nautilus_trader.__version__
            t0 = time.perf_counter()
            nt = Nautilus(data)
            print(f"Nautilus objects built in {time.perf_counter() - t0:.1f} s (not timed below)")
            runners["NautilusTrader"] = lambda kind: run_nautilus(nt, kind, nt_setups[kind])
        except ImportError as exc:
            failed["NautilusTrader"] = repr(exc)
    if "cryptofeed" in sides:
        try:
            from importlib.metadata import version

            from cryptofeed import _json

            versions["cryptofeed"] = f"{version('cryptofeed')} (JSON: {_json.BACKEND})"
            cf = Cryptofeed(data)
            runners["cryptofeed"] = lambda kind: run_cryptofeed(cf, kind)
        except ImportError as exc:
            failed["cryptofeed"] = repr(exc)
    if versions:
        print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    for name, why in failed.items():
        print(f"NOT MEASURED: {name}: {why}")
    print(f"median of {args.rounds} interleaved rounds\n")

    times: dict[tuple[str, str], list[int]] = {}
    notes: dict[tuple[str, str], str] = {}
    for _ in range(args.rounds):
        for kind in KINDS:
            for name, fn in runners.items():
                gc.collect()
                elapsed, note = fn(kind)
                times.setdefault((name, kind), []).append(elapsed)
                notes[(name, kind)] = note
            if "NautilusTrader" in runners:
                nt_fixed[kind].append(nautilus_fixed(nt, kind))

    header = f"{'side':<16} {'events':<8} {'events/s':>12} {'µs/event':>9} {'÷ itick-bot':>12}"
    print(header)
    for kind in KINDS:
        n = len(data.streams[kind])
        ours = statistics.median(times[("itick-bot", kind)]) if "itick-bot" in runners else None
        for name in runners:
            ns = statistics.median(times[(name, kind)])
            ratio = f"{ns / ours:>12.2f}" if ours else f"{'-':>12}"
            print(f"{name:<16} {kind:<8} {n / (ns / 1e9):>12,.0f} {ns / n / 1000:>9.2f} {ratio}")
        print()
    for (name, kind), note in notes.items():
        print(f"  {name}, {kind}: {note}")
    if "NautilusTrader" in runners:
        print("\nNautilusTrader set-up per engine (venue, instruments, add_data, strategy; not in")
        print("the figures above): " + ", ".join(
            f"{k} {statistics.median(v) / 1e6:,.0f} ms" for k, v in nt_setups.items() if v
        ))  # fmt: skip
        print(f"NautilusTrader run() over {FIXED_EVENTS} events (its fixed cost, in the figures")
        print("above once per run), and the per-event cost without it:")
        for kind in KINDS:
            n, fixed = len(data.streams[kind]), statistics.median(nt_fixed[kind])
            us = (statistics.median(times[("NautilusTrader", kind)]) - fixed) / (n - FIXED_EVENTS)
            us /= 1000
            ratio = ""
            if "itick-bot" in runners:
                ours = statistics.median(times[("itick-bot", kind)]) / n / 1000
                ratio = f", {us / ours:.2f} x itick-bot"
            print(f"  {kind}: fixed {fixed / 1e6:,.1f} ms; without it {us:.2f} µs/event{ratio}")


if __name__ == "__main__":
    main()
