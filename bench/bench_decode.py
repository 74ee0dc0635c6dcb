"""Decode cost per frame: the project's decoder against bare `orjson.loads` of the same frames.

    python bench/bench_decode.py

Prints µs per frame for quote, depth, tick and kline (flat and legacy), and the ratio to orjson in
the same run. `decode_frame` does more than orjson (typed validation, numeric-string tolerance,
symbol canonicalization, building the frozen event), so the ratio is the price of that work.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _util import machine, per_call_us

from itick_bot.protocol import decode_frame

DATA = Path(__file__).parent.parent / "tests" / "data" / "itick"
FRAMES = {
    "quote": (DATA / "quote_eth.json").read_text().strip(),
    "depth (5x5)": (DATA / "depth_eth.json").read_text().strip(),
    "tick": (DATA / "tick_forex.json").read_text().strip(),
    "kline flat": (DATA / "kline_flat.json").read_text().strip(),
    "kline legacy": (DATA / "kline_nested_code0.json").read_text().strip(),
}
NUMBER = 50_000


def main() -> None:
    print(f"decode cost per frame ({machine()}), median of 7 x {NUMBER:,} calls")
    print(f"{'frame':<14} {'decode_frame µs':>16} {'orjson.loads µs':>16} {'ratio':>7}")
    for name, text in FRAMES.items():
        ours = per_call_us(lambda t=text: decode_frame(t, 1), number=NUMBER)
        bare = per_call_us(lambda t=text: orjson.loads(t), number=NUMBER)
        print(f"{name:<14} {ours:>16.2f} {bare:>16.2f} {ours / bare:>7.2f}")


if __name__ == "__main__":
    main()
