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
_COMMANDS = ("_run", "_check", "_backtest", "_strategies", "_tail", "_record", "_sim", "_ledger")


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
    from ..plugins import StrategyLoadError

    if isinstance(exc, StrategyLoadError):
        return 4
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
    except BaseException as exc:  # a bug: say so in one line, keep the traceback in a file
        if isinstance(exc, SystemExit):
            raise
        return _internal_error(args.command, exc)
    return status


def _internal_error(command: str, exc: BaseException) -> int:
    import tempfile
    import traceback

    with tempfile.NamedTemporaryFile(
        "w", prefix="itick-bot-crash-", suffix=".txt", delete=False
    ) as report:
        traceback.print_exception(exc, file=report)
    leaf = exc
    while isinstance(leaf, BaseExceptionGroup) and len(leaf.exceptions) == 1:
        leaf = leaf.exceptions[0]
    print(
        f"itick-bot {command}: internal error: {type(leaf).__name__}: {leaf}\n"
        f"This is a bug in itick-bot; the traceback is in {report.name}. Please report it.",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
