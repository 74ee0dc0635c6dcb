"""Create bench/peers/.venv: the peers' benchmark environment, apart from the project's.

    python3.11 bench/peers/setup.py [--python python3.11] [--fresh]

Installs from PyPI only, into `bench/peers/.venv` (never into the project's `.venv`):
NautilusTrader and cryptofeed (the peers; neither is a dependency of itick-bot) and the project
itself in editable mode, so that all three sides run in one interpreter and one process.
Each step is tried on its own: a peer that fails to install is reported (command and error) and
the others still get installed; `bench_peers.py` then measures what it can import.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = HERE / ".venv"

# The versions the figures in bench/RESULTS.md were measured with.
PEERS = {
    "nautilus": ["nautilus-trader==1.231.0"],
    "cryptofeed": ["cryptofeed==3.0.1"],
}


def run(cmd: list[str]) -> tuple[int, str]:
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    out = (proc.stdout + proc.stderr).strip()
    tail = "\n".join(out.splitlines()[-15:])
    if tail:
        print(tail, flush=True)
    return proc.returncode, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--python", default="python3.11", help="interpreter for the venv")
    parser.add_argument("--fresh", action="store_true", help="remove an existing venv first")
    args = parser.parse_args()

    if args.fresh and VENV.exists():
        shutil.rmtree(VENV)
    if not VENV.exists():
        code, _ = run([args.python, "-m", "venv", str(VENV)])
        if code:
            return code
    py = str(VENV / "bin" / "python")
    run([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    # The project, editable, with orjson (its `bench` extra): our side of the comparison.
    code, _ = run([py, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[bench]"])
    failed: dict[str, str] = {} if code == 0 else {"itick-bot": "pip install -e failed"}
    for name, reqs in PEERS.items():
        code, out = run([py, "-m", "pip", "install", "--quiet", *reqs])
        if code:
            failed[name] = "\n".join(out.splitlines()[-5:])
    run([py, "-m", "pip", "freeze"])
    if failed:
        print("\nFAILED: " + ", ".join(failed), file=sys.stderr)
        for name, why in failed.items():
            print(f"--- {name}\n{why}", file=sys.stderr)
        return 1
    print(f"\nready: {py} bench/peers/bench_peers.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
