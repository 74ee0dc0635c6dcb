"""`itick-bot run` (and `check`) as a user runs them: a real process against the built-in
simulator, a ledger in a temporary folder; and feed health end to end in-process."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import anyio
import pytest

from itick_bot import FeedStatus, Strategy
from itick_bot.app import LoadedStrategy, run_bot
from itick_bot.broker import read_ledger
from itick_bot.config import parse_config
from itick_bot.sim import SimConfig, Simulator

TRADER = """\
from pathlib import Path

from itick_bot import Depth, Strategy


class Trader(Strategy):
    \"\"\"Crosses the spread with a small market order every few depth updates, alternating
    sides, so that it trades within a second; touches `ready_file` at its first depth.\"\"\"

    symbol: str = "BTCUSDT"
    every: int = 3
    ready_file: str = ""

    def on_start(self) -> None:
        self.depths = 0

    def on_depth(self, depth: Depth) -> None:
        if depth.symbol != self.symbol:
            return
        self.depths += 1
        if self.depths == 1 and self.ready_file:
            Path(self.ready_file).touch()
        if self.depths % self.every == 0:
            side = self.buy if self.depths % (2 * self.every) else self.sell
            side(self.symbol, 0.001)
"""

RAISER = """\
from itick_bot import Depth, Strategy


class Raiser(Strategy):
    def on_depth(self, depth: Depth) -> None:
        raise RuntimeError("deliberate failure")
"""


SLOW_START = """\
import time
from pathlib import Path

from itick_bot import Strategy


class SlowStart(Strategy):
    def on_start(self) -> None:
        Path("started").touch()
        time.sleep(0.5)  # deliberately slow set-up: the signal arrives in the middle of it
"""


SLOW_IMPORT = """\
import time
from pathlib import Path

from itick_bot import Strategy

# Importing this file is part of `itick-bot run`'s start: it says so, then waits for the test
# to have sent its signal (bounded, so that a broken test cannot hang the run).
Path("importing").touch()
deadline = time.monotonic() + 20
while not Path("go").exists() and time.monotonic() < deadline:
    time.sleep(0.01)


class Idle(Strategy):
    def on_start(self) -> None:
        Path("on_start_ran").touch()
"""

STUCK_STOP = """\
import time
from pathlib import Path

from itick_bot import Depth, Strategy


class StuckStop(Strategy):
    \"\"\"Says when it has seen the market, and hangs in on_stop (for 20 s at most).\"\"\"

    def on_depth(self, depth: Depth) -> None:
        Path("ready").touch()

    def on_stop(self) -> None:
        Path("stopping").touch()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            time.sleep(0.01)
"""

SLOW_TRADER = """\
import anyio

from itick_bot import Strategy, Tick


class SlowTrader(Strategy):
    \"\"\"Buys once, then takes far longer over each trade than the feed takes to send the next
    (deliberately): a single strategy runs on the engine's task, so the engine falls behind.\"\"\"

    def on_start(self) -> None:
        self.bought = False

    async def on_tick(self, tick: Tick) -> None:
        if not self.bought:
            self.bought = True
            self.buy(tick.symbol, 0.001)
        await anyio.sleep(0.25)
"""


def itick_bot(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itick_bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env if env is not None else dict(os.environ),
        check=False,
    )


def sim_config(folder: Path, extra: str = "") -> Path:
    """A config for the built-in simulator with a brisk market (and `extra` appended)."""
    path = folder / "bot.toml"
    path.write_text(
        '[feed]\nurl = "sim"\nsymbols = ["BTCUSDT"]\ntypes = ["quote", "depth", "tick"]\n'
        "[sim]\nseed = 11\nrate = 40.0\n"
        '[log]\nformat = "json"\nlevel = "warning"\n' + extra,
        encoding="utf-8",
    )
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "trader.py").write_text(TRADER, encoding="utf-8")
    (tmp_path / "raiser.py").write_text(RAISER, encoding="utf-8")
    return tmp_path


def json_report(stdout: str) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return report


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in report["strategies"]}


# -- a run from start to report ---------------------------------------------------------------


def test_run_says_where_it_connects_and_ends_after_duration_with_the_report(
    folder: Path,
) -> None:
    config = sim_config(folder)

    result = itick_bot(
        "run", "trader.py", "--config", str(config), "--duration", "1.5", "--ledger", "l.sqlite",
        cwd=folder,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("itick-bot run: connecting to ws://127.0.0.1:")
    assert lines[0].endswith("(built-in simulator, no key needed)")
    assert "run report (1." in result.stdout
    assert "strategy Trader (trader.py): stopped" in result.stdout
    assert "Traceback" not in result.stderr


def test_the_json_report_agrees_with_the_ledger(folder: Path) -> None:
    config = sim_config(folder)
    ledger = folder / "paper.sqlite"

    result = itick_bot(
        "run", "trader.py", "--config", str(config), "--duration", "2", "--json",
        "--ledger", str(ledger), cwd=folder,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    report = json_report(result.stdout)
    [trader] = report["strategies"]
    [recorded] = read_ledger(ledger).strategies
    assert trader["fills"] > 0
    assert recorded["strategy"] == "Trader"
    assert trader["orders"] == recorded["orders"]
    assert trader["fills"] == recorded["fills"]
    assert trader["volume"] == pytest.approx(float(recorded["volume"]), abs=1e-6)
    assert trader["fees"]["USDT"] == pytest.approx(float(recorded["fees"]), abs=1e-8)
    assert report["account"]["fees_paid"]["USDT"] == pytest.approx(trader["fees"]["USDT"])
    assert report["account"]["ledger"] == str(ledger)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_run_gracefully_with_the_report(
    folder: Path, signum: signal.Signals
) -> None:
    ready = folder / "ready"
    config = sim_config(
        folder, f"[strategy]\npath = 'trader.py'\n[strategy.params]\nready_file = '{ready}'\n"
    )
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "itick_bot.cli", "run", "trader.py", "--config", str(config),
            "--json", "--ledger", "paper.sqlite", "--duration", "30",
        ],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        # The strategy touches the file at its first depth: the run is under way.
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the strategy never saw a depth update"
            time.sleep(0.02)
        proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == 0, stderr
    report = json_report(stdout)
    assert report["duration_s"] < 25
    assert by_name(report)["Trader"]["state"] == "stopped"
    assert report["feed"]["frames_total"] > 0
    assert report["stopped"] == "signal"
    assert report["stop_reason"] == f"{signum.name} received"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_a_slow_on_start_still_stops_gracefully_with_the_report(
    folder: Path, signum: signal.Signals
) -> None:
    (folder / "slow_start.py").write_text(SLOW_START, encoding="utf-8")
    proc = start_run(folder, "slow_start.py")

    status, stdout, stderr = signal_when(proc, signum, (folder / "started").exists)

    assert status == 0, stderr
    assert by_name(json_report(stdout))["SlowStart"]["state"] == "stopped"


# -- a signal before the run is under way -------------------------------------------------------


def start_run(folder: Path, strategy: str, duration: float = 30) -> subprocess.Popen[str]:
    """`itick-bot run STRATEGY` on the simulator for at most `duration` s, its report as JSON."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "itick_bot.cli", "run", strategy,
            "--config", str(sim_config(folder)), "--json", "--ledger", "paper.sqlite",
            "--duration", str(duration),
        ],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def signal_when(
    proc: subprocess.Popen[str],
    signum: signal.Signals,
    ready: Callable[[], bool],
    then: Callable[[], None] = lambda: None,
) -> tuple[int, str, str]:
    """Send `signum` as soon as `ready()`, then call `then`; the exit status, stdout, stderr."""
    try:
        deadline = time.monotonic() + 20
        while not ready():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never got ready for the signal"
            time.sleep(0.001)
        proc.send_signal(signum)
        then()
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, stdout, stderr


def catches_sigterm(pid: int) -> bool:
    """Whether the process has a handler of its own for SIGTERM (Linux's /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_as_soon_as_the_process_can_take_one_still_ends_with_the_report(
    folder: Path, signum: signal.Signals
) -> None:
    # The first moment itick-bot can do anything about a signal is when it installs its own
    # handlers, as `main` starts (before then, Python ends the process): signal right then.
    proc = start_run(folder, "trader.py")

    status, stdout, stderr = signal_when(proc, signum, lambda: catches_sigterm(proc.pid))

    assert status == 0, stderr
    assert "Traceback" not in stderr
    report = json_report(stdout)
    assert report["stopped"] == "signal"
    assert report["stop_reason"] == (
        f"{signum.name} received before the run started (no strategy was started)"
    )
    assert by_name(report)["Trader"]["state"] == "created"
    assert report["engine"]["events"] == {}
    assert report["feed"]["connects"] == 0
    assert report["account"]["ledger"] == "paper.sqlite"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_while_the_strategy_file_is_imported_ends_with_the_report_and_starts_nothing(
    folder: Path, signum: signal.Signals
) -> None:
    (folder / "slow_import.py").write_text(SLOW_IMPORT, encoding="utf-8")
    proc = start_run(folder, "slow_import.py")

    status, stdout, stderr = signal_when(
        proc, signum, (folder / "importing").exists, then=(folder / "go").touch
    )

    assert status == 0, stderr
    report = json_report(stdout)
    assert report["stopped"] == "signal"
    assert report["stop_reason"].startswith(f"{signum.name} received before the run started")
    assert by_name(report)["Idle"]["state"] == "created"
    assert not (folder / "on_start_ran").exists()  # not started, so it cannot have ordered
    assert report["feed"]["connects"] == 0


def test_a_second_ctrl_c_while_the_run_stops_ends_it_at_once_with_status_130(
    folder: Path,
) -> None:
    (folder / "stuck_stop.py").write_text(STUCK_STOP, encoding="utf-8")
    proc = start_run(folder, "stuck_stop.py")
    started = time.monotonic()

    status, stdout, stderr = signal_when(
        proc,
        signal.SIGINT,
        (folder / "ready").exists,
        then=lambda: signal_when_stopping(proc, folder / "stopping"),
    )

    assert status == 130, stderr
    assert time.monotonic() - started < 15  # not the 20 s the stuck on_stop would take
    assert '"stop_reason"' not in stdout  # no report
    [line] = [ln for ln in stderr.splitlines() if ln.startswith("itick-bot run:")]
    assert line == (
        "itick-bot run: stopped at once by a second Ctrl-C, without the report "
        "(every fill is in the ledger)"
    )


def test_ctrl_c_reaches_a_run_stuck_in_on_stop_after_its_duration(folder: Path) -> None:
    # The loop is stuck in the strategy's synchronous code: only Python's own signal handlers
    # (not an event loop's, which would just queue the signal) can still stop it.
    (folder / "stuck_stop.py").write_text(STUCK_STOP, encoding="utf-8")
    proc = start_run(folder, "stuck_stop.py", duration=1)
    started = time.monotonic()

    def ctrl_c_until_it_ends() -> None:
        # Two signals sent back to back may reach the process as one: repeat until it ends.
        for _ in range(100):
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=0.1)
                return
            except subprocess.TimeoutExpired:
                continue

    status, _, stderr = signal_when(
        proc, signal.SIGINT, (folder / "stopping").exists, then=ctrl_c_until_it_ends
    )

    assert status == 130, stderr
    assert time.monotonic() - started < 15  # not the 20 s the stuck on_stop would take


def signal_when_stopping(proc: subprocess.Popen[str], stopping: Path) -> None:
    """The second Ctrl-C, once the strategy is stuck in on_stop."""
    deadline = time.monotonic() + 20
    while not stopping.exists():
        assert time.monotonic() < deadline, "on_stop never ran"
        time.sleep(0.001)
    proc.send_signal(signal.SIGINT)


# -- the engine falls behind the feed -----------------------------------------------------------


def run_falling_behind(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`itick-bot run` of the deliberately slow strategy with room for only 50 waiting events."""
    (folder / "slow_trader.py").write_text(SLOW_TRADER, encoding="utf-8")
    config = sim_config(folder)
    text = config.read_text(encoding="utf-8").replace("[sim]", "max_pending = 50\n[sim]", 1)
    config.write_text(text, encoding="utf-8")
    return itick_bot(
        "run", "slow_trader.py", "--config", str(config), "--duration", "30",
        "--ledger", "paper.sqlite", *args, cwd=folder,
    )  # fmt: skip


def test_an_engine_that_falls_behind_ends_with_the_report_one_line_and_status_5(
    folder: Path,
) -> None:
    result = run_falling_behind(folder, "--json")

    assert result.returncode == 5, result.stderr
    report = json_report(result.stdout)
    assert report["duration_s"] < 25
    assert report["stopped"] == "fell_behind"
    assert report["stop_reason"].startswith("the engine fell ")
    assert report["stop_reason"].endswith(
        " events behind the feed (more than [feed] max_pending = 50)"
    )
    [slow] = report["strategies"]
    assert slow["state"] == "stopped"  # on_stop ran: stopped, not failed
    # What it did until then is in the report, as in the ledger.
    [recorded] = read_ledger(folder / "paper.sqlite").strategies
    assert slow["orders"] == recorded["orders"] == 1
    assert slow["fills"] == recorded["fills"]
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("itick-bot run:")]
    assert line.startswith("itick-bot run: error: the engine fell ")
    assert line.endswith(
        "the run was stopped rather than lose events. Make the strategy faster, subscribe "
        "fewer symbols or types, or raise [feed] max_pending"
    )
    assert "Traceback" not in result.stderr


def test_the_text_report_says_the_engine_fell_behind(folder: Path) -> None:
    result = run_falling_behind(folder)

    assert result.returncode == 5, result.stderr
    assert "\nstopped: the engine fell " in result.stdout
    assert "strategy SlowTrader (slow_trader.py): stopped" in result.stdout


# -- configuration errors ---------------------------------------------------------------------

CONFIG_ERRORS = {
    "unknown section": ("[feeds]\nurl = 'sim'\n", "unknown section [feeds]"),
    "unknown key": ("[engine]\nmax_backlogg = 5\n", "unknown key 'engine.max_backlogg'"),
    "wrong type": (
        "[engine]\nmax_backlog = 'many'\n",
        "'engine.max_backlog' must be an integer, not str",
    ),
    "bad value": ("[engine]\nmax_backlog = 0\n", "max_backlog must be greater than 0"),
    "unknown strategy parameter": (
        "[strategy]\npath = 'trader.py'\n[strategy.params]\nsymbl = 'ETHUSDT'\n",
        "unknown parameter 'symbl' for strategy Trader",
    ),
    "wrongly typed strategy parameter": (
        "[strategy]\npath = 'trader.py'\n[strategy.params]\nevery = 'often'\n",
        "parameter 'every' of strategy Trader must be an integer",
    ),
    "live url without a key": (
        "[feed]\nurl = 'wss://api.itick.org/crypto'\n",
        "[feed] url = 'wss://api.itick.org/crypto' needs an iTick API key: export ITICK_TOKEN",
    ),
}


@pytest.mark.parametrize(("text", "expected"), CONFIG_ERRORS.values(), ids=CONFIG_ERRORS.keys())
@pytest.mark.parametrize("command", ["run", "check"])
def test_a_config_error_exits_2_naming_the_key_and_the_file(
    folder: Path, command: str, text: str, expected: str
) -> None:
    config = folder / "wrong.toml"
    config.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "ITICK_TOKEN"}

    result = itick_bot(command, "--config", str(config), "trader.py", cwd=folder, env=env)

    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"itick-bot {command}: error: {config}")
    assert expected in line
    assert "itick-bot run: connecting" not in result.stdout


def test_check_validates_a_good_config_and_strategy_without_connecting(folder: Path) -> None:
    config = sim_config(folder, "[strategy]\npath = 'trader.py'\n[strategy.params]\nevery = 5\n")

    result = itick_bot("check", "--config", str(config), cwd=folder)

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "ok"
    assert "feed: the built-in simulator" in result.stdout
    assert "strategy Trader: trader.py: symbol='BTCUSDT', every=5, ready_file=''" in result.stdout


# -- feed health end to end -------------------------------------------------------------------


class FeedWatcher(Strategy):
    states: ClassVar[list[str]] = []

    def on_feed(self, status: FeedStatus) -> None:
        self.states.append(status.state)


async def test_a_dropped_connection_reaches_on_feed_as_reconnecting_then_recovered(
    tmp_path: Path,
) -> None:
    FeedWatcher.states = []
    async with Simulator(SimConfig(seed=5, rate=20.0)).running() as sim:
        config = parse_config(
            {
                "feed": {
                    "url": sim.url,
                    "symbols": ["BTCUSDT"],
                    "types": ["depth"],
                    "backoff_initial": 0.05,
                },
                "broker": {"ledger": str(tmp_path / "paper.sqlite")},
            },
            "test",
        )
        results = []

        async def run() -> None:
            results.append(
                await run_bot(
                    config,
                    [LoadedStrategy("watcher", FeedWatcher(), "test")],
                    duration=1.5,
                    environ={},
                    out=io.StringIO(),
                )
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            await sim.wait_for_subscriptions(1)
            assert sim.drop_all() == 1
            await sim.wait_for_subscriptions(2)

    assert FeedWatcher.states == ["connected", "reconnecting", "recovered"]
    [result] = results
    assert result.report["feed"]["reconnects"] == 1
    assert not result.all_failed
