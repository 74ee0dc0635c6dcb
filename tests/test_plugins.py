"""Loading strategies: files by path, installed distributions by entry-point name, and the
`itick-bot strategies` listing."""

from __future__ import annotations

import importlib
import json
import pickle
import re
import sys
import tomllib
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from itick_bot import ConfigError, Order, Position, Tick
from itick_bot.cli import main
from itick_bot.model import Side, TimeInForce
from itick_bot.plugins import (
    ENTRY_POINT_GROUP,
    StrategyLoadError,
    discover_strategies,
    load_entry_point,
    load_strategy_file,
    resolve_strategy,
    scan_strategy_folder,
    strategy_module_name,
)
from itick_bot.strategy import Strategy, strategy_params

ROOT = Path(__file__).parent.parent
FILES = Path(__file__).parent / "data" / "strategies"
EXAMPLE = ROOT / "examples" / "plugin"

# Modules these tests create: strategy files' packages, the example plugin, the fake broken ones.
_OWN_MODULES = ("itick_bot_strategies_", "itick_bot_example", "itick_bot_test_")


@pytest.fixture(autouse=True)
def _forget_imported_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(ROOT)  # messages show paths relative to the current directory
    yield
    for name in [n for n in sys.modules if n.startswith(_OWN_MODULES)]:
        del sys.modules[name]


def _load(name: str, class_name: str | None = None) -> type[Strategy]:
    return load_strategy_file(FILES / name, class_name)


def _error(name: str | Path, class_name: str | None = None) -> str:
    with pytest.raises(StrategyLoadError) as info:
        load_strategy_file(name if isinstance(name, Path) else FILES / name, class_name)
    return str(info.value)


# -- strategy files ------------------------------------------------------------------------------


def test_a_file_with_one_strategy_loads_its_class() -> None:
    cls = _load("good.py")

    assert cls.__name__ == "Good"
    assert issubclass(cls, Strategy)
    assert strategy_params(cls) == {
        "symbol": (str, "BTCUSDT"),
        "threshold": (int, 3),
        "size": (float, 0.001),
    }


def test_the_module_is_registered_under_a_unique_name_before_it_runs() -> None:
    cls = _load("good.py")

    name = strategy_module_name(FILES / "good.py")
    assert cls.__module__ == name
    assert name.startswith("itick_bot_strategies_")
    assert name.endswith(".good")
    assert sys.modules[name].__file__ == str((FILES / "good.py").resolve())
    # String annotations, dataclasses and pickling all look the module up in sys.modules.
    assert typing.get_type_hints(cls)["threshold"] is int
    signal = sys.modules[name].Signal(1.5, 2.0)
    assert pickle.loads(pickle.dumps(signal)) == signal


def test_files_of_the_same_name_in_different_folders_do_not_collide(tmp_path: Path) -> None:
    for folder, value in (("a", 1), ("b", 2)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.py").write_text(
            f"from itick_bot import Strategy\n\n\n"
            f"class Same(Strategy):\n    value: int = {value}\n",
            encoding="utf-8",
        )

    first = load_strategy_file(tmp_path / "a" / "same.py")
    second = load_strategy_file(tmp_path / "b" / "same.py")

    assert first.__module__ != second.__module__
    assert strategy_params(first)["value"] == (int, 1)
    assert strategy_params(second)["value"] == (int, 2)


def test_loading_a_file_again_runs_its_current_code(tmp_path: Path) -> None:
    path = tmp_path / "edited.py"
    template = "from itick_bot import Strategy\n\n\nclass {}(Strategy):\n    pass\n"
    path.write_text(template.format("Before"), encoding="utf-8")
    assert load_strategy_file(path).__name__ == "Before"

    path.write_text(template.format("After"), encoding="utf-8")
    importlib.invalidate_caches()

    assert load_strategy_file(path).__name__ == "After"


def test_a_file_name_that_is_not_an_identifier_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "2-fast.py"
    path.write_text(
        "from itick_bot import Strategy\n\n\nclass Fast(Strategy):\n    pass\n",
        encoding="utf-8",
    )

    cls = load_strategy_file(path)

    assert cls.__name__ == "Fast"
    assert cls.__module__.endswith(".2-fast")
    assert pickle.loads(pickle.dumps(cls)) is cls


def test_loading_does_not_add_the_files_folder_to_sys_path() -> None:
    before = list(sys.path)

    _load("uses_helper.py")

    assert sys.path == before
    assert str(FILES) not in sys.path


def test_a_file_imports_a_helper_beside_it_relatively() -> None:
    cls = _load("uses_helper.py")

    assert cls.__name__ == "Clamped"
    assert cls().clamped_size() == 0.001  # type: ignore[attr-defined]
    assert strategy_module_name(FILES / "_helpers.py") in sys.modules


def test_an_absolute_import_of_a_helper_beside_it_says_to_import_it_relatively() -> None:
    message = _error("absolute_sibling.py")

    assert message.startswith(f"{FILES / 'absolute_sibling.py'}:3: importing it raised ")
    assert "ModuleNotFoundError: No module named '_helpers'" in message
    assert "`from ._helpers import ...`" in message


def test_the_class_name_picks_one_of_several_strategies() -> None:
    assert _load("two.py", "Beta").__name__ == "Beta"


def test_several_strategies_without_a_class_name_are_named_in_the_error() -> None:
    message = _error("two.py")

    assert "defines 2 Strategy subclasses (Alpha, Beta)" in message
    assert "--strategy Alpha" in message
    assert "_Base" not in message


def test_a_file_without_a_strategy_is_an_error() -> None:
    message = _error("none.py")

    assert "none.py defines no Strategy subclass" in message
    assert "class MyStrategy(Strategy)" in message


def test_a_strategy_only_imported_into_the_file_does_not_count() -> None:
    message = _error("imports_only.py")

    assert "imports_only.py defines no Strategy subclass" in message
    assert "it only imports Good" in message
    assert "--strategy Good" in message


def test_a_strategy_imported_into_the_file_can_be_named() -> None:
    assert _load("imports_only.py", "Good").__name__ == "Good"


def test_a_named_class_that_is_missing_lists_the_strategies_defined() -> None:
    message = _error("two.py", "Gamma")

    assert message.endswith(
        "two.py has no class 'Gamma'; the Strategy subclasses it defines: Alpha, Beta"
    )


@pytest.mark.parametrize(
    ("class_name", "what"),
    [
        ("NotAStrategy", "it is the class "),
        ("Signal", "it is the class "),
        ("THRESHOLD", "it is a int"),
        ("Strategy", "it is the Strategy base class itself"),
    ],
)
def test_a_named_object_that_is_not_a_strategy_subclass_is_an_error(
    class_name: str, what: str
) -> None:
    message = _error("good.py", class_name)

    assert f"{class_name} in " in message
    assert "is not a Strategy subclass" in message
    assert what in message


def test_a_missing_file_is_an_error_naming_it() -> None:
    message = _error("nope.py")

    assert "strategy file " in message
    assert "nope.py does not exist" in message


def test_a_file_that_is_not_python_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "spread.toml"
    path.write_text("[strategy]\n", encoding="utf-8")

    assert "spread.toml is not a Python file" in _error(path)


def test_a_folder_is_not_a_strategy_file() -> None:
    assert "is a folder, not a strategy file" in _error(FILES)


def test_a_syntax_error_names_the_file_the_line_and_its_text(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text(
        "from itick_bot import Strategy\n\n\nclass Broken(Strategy)\n    pass\n",
        encoding="utf-8",
    )

    message = _error(path)

    assert message.startswith(f"{path}:4: syntax error: ")
    assert "`class Broken(Strategy)`" in message
    assert message.endswith("fix the file")
    assert "Traceback" not in message


def test_an_exception_at_import_names_its_type_message_and_line() -> None:
    message = _error("raises.py")

    assert "raises.py:8: importing it raised RuntimeError: ITICK_BOT_TEST_NEVER_SET is not set" in (
        message
    )
    assert "Traceback" not in message
    assert strategy_module_name(FILES / "raises.py") not in sys.modules


def test_an_exception_raised_in_a_helper_names_both_places() -> None:
    message = _error("raises_in_helper.py")

    assert (
        "raises_in_helper.py:5: importing it raised LookupError: the helper's table is missing"
        in (message)
    )
    assert "(raised at tests/data/strategies/_failing.py:3)" in message


def test_overriding_init_is_reported_as_a_load_error() -> None:
    message = _error("overrides_init.py")

    assert "overrides_init.py:6: importing it raised StrategyError: strategy Eager overrides" in (
        message
    )


def test_load_errors_are_configuration_errors() -> None:
    assert issubclass(StrategyLoadError, ConfigError)


def test_scanning_a_folder_lists_each_files_strategies_or_error() -> None:
    infos = {info.path.name: info for info in scan_strategy_folder(FILES)}

    assert "_helpers.py" not in infos
    assert "_failing.py" not in infos
    assert [c.__name__ for c in infos["good.py"].strategies] == ["Good"]
    assert [c.__name__ for c in infos["two.py"].strategies] == ["Alpha", "Beta"]
    assert infos["none.py"].strategies == ()
    assert infos["none.py"].error is None
    assert infos["raises.py"].error is not None
    assert "RuntimeError" in infos["raises.py"].error


def test_scanning_a_missing_folder_finds_nothing(tmp_path: Path) -> None:
    assert scan_strategy_folder(tmp_path / "strategies") == []


# -- entry points --------------------------------------------------------------------------------


def _write_distribution(site: Path, name: str, version: str, entry_points: dict[str, str]) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    lines = [f"[{ENTRY_POINT_GROUP}]", *(f"{k} = {v}" for k, v in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `sys.path` entry holding the example plugin's metadata, as `pip install` would write
    it from examples/plugin/pyproject.toml, and a broken distribution beside it."""
    site = tmp_path / "site"
    site.mkdir()
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    _write_distribution(
        site, project["name"], project["version"], project["entry-points"][ENTRY_POINT_GROUP]
    )
    (site / "itick_bot_test_broken.py").write_text(
        "import itick_bot\n\nraise ImportError('needs a library that is not installed')\n",
        encoding="utf-8",
    )
    _write_distribution(
        site, "itick-bot-broken-plugin", "9.9", {"broken": "itick_bot_test_broken:Broken"}
    )
    monkeypatch.syspath_prepend(str(EXAMPLE))  # the example package's code, as `pip -e` would
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    return site


def test_the_example_plugin_is_loaded_by_its_name(site: Path) -> None:
    cls = load_entry_point("momentum")

    assert cls.__name__ == "Momentum"
    assert cls.__module__ == "itick_bot_example.momentum"
    assert set(strategy_params(cls)) == {"symbol", "lookback", "size"}


def test_resolving_a_name_describes_the_distribution(site: Path) -> None:
    cls, source = resolve_strategy("momentum")

    assert cls.__name__ == "Momentum"
    assert source == "momentum from itick-bot-example-plugin 0.1.0"


def test_discovery_reports_a_broken_plugin_and_still_loads_the_others(site: Path) -> None:
    infos = {info.name: info for info in discover_strategies()}

    assert set(infos) == {"momentum", "broken"}
    good, broken = infos["momentum"], infos["broken"]
    assert good.error is None
    assert good.strategy is not None
    assert good.strategy.__name__ == "Momentum"
    assert (good.value, good.distribution, good.version) == (
        "itick_bot_example.momentum:Momentum",
        "itick-bot-example-plugin",
        "0.1.0",
    )
    assert broken.strategy is None
    assert broken.distribution == "itick-bot-broken-plugin"
    assert broken.error is not None
    assert "from itick-bot-broken-plugin 9.9 failed to load" in broken.error
    assert "ImportError: needs a library that is not installed" in broken.error
    assert "itick_bot_test_broken.py:3" in broken.error
    assert "Traceback" not in broken.error
    assert load_entry_point("momentum").__name__ == "Momentum"


def test_loading_a_broken_plugin_by_name_is_an_error_naming_its_distribution(site: Path) -> None:
    with pytest.raises(
        StrategyLoadError, match=r"from itick-bot-broken-plugin 9\.9 failed to load"
    ):
        load_entry_point("broken")


def test_an_unknown_name_lists_the_installed_strategies(site: Path) -> None:
    with pytest.raises(StrategyLoadError) as info:
        resolve_strategy("momentun")

    message = str(info.value)
    assert "no installed strategy is named 'momentun'" in message
    assert "the installed strategies are: broken, momentum" in message


def test_an_unknown_name_without_any_installed_says_how_to_publish_one() -> None:
    with pytest.raises(StrategyLoadError, match=f"entry-point group {ENTRY_POINT_GROUP}"):
        load_entry_point("itick-bot-test-nothing-of-this-name")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("itick_bot_test_odd:Plain", "is not a Strategy subclass (it is the class "),
        ("itick_bot_test_odd:VALUE", "is not a Strategy subclass (it is a int)"),
        ("itick_bot_test_odd", "is not a Strategy subclass (it is a module)"),
        ("itick_bot_test_odd:Missing", "failed to load: itick_bot_test_odd has no attribute"),
    ],
)
def test_an_entry_point_that_is_not_a_strategy_class_names_its_distribution(
    site: Path, value: str, expected: str
) -> None:
    (site / "itick_bot_test_odd.py").write_text(
        "VALUE = 3\n\n\nclass Plain:\n    pass\n", encoding="utf-8"
    )
    _write_distribution(site, "odd-plugin", "2.0", {"odd": value})
    importlib.invalidate_caches()

    with pytest.raises(StrategyLoadError) as info:
        load_entry_point("odd")

    assert f"strategy 'odd' ({value}) from odd-plugin 2.0 " in str(info.value)
    assert expected in str(info.value)


def test_a_plugin_with_a_syntax_error_names_its_file_and_line(site: Path) -> None:
    (site / "itick_bot_test_syntax.py").write_text("def broken(:\n    pass\n", encoding="utf-8")
    _write_distribution(site, "syntax-plugin", "0.2", {"typo": "itick_bot_test_syntax:Typo"})
    importlib.invalidate_caches()

    with pytest.raises(StrategyLoadError) as info:
        load_entry_point("typo")

    message = str(info.value)
    assert "strategy 'typo' (itick_bot_test_syntax:Typo) from syntax-plugin 0.2 failed" in message
    assert "itick_bot_test_syntax.py:1: syntax error: " in message
    assert "`def broken(:`" in message


def test_a_name_published_twice_is_ambiguous(site: Path) -> None:
    _write_distribution(site, "other-plugin", "1.0", {"momentum": "other:Momentum"})
    importlib.invalidate_caches()

    with pytest.raises(StrategyLoadError, match="published by 2 installed distributions"):
        load_entry_point("momentum")


# -- resolving either ----------------------------------------------------------------------------


def test_resolving_a_path_loads_the_file_and_describes_it_as_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ROOT)

    cls, source = resolve_strategy("tests/data/strategies/two.py", "Alpha")

    assert cls.__name__ == "Alpha"
    assert source == "tests/data/strategies/two.py"


def test_resolving_a_missing_py_file_reports_the_file_not_an_entry_point() -> None:
    with pytest.raises(StrategyLoadError, match=r"strategy file spreed\.py does not exist"):
        resolve_strategy("spreed.py")


def test_a_class_name_with_an_entry_point_must_match_its_class(site: Path) -> None:
    assert resolve_strategy("momentum", "Momentum")[0].__name__ == "Momentum"
    with pytest.raises(StrategyLoadError, match="--strategy Spread does not match"):
        resolve_strategy("momentum", "Spread")


# -- the example strategy ------------------------------------------------------------------------


class _Context:
    """Just enough of the engine's context for Momentum: orders fill at once."""

    def __init__(self) -> None:
        self.orders: list[Order] = []
        self.held = 0.0
        self.log = _Log()

    def position(self, symbol: str) -> Position:
        return Position(symbol, self.held)

    def open_orders(self, symbol: str | None) -> list[Order]:
        return []

    def submit(
        self,
        symbol: str,
        side: Side,
        qty: Any,
        price: Any,
        tif: TimeInForce,
        post_only: bool,
    ) -> Order:
        order = Order(str(len(self.orders)), symbol, side, float(qty), price, tif, post_only)
        self.orders.append(order)
        self.held += order.qty if side == "buy" else -order.qty
        return order


class _Log:
    def info(self, event: str, **fields: Any) -> None:
        pass


def test_the_example_strategy_runs_by_name_and_trades_on_runs_of_prices(site: Path) -> None:
    strategy = load_entry_point("momentum")()  # lookback 3 by default
    ctx = _Context()
    strategy._bind(ctx, "momentum")  # type: ignore[arg-type]
    strategy.on_start()  # type: ignore[attr-defined]

    def feed(*prices: float, symbol: str = "BTCUSDT") -> None:
        for i, price in enumerate(prices):
            strategy.on_tick(Tick(symbol, price, 0.1, i))  # type: ignore[attr-defined]

    feed(100, 101, 101, 102)  # two rises so far: a repeated price is not a move
    assert ctx.orders == []
    feed(103)  # the third rise
    assert [(o.side, o.qty, o.price) for o in ctx.orders] == [("buy", 0.001, None)]
    feed(104, 105, 106, 107, 108)  # rising on, already holding: no second lot
    feed(1, 2, 3, 4, symbol="ETHUSDT")  # another symbol is ignored
    feed(107, 106)
    assert len(ctx.orders) == 1
    feed(105)  # the third fall
    assert [o.side for o in ctx.orders] == ["buy", "sell"]
    feed(104, 103, 102, 101)  # falling on, nothing held: no sale
    assert len(ctx.orders) == 2


# -- itick-bot strategies ------------------------------------------------------------------------


def test_the_strategies_command_lists_installed_plugins_and_broken_ones(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["strategies"]) == 0

    out = capsys.readouterr().out
    assert "installed strategies (entry-point group itick_bot.strategies)" in out
    assert "momentum  itick_bot_example.momentum:Momentum  from itick-bot-example-plugin 0.1.0" in (
        out
    )
    assert "parameters: symbol='BTCUSDT', lookback=3, size=0.001" in out
    assert "broken    itick_bot_test_broken:Broken  from itick-bot-broken-plugin 9.9" in out
    assert "BROKEN: strategy 'broken'" in out
    assert "no strategies folder here" in out


def test_the_strategies_command_lists_the_files_of_the_strategies_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "strategies"
    folder.mkdir()
    for name in ("good.py", "two.py", "none.py", "raises.py", "_helpers.py"):
        (folder / name).write_bytes((FILES / name).read_bytes())
    monkeypatch.chdir(tmp_path)

    assert main(["strategies"]) == 0

    out = capsys.readouterr().out
    assert "no installed strategies" in out
    assert "strategy files in strategies\n" in out
    assert re.search(r"\n  strategies/good\.py +Good\n", out)
    assert "parameters: symbol='BTCUSDT', threshold=3, size=0.001" in out
    assert "Alpha, Beta (several: pick one with --strategy NAME)" in out
    assert "no Strategy subclass" in out
    assert "BROKEN: strategies/raises.py:8: importing it raised RuntimeError" in out
    assert "_helpers" not in out


def test_the_strategies_command_says_when_the_folder_is_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "strategies").mkdir()
    monkeypatch.chdir(tmp_path)

    assert main(["strategies"]) == 0

    assert "no strategy files in strategies" in capsys.readouterr().out


def test_the_strategies_command_prints_json(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "good.py").write_bytes((FILES / "good.py").read_bytes())
    monkeypatch.chdir(tmp_path)

    assert main(["strategies", "--json"]) == 0

    listing = json.loads(capsys.readouterr().out)
    installed = {p["name"]: p for p in listing["installed"]}
    assert installed["momentum"] == {
        "name": "momentum",
        "value": "itick_bot_example.momentum:Momentum",
        "distribution": "itick-bot-example-plugin",
        "version": "0.1.0",
        "class": "Momentum",
        "params": {
            "symbol": {"type": "a string", "default": "BTCUSDT"},
            "lookback": {"type": "an integer", "default": 3},
            "size": {"type": "a number", "default": 0.001},
        },
        "error": None,
    }
    assert installed["broken"]["class"] is None
    assert "ImportError" in installed["broken"]["error"]
    assert listing["files"] == [
        {
            "path": "strategies/good.py",
            "strategies": [
                {
                    "class": "Good",
                    "params": {
                        "symbol": {"type": "a string", "default": "BTCUSDT"},
                        "threshold": {"type": "an integer", "default": 3},
                        "size": {"type": "a number", "default": 0.001},
                    },
                }
            ],
            "error": None,
        }
    ]
