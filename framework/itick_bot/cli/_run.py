"""`itick-bot run`: strategies on the live feed (or the simulator) with the paper broker."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import anyio
import attrs
import msgspec

from .._logging import configure_logging
from ..app import RunResult, StopSignals, load_strategies, run_bot, strategy_specs
from ..config import AppConfig, load_config, resolve_feed
from ..errors import ConfigError

__all__ = ["register"]

_EPILOG = """\
examples:
  itick-bot run strategies/spread.py --config config/sim.toml --duration 30
        the spread market maker on the built-in simulator for 30 s, then the run report
  itick-bot run strategies/sma_cross.py --strategy SmaCross
        name the class when a file defines several
  itick-bot run momentum
        a strategy published by an installed plugin (see `itick-bot strategies`)
  ITICK_TOKEN=... itick-bot run strategies/spread.py --config config/live.toml
        the live iTick feed, still paper trading

exit status: 0 done or stopped (Ctrl-C, SIGTERM, --duration), 2 usage or configuration error,
3 key refused, 4 strategy could not be loaded or every strategy stopped on an error, 5 the engine
fell more than [feed] max_pending events behind the feed (after the report), 130 a second Ctrl-C
stopped it at once (no report), 1 other.
"""

EXIT_FELL_BEHIND = 5
"""The run stopped because the engine could not keep up with the feed; its report is printed."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run strategies on the feed with the paper broker",
        description="Connect, run the strategies with the paper broker, and print the run "
        "report when stopped (--duration, Ctrl-C or SIGTERM).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    add_strategy_arguments(parser)
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")
    parser.add_argument("--ledger", metavar="PATH", help="override [broker] ledger")
    parser.add_argument(
        "--record", metavar="FILE", help="record every frame, for `itick-bot backtest`"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=_handle)


def add_strategy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        metavar="PATH|NAME",
        help="a strategy file, or the name of an installed strategy (default: [strategy])",
    )
    parser.add_argument("--config", metavar="PATH", help="TOML config (default: look-up order)")
    parser.add_argument("--strategy", metavar="CLASS", help="the class, if the file has several")


def prepare(args: argparse.Namespace) -> tuple[AppConfig, list[Any]]:
    """Read the config and load the strategies (shared with `check`)."""
    config = load_config(args.config)
    try:
        resolve_feed(config.feed, os.environ)  # a live url with no key: say so before loading
    except ConfigError as exc:
        raise ConfigError(f"{config.source or 'the built-in defaults'}: {exc}") from None
    if getattr(args, "ledger", None):
        config = attrs.evolve(config, broker=attrs.evolve(config.broker, ledger=args.ledger))
    specs = strategy_specs(config, args.target, args.strategy)
    loaded = load_strategies(specs, str(config.source or "command line"))
    return config, loaded


def _handle(args: argparse.Namespace) -> int:
    # `main` installs these as the process starts; called any other way, from here on.
    stop: StopSignals | None = getattr(args, "stop_signals", None)
    if stop is None:
        with StopSignals() as stop:
            return _run(args, stop)
    return _run(args, stop)


def _run(args: argparse.Namespace, stop: StopSignals) -> int:
    config, loaded = prepare(args)
    configure_logging(config.log.level, config.log.format)
    if args.duration is not None and args.duration <= 0:
        raise ConfigError(f"--duration must be more than 0 seconds, not {args.duration}")
    result = anyio.run(
        lambda: run_bot(
            config,
            loaded,
            duration=args.duration,
            environ=os.environ,
            out=sys.stdout,
            record=Path(args.record) if args.record else None,
            stop=stop,
        )
    )
    _print_report(result, args.json)
    if result.stop.kind == "fell_behind":
        print(
            f"itick-bot run: error: {result.stop.reason}; the run was stopped rather than lose "
            f"events. Make the strategy faster, subscribe fewer symbols or types, or raise "
            f"[feed] max_pending",
            file=sys.stderr,
            flush=True,
        )
        return EXIT_FELL_BEHIND
    return 4 if result.all_failed else 0


def _print_report(result: RunResult, as_json: bool) -> None:
    from ..report import render_report

    if as_json:
        print(msgspec.json.encode(result.report).decode())
    else:
        print(render_report(result.report))
    sys.stdout.flush()
