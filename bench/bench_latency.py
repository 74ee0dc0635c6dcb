"""Latency from frame arrival to the strategy's hook, with the simulator pushing a steady rate.

    python bench/bench_latency.py [--seconds 10] [--symbols 5] [--rates 100,240]

The simulator runs in its own process (`itick-bot sim --rate R`: every symbol's market stepped R
times a second, each update sent as tick, depth 5x5, quote and kline@1 frames, about 4.1 frames
per update), so `--symbols 5 --rates 100,240` asks for about 2,000 and then 5,000 frames/s. For
each rate, `itick-bot run --json` runs as a second process for `--seconds` with the no-op
strategy of bench/strategies/noop.py, a fresh ledger, and a `[feed] url` naming the simulator's
loopback URL (no key needed). The lag is the run report's: the engine's wall clock at the hook
minus the frame's receive stamp (taken by the feed right after the socket handed it over), so it
covers the inbox, the engine (book, bars, broker) and the strategy's own inbox.

Prints per rate: data frames/s received, lag p50/p99/max, the conflated counts (feed inbox and
strategy inbox), the peak backlogs, reconnects and drops, slow-consumer closes by the simulator,
and the CPU the bot and the simulator used (of one core). Not a test: nothing asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _util import machine

ROOT = Path(__file__).parent.parent
NOOP = Path(__file__).parent / "strategies" / "noop.py"
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT", "EURUSD")
TYPES = ("quote", "depth", "tick", "kline@1")
DATA_KINDS = ("quote", "depth", "tick", "kline")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def config_text(url: str, symbols: tuple[str, ...], ledger: Path) -> str:
    return "\n".join(
        [
            "[feed]",
            f'url = "{url}"',
            f"symbols = {json.dumps(list(symbols))}",
            f"types = {json.dumps(list(TYPES))}",
            "[log]",
            'level = "warning"',
            "[broker]",
            f'ledger = "{ledger}"',
            "",
        ]
    )


def run_bot(url: str, symbols: tuple[str, ...], seconds: float, work: Path, sim_pid: int) -> dict:
    ledger = work / f"ledger-{time.monotonic_ns()}.sqlite"
    config = work / "latency.toml"
    config.write_text(config_text(url, symbols, ledger))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sim_before = cpu_s(sim_pid)
    proc = subprocess.run(
        [sys.executable, "-m", "itick_bot.cli", "run", str(NOOP), "--strategy", "Noop",
         "--config", str(config), "--duration", str(seconds), "--json"],
        capture_output=True, text=True, timeout=seconds + 60, cwd=ROOT,
    )  # fmt: skip
    sim_cpu = cpu_s(sim_pid) - sim_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"itick-bot run failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    line = next(x for x in reversed(proc.stdout.splitlines()) if x.startswith("{"))
    report: dict[str, Any] = json.loads(line)
    report["_bot_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    report["_sim_cpu_s"] = sim_cpu
    report["_stderr"] = proc.stderr.strip()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--symbols", type=int, default=5, choices=range(1, len(SYMBOLS) + 1))
    parser.add_argument("--rates", default="100,240", help="market updates/s per symbol, each")
    args = parser.parse_args()
    symbols = SYMBOLS[: args.symbols]
    rates = [float(r) for r in args.rates.split(",")]

    print(f"frame arrival to hook, simulator in its own process ({machine()})")
    print(
        f"{len(symbols)} symbols x {', '.join(TYPES)}; {args.seconds:g} s per rate; "
        f"itick-bot run with a no-op strategy"
    )
    header = (
        f"{'rate/sym':>8} {'frames/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'hooks':>7} {'confl feed/strat':>16} {'peak backlog':>12} {'bot CPU':>8} "
        f"{'sim CPU':>8}  drops / reconnects / slow-consumer"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="itick-latency-") as tmp:
        work = Path(tmp)
        for rate in rates:
            sim_log = (work / f"sim-{rate:g}.log").open("w+")
            sim = subprocess.Popen(
                [sys.executable, "-m", "itick_bot.cli", "sim", "--port", "0", "--rate", f"{rate:g}",
                 "--seed", "7", "--log-level", "warning", "--log-format", "json"],
                stdout=subprocess.PIPE, stderr=sim_log, text=True, cwd=ROOT,
            )  # fmt: skip
            try:
                assert sim.stdout is not None
                url = next(w for w in sim.stdout.readline().split() if w.startswith("ws://"))
                report = run_bot(url, symbols, args.seconds, work, sim.pid)
            finally:
                sim.terminate()
                try:
                    sim.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    sim.kill()
                    sim.wait()
            sim_log.seek(0)
            slow = sum("slow" in line.lower() for line in sim_log)
            sim_log.close()
            feed, strat = report["feed"], report["strategies"][0]
            frames = sum(feed["frames"].get(k, 0) for k in DATA_KINDS)
            duration = report["duration_s"]
            # The feed's own span, first frame to last (`frames_per_s` counts control frames).
            span = feed["frames_total"] / feed["frames_per_s"]
            lag = strat["lag_ms"]
            rows.append(
                f"{rate:>8g} {frames / span:>9,.0f} {lag['p50']:>7.3f} {lag['p99']:>7.3f} "
                f"{lag['max']:>7.3f} {sum(strat['events'].values()):>7,} "
                f"{feed['conflated']:>7,}/{strat['conflated']:<8,} {strat['peak_backlog']:>12,} "
                f"{report['_bot_cpu_s'] / duration:>8.0%} {report['_sim_cpu_s'] / duration:>8.0%}"
                f"  {feed['drops'] or 0} / {feed['reconnects']} / {slow}"
            )
            if strat["state"] not in ("stopped", "running") or report["_stderr"]:
                rows.append(f"         strategy {strat['state']}: {strat['error']!r}")
                rows.append(f"         stderr: {report['_stderr'][:500]}")
    print(header)
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
