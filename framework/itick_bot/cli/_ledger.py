"""`itick-bot ledger FILE`: a readable summary of a paper ledger, or JSON for machines."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ..broker import LedgerSummary, ledger_fills, read_ledger
from ..metrics import performance

__all__ = ["register"]

_EPILOG = """\
examples:
  itick-bot ledger paper.sqlite              # balances, positions, P&L, fees, orders, fills
  itick-bot ledger paper.sqlite --fills 50   # list the 50 newest fills
  itick-bot ledger paper.sqlite --json       # everything as one JSON object (exact decimals
                                             # as strings), e.g. for jq

The ledger is opened read-only, so it is safe to run while a bot trades on it. Realized P&L is
net of fees; unrealized P&L needs a live book and is in the run report, not here.
Exit status 2 when FILE is missing or is not an itick-bot ledger.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ledger",
        help="summarize a paper ledger",
        description="Summarize a paper ledger: balances, positions, P&L, fees, orders, fills.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    parser.add_argument("file", metavar="FILE", help="the ledger ([broker] ledger in the config)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--fills",
        type=_count,
        default=20,
        metavar="N",
        help="how many of the newest fills to list (default 20)",
    )
    parser.set_defaults(handler=_run)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def _run(args: argparse.Namespace) -> int:
    summary = read_ledger(args.file, recent=args.fills)
    # The round trips and win rate of a run's or a backtest's report, over the whole ledger
    # (a ledger keeps no equity curve, so no drawdown or exposure here).
    trades = performance(ledger_fills(args.file), [], no_curve="a ledger keeps no equity curve")
    if args.json:
        json.dump(summary.as_dict() | {"performance": trades}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(summary))
        win = "n/a" if trades["win_rate"] is None else f"{trades['win_rate'] * 100:.1f}%"
        sys.stdout.write(
            f"\nround trips: {trades['round_trips']} closed, {trades['open_trips']} open; "
            f"win rate {win}\n"
        )
    return 0


def _num(value: Decimal | None) -> str:
    if value is None:
        return "-"
    return format(value.normalize(), "f") if value else "0"


def _time(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = []
    for row in [headers, *rows]:
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  " + "  ".join(cells).rstrip())
    return lines


def render(s: LedgerSummary) -> str:
    """The summary as text for a terminal."""
    seeded = ", ".join(f"{a} {_num(v)}" for a, v in sorted(s.seeded.items()))
    out = [
        f"ledger {s.path}",
        f"  schema {s.schema_version}, created {_time(s.created_ns)}, seeded with {seeded}",
        "",
        "balances",
        *_table(
            ["asset", "total", "free", "reserved"],
            [
                [b["asset"], _num(b["total"]), _num(b["free"]), _num(b["reserved"])]
                for b in s.balances
            ],
        ),
        "",
    ]
    if s.positions:
        out += [
            "positions (realized P&L net of fees, in the quote asset)",
            *_table(
                ["symbol", "qty", "avg price", "realized P&L", "fees"],
                [
                    [
                        p["symbol"],
                        _num(p["qty"]),
                        _num(p["avg_price"]),
                        _num(p["realized_pnl"]),
                        _num(p["fees"]),
                    ]
                    for p in s.positions
                ],
            ),
            "",
        ]
    fees = ", ".join(f"{_num(v)} {a}" for a, v in s.fees.items()) or "none"
    by_status = ", ".join(f"{n} {status}" for status, n in s.orders_by_status.items())
    out += [
        f"fees paid: {fees}",
        f"orders: {s.order_count}" + (f" ({by_status})" if by_status else ""),
        f"fills: {s.fill_count}",
        "",
    ]
    if s.open_orders:
        out += [
            "open orders",
            *_table(
                ["id", "symbol", "side", "qty", "price", "tif", "status", "filled", "strategy"],
                [
                    [
                        o["id"],
                        o["symbol"],
                        o["side"],
                        _num(o["qty"]),
                        _num(o["price"]),
                        o["tif"],
                        o["status"],
                        _num(o["filled_qty"]),
                        o["strategy"] or "-",
                    ]
                    for o in s.open_orders
                ],
            ),
            "",
        ]
    if s.strategies:
        out += [
            "by strategy",
            *_table(
                ["strategy", "orders", "fills", "volume", "fees"],
                [
                    [
                        r["strategy"] or "-",
                        str(r["orders"]),
                        str(r["fills"]),
                        _num(r["volume"]),
                        _num(r["fees"]),
                    ]
                    for r in s.strategies
                ],
            ),
            "",
        ]
    if s.recent_fills:
        out += [
            f"fills (newest {len(s.recent_fills)} of {s.fill_count})",
            *_table(
                ["time", "order", "symbol", "side", "qty", "price", "fee", "liquidity", "strategy"],
                [
                    [
                        _time(f["ts"] * 1_000_000),
                        f["order_id"],
                        f["symbol"],
                        f["side"],
                        _num(f["qty"]),
                        _num(f["price"]),
                        f"{_num(f['fee'])} {f['fee_asset']}",
                        f["liquidity"],
                        f["strategy"] or "-",
                    ]
                    for f in s.recent_fills
                ],
            ),
            "",
        ]
    return "\n".join(out)
