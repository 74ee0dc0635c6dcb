"""The feed options `tail` and `record` share: where to connect and what to subscribe."""

from __future__ import annotations

import argparse
from typing import Any

import attrs

from ..config import AppConfig
from ..errors import ConfigError

__all__ = ["add_feed_arguments", "apply_feed_arguments"]


def add_feed_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", help="TOML config (default: look-up order)")
    parser.add_argument("--url", help='override [feed] url ("sim" = the built-in simulator)')
    parser.add_argument("--symbols", help="override [feed] symbols, comma-separated")
    parser.add_argument("--types", help="override [feed] types, e.g. quote,depth,tick,kline@1")
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long")


def apply_feed_arguments(config: AppConfig, args: argparse.Namespace) -> AppConfig:
    """`config` with `[feed]` changed as `--url`, `--symbols` and `--types` say."""
    changes: dict[str, Any] = {}
    if args.url:
        changes["url"] = args.url
    if args.symbols:
        changes["symbols"] = tuple(s.strip() for s in args.symbols.split(",") if s.strip())
    if args.types:
        changes["types"] = tuple(t.strip() for t in args.types.split(",") if t.strip())
    if not changes:
        return config
    try:
        return attrs.evolve(config, feed=attrs.evolve(config.feed, **changes))
    except ValueError as exc:
        raise ConfigError(f"command line: {exc}") from None
