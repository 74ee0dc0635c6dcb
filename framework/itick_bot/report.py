"""The run report: what a run did, for people (text) and machines (a JSON-ready dict)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .broker import PaperBroker
    from .engine import Engine

__all__ = ["build_run_report", "render_report"]


def build_run_report(
    *,
    engine: Engine,
    broker: PaperBroker,
    feed: dict[str, Any],
    started_ns: int,
    ended_ns: int,
    target: str,
    sources: dict[str, str],
) -> dict[str, Any]:
    from .metrics import performance

    marks = engine.market.marks()
    engine.sample_equity(max(engine.clock.time_ns(), ended_ns if engine.equity else 0))
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
        "feed": feed,
        "engine": {
            "events": dict(sorted(engine.events.items())),
            "bad_snapshots": engine.bad_snapshots,
        },
        "strategies": strategies,
        "performance": performance(engine.fills, engine.equity),
        "account": {
            "ledger": broker.ledger_path,
            "ledger_start": broker.started,
            "balances": balances,
            "fees_paid": broker.fees_paid(),
            "open_orders": len(broker.open_orders()),
            "equity_usdt": round(engine.equity[-1].equity, 8) if engine.equity else None,
        },
    }


def _kv(items: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in items.items()) or "none"


def render_report(report: dict[str, Any]) -> str:
    """The report as text for a terminal."""
    feed = report["feed"]
    lines = [
        "",
        f"run report ({report['duration_s']:.1f} s, {report['connected_to']})",
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
        lines += [
            f"strategy {s['name']} ({s['source']}): {s['state']}"
            + (f" - {s['error']}" if s["error"] else ""),
            f"  events            {_kv(s['events'])}",
            f"  lag ms            p50 {lag['p50']}, p99 {lag['p99']}, max {lag['max']}; "
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
        f"  max drawdown      {perf['max_drawdown']:.4f} ({perf['max_drawdown_pct']:.3f}%); "
        f"exposure {perf['exposure_time_pct']:.1f}% of the time",
    ]
    account = report["account"]
    lines += [
        f"account ({account['ledger']}, {account['ledger_start']})",
        "  balances          "
        + ", ".join(
            f"{asset} {b['total']:g}" + (f" ({b['reserved']:g} reserved)" if b["reserved"] else "")
            for asset, b in account["balances"].items()
        ),
        f"  fees paid         {_kv(account['fees_paid'])}",
        f"  open orders       {account['open_orders']}",
        f"  equity            {account['equity_usdt']} USDT (marked at mid)",
    ]
    return "\n".join(lines)
