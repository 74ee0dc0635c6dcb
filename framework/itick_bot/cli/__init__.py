"""The `itick-bot` command line.

Each command lives in its own module with a `register(subparsers)` function that adds its parser
and sets `handler` to a function taking the parsed arguments and returning an exit status.
Errors of the project's own kinds are printed as one clear message, never as a traceback:
exit status 2 for usage and configuration errors, 3 for a refused key, 4 for a strategy that
cannot be loaded, 1 for anything else. `run` adds its own: 4 when every strategy failed, 5 when
the engine fell behind the feed, 130 when a second Ctrl-C stopped it at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .. import __version__
from ..errors import AuthError, ConfigError, ItickBotError

if TYPE_CHECKING:
    from ..app import StopSignals

__all__ = ["main"]

# One module per command, in the order `--help` lists them.
_COMMANDS = ("_run", "_check", "_backtest", "_strategies", "_tail", "_record", "_sim", "_ledger")
# Commands that end with their report however SIGINT or SIGTERM comes, from the start of the
# process: the signals are recorded for the command to honour (`app.StopSignals`).
_STOP_GRACEFULLY = frozenset({"run"})


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
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] and argv[0] in _STOP_GRACEFULLY:
        from ..app import StopSignals

        # Before the parser imports every command (a good part of the start-up time).
        with StopSignals() as stop:
            return _main(argv, stop)
    return _main(argv, None)


def _main(argv: list[str], stop: StopSignals | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.stop_signals = stop
    try:
        status: int = args.handler(args)
    except ItickBotError as exc:
        print(f"itick-bot {args.command}: error: {exc}", file=sys.stderr)
        return exit_status(exc)
    except BaseException as exc:
        if isinstance(exc, SystemExit):
            raise
        if not _interrupted(exc):
            return _internal_error(args.command, exc)  # a bug: one line, the traceback in a file
        if stop is not None and stop.forced:
            # A second Ctrl-C while `run` was stopping: at once, with no report, and the
            # shell's status for an interrupted command. Otherwise Ctrl-C is a way to finish.
            print(
                f"itick-bot {args.command}: stopped at once by a second Ctrl-C, without the "
                f"report (every fill is in the ledger)",
                file=sys.stderr,
            )
            return 130
        return 0
    return status


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C, however many task groups it came through."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(KeyboardInterrupt)[1] is None
    return isinstance(exc, KeyboardInterrupt)


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
