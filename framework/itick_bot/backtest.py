"""Backtests: a recording replayed through the same decoder, books, bars, engine, paper broker
and strategies as a live run, on a clock that is the recorded receive time.

Every record is applied in file order and every strategy then handles what it was given before
the next record (a strategy that keeps up, exactly as in a live run), so the same recording and
the same strategy give the same orders and fills, row for row, and a live paper run recorded with
`--record` backtests to the fills it made.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final, TextIO

import anyio
import attrs
import msgspec

from .app import LoadedStrategy, make_bar_store
from .config import AppConfig
from .errors import ConfigError
from .model import Bar, Depth, FeedStatus, Quote, Tick
from .protocol import Malformed, decode_frame

__all__ = ["BacktestResult", "run_backtest"]

_MARKET: Final = (Quote, Tick, Depth, Bar)
_KIND: Final = {Quote: "quote", Tick: "tick", Depth: "depth", Bar: "kline"}  # as the feed counts
_FEED_STATES: Final = frozenset({"connected", "stale", "reconnecting", "recovered", "stopped"})
_LEDGER_GROUP: Final = 256
"""Broker changes committed together in a backtest (a commit each costs ~50 µs)."""


@attrs.frozen
class BacktestResult:
    report: dict[str, Any]
    ledger: Path
    fills: list[Any]
    equity: list[Any]
    all_failed: bool


class _Progress:
    """A one-line progress display on a terminal (nothing otherwise)."""

    def __init__(self, out: TextIO | None) -> None:
        self._out = out if out is not None and out.isatty() else None
        self._next = 0.0

    def show(self, records: int, at_ns: int, first_ns: int, *, final: bool = False) -> None:
        if self._out is None:
            return
        now = time.monotonic()
        if not final and now < self._next:
            return
        self._next = now + 0.25
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at_ns / 1e9))
        span = (at_ns - first_ns) / 1e9
        self._out.write(f"\rbacktest: {records:,} records, {span:,.1f} s replayed, at {stamp} UTC")
        if final:
            self._out.write("\n")
        self._out.flush()


async def run_backtest(
    config: AppConfig,
    loaded: Sequence[LoadedStrategy],
    data: Sequence[str | Path],
    *,
    ledger: Path,
    from_ns: int | None = None,
    to_ns: int | None = None,
    speed: float | None = None,
    progress: TextIO | None = sys.stderr,
    logger: Callable[[str], Any] | None = None,
) -> BacktestResult:
    """Replay `data` through a fresh engine and paper broker; return the report."""
    from .broker import PaperBroker
    from .engine import Engine, EngineClock, MarketState
    from .replay import read_recording
    from .report import build_run_report

    if ledger.exists():  # noqa: ASYNC240 - one stat before anything starts
        raise ConfigError(
            f"ledger {ledger} already exists; a backtest writes a fresh one: choose another "
            f"path with --ledger, or delete it"
        )
    records = read_recording(data, from_ns=from_ns, to_ns=to_ns)
    clock = EngineClock(0)
    # A backtest's ledger can be made again by running it again: it need not survive a power
    # cut, and skipping the fsync of every commit halves the time of a busy backtest; committing
    # changes in groups (of 256) instead of one by one took the busy spread strategy's backtest
    # from 55,000 to 95,000 frames/s (bench/RESULTS.md).
    broker = PaperBroker(
        attrs.evolve(config.broker, ledger_sync="normal"), clock, ledger, ledger_group=_LEDGER_GROUP
    )
    frames: Counter[str] = Counter()
    malformed: Counter[str] = Counter()
    connects = reconnects = 0
    try:
        engine = Engine(
            market=MarketState(make_bar_store(config)),
            broker=broker,
            clock=clock,
            max_backlog=config.engine.max_backlog,
            logger=logger,
        )
        for item in loaded:
            # Each strategy is drained after every record: none is ever behind.
            engine.add(item.strategy, item.name).lockstep()
        runners = engine.runners
        shown = _Progress(progress)
        first_ns: int | None = None
        last_ns = 0
        count = 0
        wall_start = time.monotonic()
        max_frame = config.feed.max_frame_bytes
        for record in records:
            at = record.received_ns
            if first_ns is None:
                first_ns = at
                clock.set_ns(at)
                for runner in runners:
                    await runner.start(at)
            if speed:
                lag = (at - first_ns) / 1e9 / speed - (time.monotonic() - wall_start)
                if lag > 0:
                    await anyio.sleep(lag)
            # Every record replayed counts, whether or not the engine has anything to do with it
            # (a server reply, a binary frame, a connection event that is no feed state).
            last_ns = at
            count += 1
            shown.show(count, at, first_ns)
            kind = record.kind
            if kind == "F":
                event = decode_frame(record.payload, at, max_frame)
                if isinstance(event, _MARKET):
                    frames[_KIND[type(event)]] += 1
                    engine.process(event)
                elif isinstance(event, Malformed):
                    malformed[event.reason] += 1
                else:
                    frames["control"] += 1
                    continue
            elif kind == "T":
                engine.tick(at)
            elif kind == "B":
                malformed["binary_frame"] += 1
                continue
            elif kind == "C":
                state = _feed_state(record.payload)
                if state is None:
                    continue
                connects += state[0] == "connected" or state[0] == "recovered"
                reconnects += state[0] == "reconnecting"
                engine.process(FeedStatus(state[0], state[1], at // 1_000_000, at))
            for runner in runners:
                if not runner.drain_now():
                    await runner.drain()
            if engine.all_failed.is_set():
                break
        if first_ns is None:
            raise ConfigError(
                "the recording holds no records"
                + (" in the --from/--to window" if from_ns or to_ns else "")
                + f": {', '.join(map(str, data))}"
            )
        shown.show(count, last_ns, first_ns, final=True)
        for runner in runners:
            await runner.stop()
        stats = records.stats
        feed = {
            "frames": dict(sorted(frames.items())),
            "frames_total": sum(frames.values()),
            "malformed": dict(sorted(malformed.items())),
            "connects": connects,
            "reconnects": reconnects,
            "drops": {},
            "subscribe_refused": [],
            "conflated": 0,
            "records": count,
            "skipped": stats.skipped_summary(),
            "files": stats.files,
        }
        report = build_run_report(
            engine=engine,
            broker=broker,
            feed=feed,
            started_ns=first_ns,
            ended_ns=last_ns,
            target=f"recording {', '.join(map(str, data))}",
            sources={item.name: item.source for item in loaded},
        )
        report["replay"] = {
            "records": count,
            "wall_s": round(time.monotonic() - wall_start, 3),
            "records_per_s": round(count / max(time.monotonic() - wall_start, 1e-9), 1),
            "speed": speed,
        }
    finally:
        broker.close()
    return BacktestResult(
        report,
        ledger,
        list(engine.fills),
        list(engine.equity),
        all_failed=bool(engine.runners) and all(r.state == "failed" for r in engine.runners),
    )


def _feed_state(payload: str) -> tuple[Any, str] | None:
    try:
        detail = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return None
    if not isinstance(detail, dict):
        return None
    state = detail.get("event")
    if state not in _FEED_STATES:
        return None
    return state, str(detail.get("reason", ""))
