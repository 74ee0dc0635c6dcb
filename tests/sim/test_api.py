"""The package's public names, and configuration errors that say what to do."""

from __future__ import annotations

import pytest

import itick_bot.sim as sim_pkg
from itick_bot.errors import ConfigError
from itick_bot.sim import SimConfig, Simulator


def test_all_names_exist_and_are_exported() -> None:
    for name in sim_pkg.__all__:
        assert hasattr(sim_pkg, name), name
    public = {n for n in dir(sim_pkg) if not n.startswith("_")}
    assert public - set(sim_pkg.__all__) <= {"annotations"}


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("port", 70000, "port"),
        ("rate", -1.0, "rate"),
        ("time_scale", 0.0, "time_scale"),
        ("max_buffered_frames", 0, "max_buffered_frames"),
        ("malformed_kinds", ("gibberish",), "malformed_kinds"),
        ("kline_format", "nested", "kline_format"),
        ("drop_after", float("nan"), "drop_after"),
    ],
)
def test_bad_settings_are_config_errors_naming_the_setting(
    field: str, value: object, words: str
) -> None:
    with pytest.raises(ConfigError, match=words):
        SimConfig(**{field: value})  # type: ignore[arg-type]


def test_the_key_is_masked_in_the_config_repr() -> None:
    text = repr(SimConfig(token="a5ca43ba-0123456789-290c8"))
    assert "0123456789" not in text


def test_url_and_port_need_a_running_simulator() -> None:
    with pytest.raises(RuntimeError, match="running"):
        Simulator().url  # noqa: B018


async def test_a_port_in_use_is_a_clear_config_error() -> None:
    async with Simulator().running() as first:
        with pytest.raises(ConfigError, match="another --port"):
            async with Simulator(SimConfig(port=first.port)).running():
                pass


async def test_a_simulator_restarts_cleanly() -> None:
    sim = Simulator()
    async with sim.running():
        first = sim.url
    async with sim.running():
        assert sim.url.startswith("ws://127.0.0.1:")
    assert first.startswith("ws://127.0.0.1:")
