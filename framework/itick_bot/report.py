"""The run report: what a run did, for people (text) and machines (a JSON-ready dict)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .errors import ConfigError
from .metrics import EquityPoint
from .model import Fill

if TYPE_CHECKING:
    from .broker import PaperBroker
    from .engine import Engine

__all__ = ["build_run_report", "render_report", "write_equity_png", "write_fills_csv"]


def build_run_report(
    *,
    engine: Engine,
    broker: PaperBroker,
    feed: dict[str, Any],
    started_ns: int,
    ended_ns: int,
    target: str,
    sources: dict[str, str],
    stopped: str | None = None,
    stop_reason: str | None = None,
) -> dict[str, Any]:
    """The report of a run or a backtest. `stopped` says what ended it for machines ("duration",
    "signal", "fell_behind", ...) and `stop_reason` for people; without them (a backtest) it
    ended with its data, or when every strategy had failed."""
    from .metrics import performance

    marks = engine.market.marks()
    engine.sample_equity(max(engine.clock.time_ns(), ended_ns if engine.equity else 0))
    if stopped is None:
        stopped, stop_reason = (
            ("strategies_failed", "every strategy stopped on an error")
            if engine.all_failed.is_set()
            else ("end_of_data", "the end of the data")
        )
    strategies = []
    for runner in engine.runners:
        strategies.append(
            {
                "name": runner.name,
                "source": sources.get(runner.name, ""),
                "state": runner.state,
                "error": runner.error,
                "events": dict(sorted(runner.handled.items())),
                "lag_ms": runner.lag_percentiles_ms(),
                "conflated": runner.inbox.conflated,
                "peak_backlog": runner.inbox.peak_pending,
                **runner.tally.summary(marks),
            }
        )
    balances = {
        asset: {"total": b.total, "free": b.free, "reserved": b.reserved}
        for asset, b in sorted(broker.balances().items())
    }
    return {
        "duration_s": round((ended_ns - started_ns) / 1e9, 3),
        "connected_to": target,
        "stopped": stopped,
        "stop_reason": stop_reason,
        "feed": feed,
        "engine": {
            "events": dict(sorted(engine.events.items())),
            "bad_snapshots": engine.bad_snapshots,
        },
        "strategies": strategies,
        "performance": performance(
            engine.fills, engine.equity, no_curve=_why_no_equity(broker, marks)
        ),
        "account": {
            "ledger": broker.ledger_path,
            "ledger_start": broker.started,
            "balances": balances,
            "fees_paid": broker.fees_paid(),
            "open_orders": len(broker.open_orders()),
            "equity_usdt": round(engine.equity[-1].equity, 8) if engine.equity else None,
        },
    }


_QUOTE: Final = "USDT"
"""The asset the account is marked in (`PaperBroker.equity`'s default)."""


def _why_no_equity(broker: PaperBroker, marks: dict[str, float]) -> str:
    """Why the account could not be marked (read when no equity was ever sampled): the assets it
    holds that have no price, and what to do about it."""
    missing = _unpriced(broker, marks)
    if not missing:
        return "no equity was sampled (no prices seen)"
    assets = ", ".join(asset for asset, _ in missing)
    symbols = ", ".join(symbol for _, symbol in missing)
    return (
        f"no price for {assets} held in the account (no {symbols} book or quote was seen): "
        f"subscribe (or record) {symbols}, or start a ledger without {assets} "
        f"([broker] balances)"
    )


def _unpriced(broker: PaperBroker, marks: dict[str, float]) -> list[tuple[str, str]]:
    """(asset, symbol) for each asset held whose symbol against USDT has no mark: what keeps
    `PaperBroker.equity` from marking the account (its `[broker] assets` look-up, mirrored)."""
    pairs = {pair: symbol for symbol, pair in broker.config.assets.items()}
    missing = []
    for asset, balance in broker.balances().items():
        if asset == _QUOTE or not balance.total:
            continue
        symbol = pairs.get((asset, _QUOTE), asset + _QUOTE)
        if symbol not in marks:
            missing.append((asset, symbol))
    return missing


def _kv(items: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in items.items()) or "none"


def render_report(report: dict[str, Any]) -> str:
    """The report as text for a terminal."""
    feed = report["feed"]
    lines = [
        "",
        f"run report ({report['duration_s']:.1f} s, {report['connected_to']})",
        f"stopped: {report['stop_reason']}",
        "feed",
        f"  frames            {feed['frames_total']} ({_kv(feed['frames'])})",
        f"  malformed         {_kv(feed['malformed'])}",
        f"  connects          {feed['connects']}, reconnects {feed['reconnects']}"
        + (f", drops: {_kv(feed['drops'])}" if feed["drops"] else ""),
        f"  conflated         {feed['conflated']} (engine inbox)",
    ]
    if feed["subscribe_refused"]:
        lines.append(f"  refused           {'; '.join(feed['subscribe_refused'])}")
    engine = report["engine"]
    lines.append(f"  bad snapshots     {engine['bad_snapshots']}")
    for s in report["strategies"]:
        lag = s["lag_ms"]
        lag_text = (
            f"p50 {lag['p50']}, p99 {lag['p99']}, max {lag['max']}"
            if lag["p50"] is not None
            else "not measured (a backtest has no wall clock)"
        )
        lines += [
            f"strategy {s['name']} ({s['source']}): {s['state']}"
            + (f" - {s['error']}" if s["error"] else ""),
            f"  events            {_kv(s['events'])}",
            f"  lag ms            {lag_text}; "
            f"conflated {s['conflated']}, peak backlog {s['peak_backlog']}",
            f"  orders            {s['orders']} ({_kv(s['orders_by_final_status'])})",
            f"  fills             {s['fills']}, volume {s['volume']:.2f}, fees {_kv(s['fees'])}",
        ]
        for p in s["positions"]:
            lines.append(
                f"  position          {p['symbol']} {p['qty']:g} @ {p['avg_price']}, "
                f"realized {p['realized_pnl']:.4f}, unrealized {p['unrealized_pnl']:.4f}"
            )
        lines.append(
            f"  P&L               realized {s['realized_pnl']:.4f}, "
            f"unrealized {s['unrealized_pnl']:.4f}"
        )
    perf = report["performance"]
    win = "n/a" if perf["win_rate"] is None else f"{perf['win_rate'] * 100:.1f}%"
    lines += [
        "performance",
        f"  round trips       {perf['round_trips']} closed, {perf['open_trips']} open; "
        f"win rate {win}",
        (
            f"  max drawdown      not measured, nor exposure: {perf['not_measured']}"
            if perf["max_drawdown"] is None
            else f"  max drawdown      {perf['max_drawdown']:.4f} "
            f"({perf['max_drawdown_pct']:.3f}%); "
            f"exposure {perf['exposure_time_pct']:.1f}% of the time"
        ),
    ]
    account = report["account"]
    equity = account["equity_usdt"]
    lines += [
        f"account ({account['ledger']}, {account['ledger_start']})",
        "  balances          "
        + ", ".join(
            f"{asset} {b['total']:g}" + (f" ({b['reserved']:g} reserved)" if b["reserved"] else "")
            for asset, b in account["balances"].items()
        ),
        f"  fees paid         {_kv(account['fees_paid'])}",
        f"  open orders       {account['open_orders']}",
        f"  equity            {equity} USDT (marked at mid)"
        if equity is not None
        else "  equity            not measured (see max drawdown)",
    ]
    return "\n".join(lines)


def write_fills_csv(fills: Sequence[Fill], path: Path) -> None:
    """Every fill as a CSV row (time in UTC and epoch ms, and the fill's fields)."""
    import csv

    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["time_utc", "ts_ms", "strategy", "order_id", "symbol", "side", "price", "qty",
             "fee", "fee_asset", "liquidity"]
        )  # fmt: skip
        for f in fills:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(f.ts / 1000))
            writer.writerow(
                [f"{stamp}.{f.ts % 1000:03d}Z", f.ts, f.strategy, f.order_id, f.symbol, f.side,
                 repr(f.price), repr(f.qty), repr(f.fee), f.fee_asset, f.liquidity]
            )  # fmt: skip


def write_equity_png(
    curve: Sequence[EquityPoint], path: Path, title: str, *, why_empty: str | None = None
) -> None:
    """The equity curve and its drawdown as a PNG (matplotlib, no display needed). An empty
    curve is an error saying why it is empty (`why_empty`: the report's `not_measured`)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(
            "the equity PNG needs matplotlib: pip install 'itick-bot[plot]'"
        ) from None
    from datetime import UTC, datetime

    if not curve:
        why = why_empty or "no equity was sampled (no prices seen)"
        raise ConfigError(f"no equity curve to plot: {why}")
    times = [datetime.fromtimestamp(p.ts_ns / 1e9, tz=UTC) for p in curve]
    equity = [p.equity for p in curve]
    peak = float("-inf")
    drawdown = []
    for value in equity:
        peak = max(peak, value)
        drawdown.append(value - peak)
    fig, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(10, 6), gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot(times, equity, color="tab:blue", linewidth=1.2)
    top.set_ylabel("equity (USDT, marked at mid)")
    top.set_title(title)
    top.grid(alpha=0.3)
    bottom.fill_between(times, drawdown, 0, color="tab:red", alpha=0.4)
    bottom.set_ylabel("drawdown")
    bottom.set_xlabel("time (UTC)")
    bottom.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
