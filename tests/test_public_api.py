"""The public names: every exported name exists, and the documented ones are exported."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

import itick_bot
import itick_bot.protocol

PACKAGES = ["itick_bot", "itick_bot.protocol"]


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package: str) -> None:
    module = _module(package)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_name_is_exported_twice(package: str) -> None:
    names = _module(package).__all__
    assert len(names) == len(set(names))


@pytest.mark.parametrize("package", PACKAGES)
def test_star_import_gives_exactly_all(package: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {package} import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(_module(package).__all__)


@pytest.mark.parametrize("package", PACKAGES)
def test_exported_names_are_not_private(package: str) -> None:
    private = [n for n in _module(package).__all__ if n.startswith("_") and n != "__version__"]
    assert private == []


def test_the_strategy_facing_values_are_exported() -> None:
    # DESIGN.md section 3: `from itick_bot import Quote, Tick, Depth, Bar, Fill, Order, ...`
    for name in ("Quote", "Tick", "Depth", "Bar", "Fill", "Order", "FeedStatus", "OrderBook"):
        assert name in itick_bot.__all__


def test_the_exported_values_are_the_model_classes() -> None:
    from itick_bot import model

    assert itick_bot.Quote is model.Quote
    assert itick_bot.Order is model.Order


def test_the_protocol_exports_both_roles() -> None:
    for name in ("ClientConnection", "decode_frame", "encode_subscribe", "parse_command"):
        assert name in itick_bot.protocol.__all__
    renders = {n for n in itick_bot.protocol.__all__ if n.startswith("render_")}
    from itick_bot.protocol import _server

    assert renders == {n for n in _server.__all__ if n.startswith("render_")}


def test_version_is_a_string() -> None:
    assert isinstance(itick_bot.__version__, str)
    assert itick_bot.__version__.count(".") >= 2
