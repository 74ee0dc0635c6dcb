"""Start-up time: from launching `itick-bot run` to the strategy's first event.

    python bench/bench_startup.py [--runs 5]

Each run launches `itick-bot run bench/strategies/noop.py --strategy FirstEvent` as a fresh
process on the built-in simulator (`[feed] url = "sim"`, BTCUSDT and ETHUSDT, quote, depth, tick
and kline@1, as config/sim.toml; a fresh ledger each time). The strategy writes
`time.time_ns()` to a marker file on its first market event; the figure is that stamp minus the
wall time taken just before the process was launched, so it includes the interpreter's start,
imports, reading the config, loading the strategy, opening the ledger, starting the simulator,
connecting, authenticating, subscribing and the first frame's way through the engine. The
process is then stopped with SIGTERM (a graceful stop, as Ctrl-C).

For reference, in the same run: `python -c pass`, `python -c "import itick_bot"`, the import of
every module `run` needs, and `itick-bot --version` (which builds every command's parser), each
launched the same way and timed to its exit.
Prints median/min/max. Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import machine

ROOT = Path(__file__).parent.parent
NOOP = Path(__file__).parent / "strategies" / "noop.py"
CONFIG = """\
[feed]
url = "sim"
symbols = ["BTCUSDT", "ETHUSDT"]
types = ["quote", "depth", "tick", "kline@1"]

[log]
level = "warning"

[broker]
ledger = "{ledger}"
"""
RUN_IMPORTS = (
    "import itick_bot.app, itick_bot.cli, itick_bot.engine, itick_bot.feed, itick_bot.broker, "
    "itick_bot.sim, itick_bot.report"
)


def itick_bot_command() -> list[str]:
    script = Path(sys.executable).parent / "itick-bot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "itick_bot.cli"]


def first_event_s(work: Path, n: int, timeout: float) -> float:
    ledger = work / f"ledger-{n}.sqlite"
    config = work / f"startup-{n}.toml"
    config.write_text(CONFIG.format(ledger=ledger))
    marker = work / f"marker-{n}"
    env = dict(os.environ, ITICK_BENCH_MARKER=str(marker))
    cmd = [*itick_bot_command(), "run", str(NOOP), "--strategy", "FirstEvent", "--config",
           str(config)]  # fmt: skip
    start = time.time_ns()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if marker.exists() and marker.read_text().endswith("\n"):
                stamp = int(marker.read_text().split()[1])
                return (stamp - start) / 1e9
            if proc.poll() is not None:
                _, err = proc.communicate()
                raise SystemExit(f"itick-bot run exited ({proc.returncode}): {err}")
            if time.monotonic() > deadline:
                raise SystemExit(f"no strategy event within {timeout} s")
            time.sleep(0.002)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def exit_s(code: str) -> float:
    return exit_cmd_s([sys.executable, "-c", code])


def exit_cmd_s(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<44} {statistics.median(ms):>8.0f} {min(ms):>8.0f} {max(ms):>8.0f}"
        f"   ({', '.join(f'{v:.0f}' for v in ms)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    run: list[float] = []
    bare: list[float] = []
    imp: list[float] = []
    full: list[float] = []
    version: list[float] = []
    with tempfile.TemporaryDirectory(prefix="itick-startup-") as tmp:
        work = Path(tmp)
        exit_s(RUN_IMPORTS)  # warm the file cache and the bytecode once, outside the figures
        for n in range(args.runs):  # interleaved, so that a noisy moment hits every figure alike
            run.append(first_event_s(work, n, args.timeout))
            bare.append(exit_s("pass"))
            imp.append(exit_s("import itick_bot"))
            full.append(exit_s(RUN_IMPORTS))
            version.append(exit_cmd_s([*itick_bot_command(), "--version"]))
    print(f"start-up, {args.runs} runs each ({machine()})")
    print(f"{'what':<44} {'median':>8} {'min':>8} {'max':>8}   (ms, every run)")
    print(line("itick-bot run: launch to first strategy event", run))
    print(line("python -c pass", bare))
    print(line('python -c "import itick_bot"', imp))
    print(line("python -c: import of what run needs", full))
    print(line("itick-bot --version (every command's parser)", version))


if __name__ == "__main__":
    main()
