"""`itick-bot check`: validate a config and its strategies without connecting."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..config import resolve_feed
from ..feed import public_url
from ..strategy import strategy_params
from ._run import add_strategy_arguments, prepare

__all__ = ["register"]

_EPILOG = """\
examples:
  itick-bot check --config config/sim.toml strategies/spread.py
  itick-bot check                      # ./itick-bot.toml or ./config/itick-bot.toml, [strategy]
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate a config and a strategy without connecting",
        description="Read the configuration, load every strategy and check its parameters; "
        "nothing connects. Exit status 0 when all is well, 2 for a configuration error, 4 for "
        "a strategy that cannot be loaded.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    add_strategy_arguments(parser)
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    config, loaded = prepare(args)
    url, _ = resolve_feed(config.feed, os.environ)
    where = "the built-in simulator" if url == "sim" else public_url(url)
    print(f"config: {config.source or 'built-in defaults'}")
    print(f"feed: {where}, {len(config.feed.symbols)} symbols, types {','.join(config.feed.types)}")
    if url != "sim":
        print(f"key: from {'[feed] token' if config.feed.token else config.feed.token_env}")
    print(f"ledger: {config.broker.ledger}")
    for item in loaded:
        params = {
            name: getattr(item.strategy, name) for name in strategy_params(type(item.strategy))
        }
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "no parameters"
        print(f"strategy {item.name}: {item.source}: {shown}")
    print("ok")
    return 0
