"""Shared pieces of the backtest tests: configs, the spread strategy, recordings written with
`Recorder` from the simulator's market model, and the ledger's rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Final

from itick_bot.app import LoadedStrategy, load_strategies, strategy_specs
from itick_bot.clock import ManualClock
from itick_bot.config import AppConfig, parse_config
from itick_bot.protocol import (
    render_auth_ok,
    render_connected,
    render_depth,
    render_kline,
    render_quote,
    render_subscribe_ok,
    render_tick,
)
from itick_bot.record import Recorder
from itick_bot.sim import SymbolMarket

REPO: Final = Path(__file__).resolve().parents[2]
SPREAD: Final = REPO / "strategies" / "spread.py"
SPREAD_PARAMS: Final[dict[str, Any]] = {
    # As config/sim.toml: quotes this close to the mid fill within a few seconds.
    "symbol": "BTCUSDT",
    "edge_bps": 0.5,
    "size": 0.001,
    "max_inventory": 0.005,
    "requote_bps": 1.0,
}
# Only assets the feed prices: an unpriced asset leaves the equity curve empty.
BALANCES: Final = {"USDT": 10000.0, "BTC": 0.1}
START_NS: Final = 1_795_000_000_000_000_000  # 2026-11-18, a whole second
STEP_MS: Final = 100


def make_config(
    ledger: Path,
    *,
    rate: float = 40.0,
    seed: int = 7,
    balances: dict[str, float] = BALANCES,
) -> AppConfig:
    """A config for the spread strategy on BTCUSDT, the simulator and a paper ledger."""
    return parse_config(
        {
            "feed": {
                "url": "sim",
                "symbols": ["BTCUSDT"],
                "types": ["quote", "depth", "tick", "kline@1"],
            },
            "sim": {"seed": seed, "rate": rate},
            "log": {"level": "warning"},
            "strategy": {"path": str(SPREAD), "params": dict(SPREAD_PARAMS)},
            "broker": {"ledger": str(ledger), "balances": dict(balances)},
        },
        "test",
    )


def spread(config: AppConfig) -> list[LoadedStrategy]:
    """A fresh instance of the strategy `config` names (one per run: strategies keep state)."""
    return load_strategies(strategy_specs(config, None), "test")


def write_recording(
    path: Path, *, steps: int = 600, seed: int = 3, start_ns: int = START_NS
) -> tuple[Path, Recorder]:
    """A recording of `steps` market updates of BTCUSDT, `STEP_MS` apart, as the live feed
    writes one: a start tick, the connection, then each update's frames (rendered by the
    protocol's server role) with an idle tick between updates. Returns the file and the closed
    recorder (for its counts)."""
    clock = ManualClock(start_ns)
    market = SymbolMarket("BTCUSDT", seed, start_ns // 1_000_000)
    recorder = Recorder(
        path, header_fields={"url": "ws://sim", "symbols": ["BTCUSDT"]}, clock=clock,
        threaded=False,
    )  # fmt: skip
    with recorder:
        at = start_ns
        recorder.tick(at)
        for frame in (render_connected(), render_auth_ok()):
            recorder.frame(at + 1000, frame)
        recorder.event(at + 2000, "connected", reason="")
        recorder.frame(at + 3000, render_subscribe_ok())
        recorder.event(at + 3000, "subscribed", symbols=["BTCUSDT"], types=["depth"])
        for step in range(1, steps + 1):
            now_ms = start_ns // 1_000_000 + step * STEP_MS
            update = market.step(now_ms)
            at = now_ms * 1_000_000 + 250_000  # received a quarter of a millisecond later
            frames = [
                render_tick("BTCUSDT", "", price=p, size=s, ts=update.ts) for p, s in update.trades
            ]
            frames.append(render_depth("BTCUSDT", "", bids=update.bids, asks=update.asks))
            frames.append(render_quote(
                "BTCUSDT", "", last=update.last, ts=update.ts, volume=update.volume24,
                turnover=update.turnover24,
            ))  # fmt: skip
            t, o, h, low, c, v, tu = update.bars[1]
            frames.append(render_kline(
                "BTCUSDT", "", period=1, open_time=t, open_=o, high=h, low=low, close=c,
                volume=v, turnover=tu,
            ))  # fmt: skip
            for i, frame in enumerate(frames):
                recorder.frame(at + i * 1000, frame)
            recorder.tick(at + STEP_MS * 500_000)  # idle half way to the next update
        clock.set_ns(at)
    return recorder.first_path, recorder


def ledger_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    """Every row of `table` in the ledger at `path`, in insertion order."""
    assert table in ("orders", "fills")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    finally:
        conn.close()
