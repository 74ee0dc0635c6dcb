"""Create bench/peers/.venv: the peers' benchmark environment, apart from the project's.

    python3 bench/peers/setup.py [--python python3.13] [--fresh]

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

# The versions the figures in bench/RESULTS.md were measured with. Both need a newer Python than
# the project's 3.11: nautilus-trader 1.222+ requires >=3.12, cryptofeed 2.5 >=3.12 and 3.0 >=3.13.
PEERS = {
    "nautilus": ["nautilus-trader==1.231.0"],
    "cryptofeed": ["cryptofeed==3.0.1"],
}
PEERS_312 = {"nautilus": ["nautilus-trader==1.231.0"], "cryptofeed": ["cryptofeed==2.5.0"]}


def find_python() -> str:
    """python3.13 if there is one (pyenv's included), else python3.12."""
    for version in ("3.13", "3.12"):
        found = shutil.which(f"python{version}")
        if (
            found
            and subprocess.run([found, "-V"], capture_output=True, check=False).returncode == 0
        ):
            return found
        for cand in sorted(Path.home().glob(f".pyenv/versions/{version}.*/bin/python{version}")):
            return str(cand)
    sys.exit("no python3.13 or python3.12 found: the peers' current releases need one")


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
    parser.add_argument("--python", help="interpreter for the venv (default: 3.13, else 3.12)")
    parser.add_argument("--fresh", action="store_true", help="remove an existing venv first")
    args = parser.parse_args()

    if args.fresh and VENV.exists():
        shutil.rmtree(VENV)
    if not VENV.exists():
        code, _ = run([args.python or find_python(), "-m", "venv", str(VENV)])
        if code:
            return code
    py = str(VENV / "bin" / "python")
    run([py, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    # The project, editable, with orjson (its `bench` extra): our side of the comparison.
    code, _ = run([py, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[bench]"])
    failed: dict[str, str] = {} if code == 0 else {"itick-bot": "pip install -e failed"}
    minor = subprocess.run(
        [py, "-c", "import sys; print(sys.version_info[1])"], capture_output=True, text=True
    ).stdout.strip()
    peers = PEERS if minor and int(minor) >= 13 else PEERS_312
    for name, reqs in peers.items():
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
