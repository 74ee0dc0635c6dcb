#!/usr/bin/env python3
"""Set up the project's virtual environment and run its jobs, with nothing but Python 3.11+.

    python3 scripts/dev.py demo    # the spread strategy on the built-in simulator for 20 s
    python3 scripts/dev.py test    # every gate: ruff, ruff format, mypy, import layers, pytest
    python3 scripts/dev.py bench   # the benchmarks in bench/, figures printed
    python3 scripts/dev.py shell   # print how to activate the environment

The environment lives in .venv beside this folder's parent; it is (re)installed when pyproject.toml
changes, so the first run takes a minute and later runs start at once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".itick-bot-installed"
EXTRAS = "test,bench,plot"


def _say(text: str) -> None:
    print(f"[dev] {text}", flush=True)


def _run(*argv: str | Path) -> int:
    return subprocess.call([str(a) for a in argv], cwd=ROOT)


def _must(*argv: str | Path) -> None:
    code = _run(*argv)
    if code:
        _say(f"failed ({code}): {' '.join(str(a) for a in argv)}")
        sys.exit(code)


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + EXTRAS.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted and PY.exists():
        return
    if not PY.exists():
        _say(f"creating a virtual environment in {VENV.name}/")
        venv.EnvBuilder(with_pip=True).create(VENV)
    _say("installing itick-bot with its test, bench and plot extras (once per pyproject change)")
    _must(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade", "pip")
    _must(
        PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", f".[{EXTRAS}]"
    )
    STAMP.write_text(wanted)


def test(extra: list[str]) -> int:
    gates: list[tuple[str, list[str | Path]]] = [
        ("ruff", [BIN / "ruff", "check", "."]),
        ("ruff format", [BIN / "ruff", "format", "--check", "."]),
        ("mypy (strict on framework/)", [BIN / "mypy"]),
        ("import layers (DESIGN.md section 2)", [BIN / "lint-imports"]),
        ("pytest", [PY, "-m", "pytest", *extra]),
    ]
    for name, argv in gates:
        _say(f"== {name}")
        code = _run(*argv)
        if code:
            _say(f"{name} failed with exit status {code}")
            return code
    return 0


def demo(extra: list[str]) -> int:
    args = extra or ["--duration", "20"]
    return _run(
        BIN / "itick-bot", "run", "strategies/spread.py", "--config", "config/sim.toml", *args
    )


def bench(extra: list[str]) -> int:
    return _run(PY, ROOT / "bench" / "run_all.py", *extra)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"demo", "test", "bench", "shell"}:
        print(__doc__)
        return 2
    ensure_venv()
    job, extra = sys.argv[1], sys.argv[2:]
    if job == "shell":
        print(f"source {BIN / 'activate'}")
        return 0
    return {"demo": demo, "test": test, "bench": bench}[job](extra)


if __name__ == "__main__":
    sys.exit(main())
