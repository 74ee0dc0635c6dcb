"""`itick-bot strategies`: the installed strategies and the strategy files of `./strategies`,
each with where it comes from, its parameters, or why it does not load."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from ..config import describe_type
from ..errors import ConfigError
from ..plugins import (
    ENTRY_POINT_GROUP,
    PluginInfo,
    StrategyFileInfo,
    discover_strategies,
    scan_strategy_folder,
)
from ..strategy import Strategy, strategy_params

__all__ = ["register"]

_EPILOG = f"""\
examples:
  itick-bot strategies                  # installed strategies and the files of ./strategies
  itick-bot strategies --dir bots       # the files of ./bots instead
  itick-bot strategies --json           # the same as one JSON object, e.g. for jq

Installed strategies are published by distributions in the entry-point group
{ENTRY_POINT_GROUP} (see examples/plugin) and run by name: `itick-bot run momentum`.
Strategy files are run by path: `itick-bot run strategies/spread.py`, with
`--strategy NAME` when a file defines several. Files whose names start with `_` are helpers
and are not listed. Listing imports every plugin and file, so their import-time code runs.
A strategy that fails to load is listed with its error; the exit status is still 0.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "strategies",
        help="list installed strategies and strategy files",
        description="List the installed strategies (entry points) and the strategy files of a "
        "folder, with their source and parameters, or the error that stops them loading.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--dir",
        default="strategies",
        metavar="FOLDER",
        help="the folder of strategy files to list (default ./strategies)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    installed = discover_strategies()
    files = scan_strategy_folder(args.dir)
    if args.json:
        json.dump(as_dict(installed, files, args.dir), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(installed, files, args.dir))
    return 0


def _params(cls: type[Strategy]) -> dict[str, dict[str, Any]] | str:
    """`{name: {"type", "default"}}`, or the error that reading them raised."""
    try:
        declared = strategy_params(cls)
    except ConfigError as exc:
        return str(exc)
    return {
        name: {"type": describe_type(tp), "default": default}
        for name, (tp, default) in declared.items()
    }


def _params_text(cls: type[Strategy]) -> str:
    params = _params(cls)
    if isinstance(params, str):
        return f"parameters: error: {params}"
    if not params:
        return "no parameters"
    return "parameters: " + ", ".join(f"{n}={p['default']!r}" for n, p in params.items())


def as_dict(
    installed: list[PluginInfo], files: list[StrategyFileInfo], folder: str
) -> dict[str, Any]:
    """The listing as plain JSON-ready values."""
    return {
        "entry_point_group": ENTRY_POINT_GROUP,
        "installed": [
            {
                "name": p.name,
                "value": p.value,
                "distribution": p.distribution,
                "version": p.version,
                "class": p.strategy.__name__ if p.strategy else None,
                "params": _params(p.strategy) if p.strategy else None,
                "error": p.error,
            }
            for p in installed
        ],
        "folder": folder,
        "files": [
            {
                "path": os.fspath(f.path),
                "strategies": [
                    {"class": cls.__name__, "params": _params(cls)} for cls in f.strategies
                ],
                "error": f.error,
            }
            for f in files
        ],
    }


def render(installed: list[PluginInfo], files: list[StrategyFileInfo], folder: str) -> str:
    """The listing as text for a terminal."""
    out: list[str] = []
    if installed:
        out.append(f"installed strategies (entry-point group {ENTRY_POINT_GROUP})")
        width = max(len(p.name) for p in installed)
        for p in installed:
            out.append(f"  {p.name.ljust(width)}  {p.value}  from {p.distribution} {p.version}")
            pad = " " * (width + 4)
            if p.strategy is not None:
                out.append(f"{pad}{_params_text(p.strategy)}")
            else:
                out.append(f"{pad}BROKEN: {p.error}")
        out.append("  run one with: itick-bot run NAME")
    else:
        out.append(
            f"no installed strategies: a distribution publishes one in the entry-point group "
            f"{ENTRY_POINT_GROUP} (see examples/plugin in the itick-bot repository)"
        )
    out.append("")
    if files:
        out.append(f"strategy files in {folder}")
        width = max(len(os.fspath(f.path)) for f in files)
        for f in files:
            shown = os.fspath(f.path).ljust(width)
            pad = " " * (width + 4)
            if f.error is not None:
                out.append(f"  {shown}  BROKEN: {f.error}")
            elif not f.strategies:
                out.append(f"  {shown}  no Strategy subclass (a helper? name it _{f.path.name})")
            elif len(f.strategies) == 1:
                out.append(f"  {shown}  {f.strategies[0].__name__}")
                out.append(f"{pad}{_params_text(f.strategies[0])}")
            else:
                names = ", ".join(cls.__name__ for cls in f.strategies)
                out.append(f"  {shown}  {names} (several: pick one with --strategy NAME)")
                out.extend(f"{pad}{cls.__name__}: {_params_text(cls)}" for cls in f.strategies)
        out.append("  run one with: itick-bot run PATH.py")
    elif os.path.isdir(folder):
        out.append(f"no strategy files in {folder} (files starting with _ are helpers)")
    else:
        out.append(
            f"no {folder} folder here: run a strategy file by its path (itick-bot run PATH.py)"
        )
    out.append("")
    return "\n".join(out)
