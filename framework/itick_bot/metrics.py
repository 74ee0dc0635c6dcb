"""Performance figures of a run or a backtest: round-trip trades, win rate, the equity curve,
drawdown and exposure. Pure functions of fills and equity samples (no I/O, no clock)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from .model import Fill

__all__ = ["EquityPoint", "RoundTrip", "performance", "round_trips"]


@attrs.frozen
class EquityPoint:
    """The account's equity (quote asset, marked at mid) at an event time, with the absolute
    size of the positions then (for exposure)."""

    ts_ns: int
    equity: float
    exposure: float = 0.0


@attrs.frozen
class RoundTrip:
    """A position in one symbol taken from flat and brought back to flat (or still open)."""

    symbol: str
    side: str
    """"long" or "short"."""
    opened_ns: int
    closed_ns: int | None
    pnl: float
    """Realized P&L of the trip, net of fees."""
    fills: int


def round_trips(fills: Iterable[Fill]) -> list[RoundTrip]:
    """Split fills into round trips per symbol (average-cost accounting, fees included)."""
    open_trips: dict[str, dict[str, Any]] = {}
    done: list[RoundTrip] = []
    for fill in fills:
        signed = fill.qty if fill.side == "buy" else -fill.qty
        trip = open_trips.get(fill.symbol)
        if trip is None:
            trip = open_trips[fill.symbol] = {
                "qty": 0.0, "avg": 0.0, "pnl": 0.0, "opened": fill.received_ns, "fills": 0,
                "side": "long" if signed > 0 else "short",
            }  # fmt: skip
        trip["fills"] += 1
        trip["pnl"] -= fill.fee
        qty = trip["qty"]
        if qty == 0.0 or (qty > 0) == (signed > 0):
            total = abs(qty) + abs(signed)
            trip["avg"] = (trip["avg"] * abs(qty) + fill.price * abs(signed)) / total
            trip["qty"] = qty + signed
            continue
        closed = min(abs(signed), abs(qty))
        trip["pnl"] += closed * (fill.price - trip["avg"]) * (1.0 if qty > 0 else -1.0)
        rest = qty + signed
        if abs(rest) > 1e-12 and (rest > 0) == (qty > 0):
            trip["qty"] = rest
            continue
        done.append(
            RoundTrip(fill.symbol, trip["side"], trip["opened"], fill.received_ns, trip["pnl"],
                      trip["fills"])
        )  # fmt: skip
        del open_trips[fill.symbol]
        if abs(rest) > 1e-12:  # flipped through flat: what is left opens a new trip here
            open_trips[fill.symbol] = {
                "qty": rest, "avg": fill.price, "pnl": 0.0, "opened": fill.received_ns,
                "fills": 1, "side": "long" if rest > 0 else "short",
            }  # fmt: skip
    for symbol, trip in open_trips.items():
        done.append(
            RoundTrip(symbol, trip["side"], trip["opened"], None, trip["pnl"], trip["fills"])
        )
    return done


def performance(
    fills: Sequence[Fill],
    curve: Sequence[EquityPoint],
    *,
    no_curve: str = "no equity was sampled (no prices seen)",
) -> dict[str, Any]:
    """Trades, win rate, max drawdown and exposure time, overall and per symbol.

    Drawdown and exposure need an equity curve. With none they are None, not 0 (which would
    read as a run that risked nothing), and `not_measured` says why: `no_curve`."""
    trips = round_trips(fills)
    closed = [t for t in trips if t.closed_ns is not None]
    wins = [t for t in closed if t.pnl > 0]
    per_symbol: dict[str, dict[str, Any]] = {}
    for fill in fills:
        row = per_symbol.setdefault(
            fill.symbol, {"fills": 0, "volume": 0.0, "fees": 0.0, "round_trips": 0, "pnl": 0.0}
        )
        row["fills"] += 1
        row["volume"] += fill.price * fill.qty
        row["fees"] += fill.fee
    for trip in closed:
        row = per_symbol[trip.symbol]
        row["round_trips"] += 1
        row["pnl"] += trip.pnl
    max_dd, max_dd_pct = _max_drawdown(curve) if curve else (None, None)
    return {
        "fills": len(fills),
        "round_trips": len(closed),
        "open_trips": len(trips) - len(closed),
        "win_rate": round(len(wins) / len(closed), 4) if closed else None,
        "max_drawdown": max_dd,
        "max_drawdown_pct": max_dd_pct,
        "exposure_time_pct": _exposure_pct(curve) if curve else None,
        "not_measured": None if curve else no_curve,
        "start_equity": curve[0].equity if curve else None,
        "end_equity": curve[-1].equity if curve else None,
        "per_symbol": {
            s: {k: round(v, 8) if isinstance(v, float) else v for k, v in row.items()}
            for s, row in sorted(per_symbol.items())
        },
    }


def _max_drawdown(curve: Sequence[EquityPoint]) -> tuple[float, float]:
    """The largest fall from a running peak of equity, absolute and in percent of that peak."""
    peak = float("-inf")
    max_dd = max_dd_pct = 0.0
    for point in curve:
        peak = max(peak, point.equity)
        drop = peak - point.equity
        if drop > max_dd:
            max_dd = drop
            max_dd_pct = drop / peak * 100 if peak > 0 else 0.0
    return round(max_dd, 8), round(max_dd_pct, 4)


def _exposure_pct(curve: Sequence[EquityPoint]) -> float:
    """The share of the curve's time spent holding a position (0 for a single point)."""
    exposed_ns = total_ns = 0
    for a, b in itertools.pairwise(curve):
        span = b.ts_ns - a.ts_ns
        total_ns += span
        if a.exposure > 0:
            exposed_ns += span
    return round(exposed_ns / total_ns * 100, 2) if total_ns else 0.0
