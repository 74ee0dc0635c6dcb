"""How `itick-bot run` stops on SIGINT and SIGTERM whenever they come: `StopSignals` records
them until `run_bot` can stop gracefully, and `run_bot` honours one that came early. (A real
process signalled at its start is in tests/e2e/test_run_cli.py.)"""

from __future__ import annotations

import io
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from itick_bot import Strategy
from itick_bot.app import LoadedStrategy, Stop, StopSignals, run_bot
from itick_bot.config import AppConfig, parse_config


@pytest.fixture
def heard() -> Iterator[list[int]]:
    """The signals that reach the handlers in place before a test's `StopSignals`."""
    seen: list[int] = []
    previous = {
        signum: signal.signal(signum, lambda signum, frame: seen.append(signum))
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    yield seen
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def test_the_first_signal_is_recorded_and_the_handlers_in_place_come_back_after(
    heard: list[int],
) -> None:
    with StopSignals() as stop:
        signal.raise_signal(signal.SIGTERM)

        assert stop.requested
        assert stop.name == "SIGTERM"
        assert not stop.forced
        assert heard == []

    signal.raise_signal(signal.SIGINT)
    assert heard == [signal.SIGINT]


def test_a_second_signal_goes_straight_to_the_handler_in_place_before(
    heard: list[int],
) -> None:
    # The way out of a stop that hangs: Ctrl-C twice behaves as if itick-bot had not asked.
    with StopSignals() as stop:
        signal.raise_signal(signal.SIGINT)
        signal.raise_signal(signal.SIGINT)

        assert stop.signum == signal.SIGINT
        assert stop.forced
        assert heard == [signal.SIGINT]


class Starter(Strategy):
    started = False

    def on_start(self) -> None:
        self.started = True


def sim_config(tmp_path: Path) -> AppConfig:
    return parse_config(
        {
            "feed": {"url": "sim", "symbols": ["BTCUSDT"], "types": ["depth"]},
            "broker": {"ledger": str(tmp_path / "paper.sqlite")},
        },
        "test",
    )


async def test_a_signal_before_the_run_could_stop_gracefully_stops_it_before_it_connects(
    tmp_path: Path,
) -> None:
    stop = StopSignals()
    stop.signum = signal.SIGTERM  # as if it came while the config was being read
    strategy = Starter()

    result = await run_bot(
        sim_config(tmp_path),
        [LoadedStrategy("starter", strategy, "test")],
        duration=20,
        environ={},
        out=io.StringIO(),
        stop=stop,
    )

    assert result.stop == Stop(
        "signal", "SIGTERM received before the run started (no strategy was started)"
    )
    assert not strategy.started
    assert not result.all_failed  # not started is not failed: the run ends with status 0
    report: dict[str, Any] = result.report
    assert report["stopped"] == "signal"
    assert report["strategies"][0]["state"] == "created"
    assert report["feed"]["connects"] == 0


async def test_signals_are_still_recorded_after_the_run_while_its_report_is_written(
    tmp_path: Path, heard: list[int]
) -> None:
    # The event loop's signal receiver puts the default handlers back when it closes; a
    # SIGTERM then would end the process before the report is printed.
    with StopSignals() as stop:
        result = await run_bot(
            sim_config(tmp_path),
            [LoadedStrategy("starter", Starter(), "test")],
            duration=0.2,
            environ={},
            out=io.StringIO(),
            stop=stop,
        )

        assert result.stop == Stop("duration", "--duration 0.2 s elapsed")
        for signum in (signal.SIGINT, signal.SIGTERM):
            assert getattr(signal.getsignal(signum), "__self__", None) is stop
    assert heard == []
