"""The `itick-bot` command line.

Each command lives in its own module with a `register(subparsers)` function that adds its parser
and sets `handler` to a function taking the parsed arguments and returning an exit status.
Errors of the project's own kinds are printed as one clear message, never as a traceback:
exit status 2 for usage and configuration errors, 3 for a refused key, 1 for anything else.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .. import __version__
from ..errors import AuthError, ConfigError, ItickBotError

__all__ = ["main"]

# One module per command, in the order `--help` lists them.
_COMMANDS = ("_tail", "_sim", "_ledger")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="itick-bot",
        description="Trading bots on iTick's real-time market data, with a live paper broker.",
    )
    parser.add_argument("--version", action="version", version=f"itick-bot {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def exit_status(exc: BaseException) -> int:
    if isinstance(exc, ConfigError):
        return 2
    if isinstance(exc, AuthError):
        return 3
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except ItickBotError as exc:
        print(f"itick-bot {args.command}: error: {exc}", file=sys.stderr)
        return exit_status(exc)
    except KeyboardInterrupt:
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
