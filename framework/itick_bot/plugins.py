"""Finding strategy classes: in a `.py` file given by path, or published by an installed
distribution in the entry-point group `itick_bot.strategies`.

Strategy files. `load_strategy_file("strategies/spread.py")` imports the file as the module
`itick_bot_strategies_<hash of its folder>.spread`, registered in `sys.modules` before its code
runs (so dataclasses, pickling and `typing.get_type_hints` work in it). The file's folder becomes
a package of its own, never an entry of `sys.path`: a strategy file shares code with the files
beside it through relative imports (`from ._common import clamp`), and two folders that both have
a `helpers.py` never collide. The file must define exactly one `Strategy` subclass (classes
imported into it and classes whose names start with `_` do not count), or the caller names one.

Entry points. A distribution publishes a strategy with

    [project.entry-points."itick_bot.strategies"]
    momentum = "itick_bot_example.momentum:Momentum"

`discover_strategies()` lists them, loading each so that a broken one is reported with its error
while the others still load; `load_entry_point(name)` loads one.

Every failure is a `StrategyLoadError` (a `ConfigError`) whose message names the file or the
distribution and says what to do; it never carries a bare traceback.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Final, TypeGuard

import attrs

from .errors import ConfigError
from .strategy import Strategy

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "StrategyFileInfo",
    "StrategyLoadError",
    "discover_strategies",
    "load_entry_point",
    "load_strategy_file",
    "resolve_strategy",
    "scan_strategy_folder",
    "strategy_module_name",
]

ENTRY_POINT_GROUP: Final = "itick_bot.strategies"
"""The entry-point group in which distributions publish strategy classes."""

_PACKAGE_PREFIX: Final = "itick_bot_strategies_"


class StrategyLoadError(ConfigError):
    """A strategy could not be found or imported (CLI exit status 4 for `run`)."""


@attrs.frozen
class PluginInfo:
    """One entry point of the group `itick_bot.strategies`, loaded or not."""

    name: str
    """The name users run it by: `itick-bot run NAME`."""
    value: str
    """Where it points, `module:attr`."""
    distribution: str
    version: str
    strategy: type[Strategy] | None = None
    """The class, when loading succeeded."""
    error: str | None = None
    """Why loading failed (None when it loaded)."""

    @property
    def source(self) -> str:
        """E.g. `momentum from itick-bot-example-plugin 0.1.0`."""
        return f"{self.name} from {self.distribution} {self.version}"


@attrs.frozen
class StrategyFileInfo:
    """A `.py` file of a strategy folder and the strategy classes it defines."""

    path: Path
    strategies: tuple[type[Strategy], ...] = ()
    error: str | None = None


# -- strategy files ------------------------------------------------------------------------------


def strategy_module_name(path: str | os.PathLike[str]) -> str:
    """The name under which `load_strategy_file` registers the file in `sys.modules`:
    `itick_bot_strategies_<8 hex digits of the resolved folder's hash>.<file stem>`."""
    resolved = Path(path).resolve()
    return f"{_package_name(resolved.parent)}.{resolved.stem}"


def load_strategy_file(
    path: str | os.PathLike[str], class_name: str | None = None
) -> type[Strategy]:
    """Import the strategy file at `path` (afresh on every call) and return its strategy class:
    the one `Strategy` subclass it defines, or the class named `class_name`."""
    shown = os.fspath(path)
    module = _import_file(Path(path), shown)
    if class_name is not None:
        return _named_class(module, class_name, shown)
    defined = _defined_strategies(module)
    if len(defined) == 1:
        return defined[0]
    if not defined:
        imported = sorted(
            name
            for name, obj in vars(module).items()
            if _is_strategy_class(obj) and not name.startswith("_")
        )
        hint = (
            f"; it only imports {', '.join(imported)}: to run an imported class name it "
            f"with `--strategy {imported[0]}`"
            if imported
            else ""
        )
        raise StrategyLoadError(
            f"{shown} defines no Strategy subclass; define one in it "
            f"(`class MyStrategy(Strategy): ...`){hint}"
        )
    names = ", ".join(cls.__name__ for cls in defined)
    raise StrategyLoadError(
        f"{shown} defines {len(defined)} Strategy subclasses ({names}); choose one with "
        f"`--strategy {defined[0].__name__}` (or prefix shared base classes with `_`)"
    )


def scan_strategy_folder(folder: str | os.PathLike[str]) -> list[StrategyFileInfo]:
    """Every `*.py` file of `folder` (not those starting with `_`, which are helpers), each
    imported with the strategy classes it defines or the error that importing it raised.
    An empty list when the folder does not exist."""
    root = Path(folder)
    if not root.is_dir():
        return []
    infos = []
    for file in sorted(root.glob("*.py")):
        if file.name.startswith("_"):
            continue
        try:
            module = _import_file(file, os.fspath(file))
        except StrategyLoadError as exc:
            infos.append(StrategyFileInfo(file, error=str(exc)))
        else:
            infos.append(StrategyFileInfo(file, tuple(_defined_strategies(module))))
    return infos


def _package_name(folder: Path) -> str:
    digest = hashlib.sha256(os.fsencode(folder)).hexdigest()[:8]
    return f"{_PACKAGE_PREFIX}{digest}"


def _folder_package(folder: Path) -> str:
    """Register (once) a package whose `__path__` is `folder`: the parent of its files'
    modules, so that relative imports between them work without touching `sys.path`."""
    name = _package_name(folder)
    existing = sys.modules.get(name)
    if existing is None or list(getattr(existing, "__path__", ())) != [str(folder)]:
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(folder)]
        package = importlib.util.module_from_spec(spec)
        package.__doc__ = f"The strategy files of {folder} (made by itick_bot.plugins)."
        sys.modules[name] = package
    return name


def _import_file(path: Path, shown: str) -> ModuleType:
    if not path.exists():
        raise StrategyLoadError(
            f"strategy file {shown} does not exist (looked in {Path.cwd()}); check the path, "
            f"or run `itick-bot strategies` to see the strategy files and installed strategies"
        )
    if path.is_dir():
        raise StrategyLoadError(
            f"{shown} is a folder, not a strategy file; name a .py file in it "
            f"(`itick-bot strategies` lists those of ./strategies)"
        )
    if path.suffix != ".py":
        raise StrategyLoadError(
            f"{shown} is not a Python file; a strategy file is a .py file defining a Strategy "
            f"subclass"
        )
    resolved = path.resolve()
    package = _folder_package(resolved.parent)
    name = f"{package}.{resolved.stem}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:  # pragma: no cover - only for exotic suffixes
        raise StrategyLoadError(f"{shown} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        raise StrategyLoadError(_describe_import_failure(exc, resolved, shown)) from None
    return module


def _is_strategy_class(obj: object) -> TypeGuard[type[Strategy]]:
    return isinstance(obj, type) and issubclass(obj, Strategy) and obj is not Strategy


def _defined_strategies(module: ModuleType) -> list[type[Strategy]]:
    """Strategy subclasses defined in `module` itself, public names only, in file order."""
    return [
        obj
        for name, obj in vars(module).items()
        if _is_strategy_class(obj)
        and obj.__module__ == module.__name__
        and obj.__name__ == name
        and not name.startswith("_")
    ]


def _named_class(module: ModuleType, class_name: str, shown: str) -> type[Strategy]:
    obj = getattr(module, class_name, None)
    if obj is None:
        defined = [cls.__name__ for cls in _defined_strategies(module)]
        has = (
            f"the Strategy subclasses it defines: {', '.join(defined)}"
            if defined
            else ("it defines no Strategy subclass")
        )
        raise StrategyLoadError(f"{shown} has no class {class_name!r}; {has}")
    if not _is_strategy_class(obj):
        what = "the Strategy base class itself" if obj is Strategy else _kind(obj)
        raise StrategyLoadError(
            f"{class_name} in {shown} is not a Strategy subclass (it is {what}); name a class "
            f"that subclasses itick_bot.Strategy"
        )
    return obj


def _kind(obj: object) -> str:
    if isinstance(obj, type):
        return f"the class {obj.__module__}.{obj.__qualname__}"
    if isinstance(obj, ModuleType):
        return "a module"
    if callable(obj):
        return "a function"
    return f"a {type(obj).__name__}"


# -- describing failures -------------------------------------------------------------------------


def _shown_path(filename: str) -> str:
    """`filename` relative to the current directory when it is inside it."""
    try:
        return os.fspath(Path(filename).resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return filename


def _same_file(filename: str | None, path: Path | None) -> bool:
    if filename is None or path is None:
        return False
    try:
        return Path(filename).resolve() == path
    except OSError:  # pragma: no cover - unresolvable names such as "<frozen ...>"
        return False


def _describe_import_failure(exc: BaseException, file: Path | None, shown: str) -> str:
    """One line: where `exc` arose while importing (`file`, shown as `shown`), what it was,
    and what to do. `file` is None for an entry point's module."""
    if isinstance(exc, SyntaxError):
        where = (
            shown
            if _same_file(exc.filename, file)
            else _shown_path(exc.filename or "<unknown file>")
        )
        line = f":{exc.lineno}" if exc.lineno else ""
        text = (exc.text or "").strip()
        code = f": `{text}`" if text else ""
        prefix = "" if where == shown else f"importing {shown}: "
        return f"{prefix}{where}{line}: syntax error: {exc.msg}{code}; fix the file"

    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith("<frozen") and Path(f.filename) != Path(__file__)
    ]
    inner = frames[-1] if frames else None
    own = next((f for f in reversed(frames) if _same_file(f.filename, file)), None)
    head = f"{shown}:{own.lineno}" if own is not None else shown
    what = _exception_text(exc)
    out = f"{head}: importing it raised {what}"
    if inner is not None and inner is not own:
        out += f" (raised at {_shown_path(inner.filename)}:{inner.lineno})"
    if isinstance(exc, ModuleNotFoundError) and exc.name and file is not None:
        top = exc.name.partition(".")[0]
        if (file.parent / f"{top}.py").exists() or (file.parent / top).is_dir():
            out += (
                f"; strategy files are imported without their folder on sys.path: import "
                f"the module beside it relatively (`from .{top} import ...`)"
            )
        else:
            out += f"; install {top!r} in the environment that runs itick-bot"
    else:
        out += "; fix the file" if file is not None else ""
    return out


def _exception_text(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()
    first = message[0] if message else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# -- entry points --------------------------------------------------------------------------------


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
        key=lambda ep: (ep.name, _dist_of(ep)[0]),
    )


def _dist_of(ep: importlib.metadata.EntryPoint) -> tuple[str, str]:
    dist = ep.dist
    if dist is None:  # pragma: no cover - entry points always come from a distribution here
        return "an unknown distribution", "?"
    return dist.metadata["Name"] or "an unnamed distribution", dist.version or "?"


def _load(ep: importlib.metadata.EntryPoint) -> type[Strategy]:
    dist, version = _dist_of(ep)
    origin = f"strategy {ep.name!r} ({ep.value}) from {dist} {version}"
    try:
        obj: object = importlib.import_module(ep.module)
    except (Exception, SystemExit) as exc:
        detail = _describe_import_failure(exc, None, ep.module)
        raise StrategyLoadError(
            f"{origin} failed to load: {detail}; reinstall or fix {dist}, or uninstall it"
        ) from None
    for attr in filter(None, (ep.attr or "").split(".")):
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            raise StrategyLoadError(
                f"{origin} failed to load: {ep.module} has no attribute {ep.attr!r}; "
                f"reinstall or fix {dist}, or uninstall it"
            ) from None
    if not _is_strategy_class(obj):
        what = "the Strategy base class itself" if obj is Strategy else _kind(obj)
        raise StrategyLoadError(
            f"{origin} is not a Strategy subclass (it is {what}); the entry point must name a "
            f"class that subclasses itick_bot.Strategy: ask the author of {dist} to fix it"
        )
    return obj


def discover_strategies() -> list[PluginInfo]:
    """Every entry point of the group `itick_bot.strategies`, sorted by name, each loaded:
    with its class, or with the error loading it raised (a broken one does not stop the
    others)."""
    infos = []
    for ep in _entry_points():
        dist, version = _dist_of(ep)
        try:
            cls = _load(ep)
        except StrategyLoadError as exc:
            infos.append(PluginInfo(ep.name, ep.value, dist, version, error=str(exc)))
        else:
            infos.append(PluginInfo(ep.name, ep.value, dist, version, strategy=cls))
    return infos


def load_entry_point(name: str) -> type[Strategy]:
    """The strategy class an installed distribution publishes under `name` (only that entry
    point is loaded)."""
    return _load_entry_point(name)[0]


def _load_entry_point(name: str) -> tuple[type[Strategy], str]:
    eps = _entry_points()
    matches = [ep for ep in eps if ep.name == name]
    if not matches:
        raise StrategyLoadError(_unknown_name(name, sorted({ep.name for ep in eps})))
    if len(matches) > 1:
        owners = ", ".join(f"{ep.value} from {' '.join(_dist_of(ep))}" for ep in matches)
        raise StrategyLoadError(
            f"the strategy name {name!r} is published by {len(matches)} installed "
            f"distributions ({owners}); uninstall all but one of them"
        )
    dist, version = _dist_of(matches[0])
    return _load(matches[0]), f"{name} from {dist} {version}"


def _unknown_name(name: str, installed: list[str]) -> str:
    listed = (
        f"the installed strategies are: {', '.join(installed)}"
        if installed
        else f"no strategies are installed (a package publishes one in the entry-point group "
        f"{ENTRY_POINT_GROUP})"
    )
    return (
        f"no installed strategy is named {name!r} and there is no file of that name; {listed}; "
        f"to run a strategy file give its path ending in .py"
    )


# -- either --------------------------------------------------------------------------------------


def _is_path(spec: str) -> bool:
    return (
        spec.endswith(".py")
        or "/" in spec
        or os.sep in spec
        or (os.altsep is not None and os.altsep in spec)
        or Path(spec).is_file()
    )


def resolve_strategy(spec: str, class_name: str | None = None) -> tuple[type[Strategy], str]:
    """The strategy class `spec` names, and a description of where it came from.

    `spec` is a path when it ends in `.py`, contains a path separator or is an existing file
    (then the description is the path as given), else the name of an installed strategy
    (then it is `NAME from DISTRIBUTION VERSION`). `class_name` picks a class in a file; with
    an entry-point name it must be the published class's name."""
    if _is_path(spec):
        return load_strategy_file(spec, class_name), spec
    cls, source = _load_entry_point(spec)
    if class_name is not None and class_name != cls.__name__:
        raise StrategyLoadError(
            f"--strategy {class_name} does not match the installed strategy {source}, which "
            f"is the class {cls.__name__}; --strategy picks a class in a strategy file, so "
            f"leave it out when running an installed strategy by name"
        )
    return cls, source
