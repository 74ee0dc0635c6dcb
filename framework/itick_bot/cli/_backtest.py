"""`itick-bot backtest`: a strategy replayed on recordings, with the paper broker."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
import msgspec

from .._logging import configure_logging
from ..app import load_strategies, strategy_specs
from ..config import load_config
from ..errors import ConfigError

__all__ = ["register"]

_EPILOG = """\
examples:
  itick-bot backtest strategies/spread.py --data examples/recordings/sim-btc-eth.itrec.gz
        replay as fast as the machine allows; a fresh temporary ledger; the report
  itick-bot backtest strategies/sma_cross.py --data rec/ --from 2026-11-24T08:00:00 --plot eq.png
        a folder of rotated files, a time window, and the equity curve as a PNG
  itick-bot backtest momentum --data run.itrec.gz --speed 1 --fills-csv fills.csv --json
        a plugin strategy at real-time speed; fills as CSV; the report as JSON

Two runs on the same data give the same orders and fills, row for row.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="replay recordings through a strategy and the paper broker",
        description="Replay recorded frames through the same decoder, books, bars, engine, "
        "paper broker and strategy as a live run, on the recorded receive times.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    parser.add_argument("target", nargs="?", metavar="PATH|NAME", help="strategy file or name")
    parser.add_argument("--data", nargs="+", required=True, metavar="FILE", help="recordings")
    parser.add_argument("--config", metavar="PATH", help="TOML config (default: look-up order)")
    parser.add_argument("--strategy", metavar="CLASS", help="the class, if the file has several")
    parser.add_argument("--from", dest="from_", metavar="TIME", help="start (ISO UTC or epoch ms)")
    parser.add_argument("--to", metavar="TIME", help="end (ISO UTC or epoch ms)")
    parser.add_argument("--speed", type=float, help="1 = real time (default: as fast as possible)")
    parser.add_argument("--ledger", metavar="PATH", help="the fresh ledger to write")
    parser.add_argument("--fills-csv", metavar="PATH", help="write every fill as CSV")
    parser.add_argument("--plot", metavar="PATH", help="write the equity and drawdown PNG")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    from ..backtest import run_backtest
    from ..replay import parse_time
    from ..report import render_report, write_equity_png, write_fills_csv

    config = load_config(args.config)
    configure_logging(config.log.level, config.log.format)
    loaded = load_strategies(
        strategy_specs(config, args.target, args.strategy), str(config.source or "command line")
    )
    if args.speed is not None and args.speed <= 0:
        raise ConfigError(f"--speed must be more than 0, not {args.speed}")
    ledger = (
        Path(args.ledger)
        if args.ledger
        else Path(tempfile.mkdtemp(prefix="itick-bot-backtest-")) / "ledger.sqlite"
    )
    result = anyio.run(
        lambda: run_backtest(
            config,
            loaded,
            args.data,
            ledger=ledger,
            from_ns=parse_time(args.from_) if args.from_ else None,
            to_ns=parse_time(args.to) if args.to else None,
            speed=args.speed,
        )
    )
    if args.fills_csv:
        write_fills_csv(result.fills, Path(args.fills_csv))
    if args.plot:
        write_equity_png(
            result.equity,
            Path(args.plot),
            f"backtest of {', '.join(args.data)}",
            why_empty=result.report["performance"]["not_measured"],
        )
    if args.json:
        print(msgspec.json.encode(result.report).decode())
    else:
        print(render_report(result.report))
        print(f"ledger: {ledger}" + (f"; fills: {args.fills_csv}" if args.fills_csv else ""))
    sys.stdout.flush()
    return 4 if result.all_failed else 0
