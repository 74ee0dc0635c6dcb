"""Strategy parameters: annotated class attributes with defaults, overridden from TOML and
type-checked; and the rules a strategy class must follow."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import pytest

from itick_bot import Strategy, Tick
from itick_bot.app import load_strategies, strategy_specs
from itick_bot.config import load_config
from itick_bot.errors import ConfigError
from itick_bot.strategy import StrategyError, apply_params, implemented_hooks, strategy_params

SOURCE = "bot.toml [strategy.params]"


class Tunable(Strategy):
    symbol: str = "BTCUSDT"
    edge_bps: float = 5.0
    levels: int = 3
    post_only: bool = True
    mode: Literal["maker", "taker"] = "maker"
    weights: tuple[float, ...] = (1.0,)
    registry: ClassVar[dict[str, int]] = {}
    _private: int = 0


def test_the_parameters_are_the_annotated_attributes_with_their_types_and_defaults() -> None:
    assert strategy_params(Tunable) == {
        "symbol": (str, "BTCUSDT"),
        "edge_bps": (float, 5.0),
        "levels": (int, 3),
        "post_only": (bool, True),
        "mode": (Literal["maker", "taker"], "maker"),
        "weights": (tuple[float, ...], (1.0,)),
    }


def test_a_subclass_inherits_its_parents_parameters_and_may_change_a_default() -> None:
    class Wider(Tunable):
        edge_bps: float = 9.0
        extra: str = "x"

    params = strategy_params(Wider)
    assert params["edge_bps"] == (float, 9.0)
    assert params["symbol"] == (str, "BTCUSDT")
    assert params["extra"] == (str, "x")


def test_overrides_are_applied_and_coerced_to_the_declared_types() -> None:
    strategy = Tunable()

    apply_params(
        strategy,
        {"symbol": "ETHUSDT", "edge_bps": 2, "mode": "taker", "weights": [1, 2.5]},
        SOURCE,
    )

    assert strategy.symbol == "ETHUSDT"
    assert strategy.edge_bps == 2.0
    assert type(strategy.edge_bps) is float
    assert strategy.mode == "taker"
    assert strategy.weights == (1.0, 2.5)
    assert Tunable.edge_bps == 5.0  # the class keeps its default


def test_an_unknown_parameter_is_an_error_naming_the_key_the_source_and_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        apply_params(Tunable(), {"edge_bp": 1.0}, SOURCE)

    message = str(caught.value)
    assert message.startswith(f"{SOURCE}: unknown parameter 'edge_bp' for strategy Tunable")
    assert "edge_bps" in message


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("edge_bps", "5", "a number"),
        ("edge_bps", True, "a number"),
        ("levels", 2.5, "an integer"),
        ("symbol", 7, "a string"),
        ("post_only", "yes", "true or false"),
        ("mode", "both", "'maker' or 'taker'"),
        ("weights", 1.0, "a list of a number"),
    ],
)
def test_a_wrongly_typed_parameter_is_an_error_naming_the_key_source_and_expected_type(
    key: str, value: object, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        apply_params(Tunable(), {key: value}, SOURCE)

    assert str(caught.value).startswith(
        f"{SOURCE}: parameter {key!r} of strategy Tunable must be {expected}, not "
    )


def test_a_strategy_overriding_init_is_refused_when_the_class_is_defined() -> None:
    with pytest.raises(StrategyError, match=r"SetsUp overrides __init__.*on_start"):

        class SetsUp(Strategy):
            def __init__(self) -> None:
                super().__init__()


def test_a_parameter_without_a_default_is_refused_naming_it() -> None:
    class NoDefault(Strategy):
        size: float

    with pytest.raises(StrategyError, match=r"parameter 'size' has no default"):
        strategy_params(NoDefault)
    with pytest.raises(StrategyError, match=r"parameter 'size' has no default"):
        apply_params(NoDefault(), {}, SOURCE)


def test_implemented_hooks_are_the_hooks_the_class_defines_or_inherits() -> None:
    class Base(Strategy):
        def on_tick(self, tick: Tick) -> None:
            pass

    class Child(Base):
        async def on_stop(self) -> None:
            pass

    assert implemented_hooks(Strategy) == frozenset()
    assert implemented_hooks(Child) == {"on_tick", "on_stop"}


STRATEGY_FILE = """\
from itick_bot import Strategy


class Edge(Strategy):
    edge_bps: float = 5.0
    size: float = 0.001
"""


def test_params_from_a_config_file_are_applied_and_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "edge.py").write_text(STRATEGY_FILE, encoding="utf-8")
    good = tmp_path / "good.toml"
    good.write_text(
        f'[strategy]\npath = "{tmp_path / "edge.py"}"\n[strategy.params]\nedge_bps = 1\n',
        encoding="utf-8",
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'[strategy]\npath = "{tmp_path / "edge.py"}"\n[strategy.params]\nsize = "big"\n',
        encoding="utf-8",
    )

    config = load_config(good)
    [loaded] = load_strategies(strategy_specs(config, None), str(config.source))
    assert (loaded.name, loaded.strategy.edge_bps, loaded.strategy.size) == ("Edge", 1.0, 0.001)

    config = load_config(bad)
    with pytest.raises(ConfigError, match=rf"^{bad} \[strategy.params\]: parameter 'size'"):
        load_strategies(strategy_specs(config, None), str(config.source))
