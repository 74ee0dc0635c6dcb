"""The configuration files shipped in config/ stay valid and truthful."""

from __future__ import annotations

from pathlib import Path

import pytest

from itick_bot.config import AppConfig, load_config

CONFIG = Path(__file__).parent.parent / "config"


def test_the_annotated_default_file_states_exactly_the_built_in_defaults() -> None:
    loaded = load_config(CONFIG / "itick-bot.toml")
    assert loaded == AppConfig()


@pytest.mark.parametrize(
    "name", sorted(p.name for p in CONFIG.glob("*.toml") if not p.name.startswith("_"))
)
def test_every_shipped_config_file_loads(name: str) -> None:
    load_config(CONFIG / name)


def test_the_simulator_config_never_goes_live_even_with_a_key_set() -> None:
    from itick_bot.config import resolve_feed

    url, _ = resolve_feed(load_config(CONFIG / "sim.toml").feed, {"ITICK_TOKEN": "secret"})
    assert url == "sim"
