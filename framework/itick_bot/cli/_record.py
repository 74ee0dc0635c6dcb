"""`itick-bot record`: write every received frame and connection event to a recording."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any, TextIO

import anyio

from .._logging import configure_logging, get_logger
from ..app import feed_target, make_feed_client, make_inbox, make_recorder
from ..clock import LiveClock
from ..config import AppConfig, load_config
from ..errors import ConfigError, ItickBotError, SlowConsumerError
from ..feed import FeedClient
from ..record import Recorder, ensure_new
from ._feedargs import add_feed_arguments, apply_feed_arguments

__all__ = ["register"]

_EPILOG = """\
examples:
  itick-bot record --url sim --duration 60 --out sim-session.itrec.gz
        a minute of the built-in simulator: no key, no network
  ITICK_TOKEN=... itick-bot record --config my.toml --out btc --rotate-mb 100
        the live feed until Ctrl-C, in btc.itrec.gz, btc.0001.itrec.gz, ... of 100 MB each
  itick-bot backtest strategies/spread.py --data btc.itrec.gz
        replay it (the rotated parts come along)
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record the raw feed to a file, for backtests",
        description="Connect, subscribe and write every received frame, verbatim, with its "
        "receive time, and every connection event to a compressed recording (the key is never "
        "written). A crash loses at most the last second. Stops on --duration or Ctrl-C.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="the recording (.itrec.gz is added if missing)"
    )
    add_feed_arguments(parser)
    parser.add_argument(
        "--rotate-mb",
        type=float,
        metavar="MB",
        help="start a new file after this many compressed MiB (default: [record] rotate_mb)",
    )
    parser.add_argument(
        "--rotate-minutes",
        type=float,
        metavar="MINUTES",
        help="start a new file after this many minutes (default: [record] rotate_minutes)",
    )
    parser.set_defaults(handler=_handle)


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


class _StatusLine:
    """The live line on a terminal: frames, rate and size, rewritten about once a second."""

    def __init__(self, out: TextIO, recorder: Recorder) -> None:
        self._out = out
        self._recorder = recorder
        self._frames = 0
        self._at = time.monotonic()
        self._ended = False

    async def run(self) -> None:
        while True:
            await anyio.sleep(1.0)
            self.show()

    def show(self) -> None:
        if self._ended:
            return
        rec = self._recorder
        now = time.monotonic()
        rate = (rec.frames - self._frames) / max(now - self._at, 1e-9)
        self._frames, self._at = rec.frames, now
        parts = f" in {len(rec.files)} files" if len(rec.files) > 1 else ""
        self._out.write(
            f"\r\x1b[Krecording: {rec.frames:,} frames, {rate:,.0f}/s, "
            f"{_size(rec.bytes_out)}{parts} -> {rec.path}"
        )
        self._out.flush()

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            self._out.write("\r\x1b[K")
            self._out.flush()


def _summary(recorder: Recorder, client: FeedClient, seconds: float) -> str:
    frames = client.stats.frames
    market = ", ".join(
        f"{kind} {frames[kind]:,}" for kind in ("quote", "tick", "depth", "kline") if frames[kind]
    )
    files = recorder.files
    where = str(files[0]) + (f" (+{len(files) - 1} rotated parts)" if len(files) > 1 else "")
    ratio = recorder.bytes_in / recorder.bytes_out if recorder.bytes_out else 0.0
    lines = [
        f"recorded {recorder.frames:,} frames and {recorder.events:,} connection events "
        f"in {seconds:,.1f} s to {where}",
        f"  frames     {market or 'no market data'}",
        f"  rate       {recorder.frames / max(seconds, 1e-9):,.0f} frames/s",
        f"  size       {_size(recorder.bytes_out)} compressed from {_size(recorder.bytes_in)} "
        f"({ratio:.1f}x)",
        f"  connects   {client.stats.connects}, reconnects {client.stats.reconnects}",
    ]
    if client.stats.malformed:
        detail = ", ".join(f"{k}={v}" for k, v in client.stats.malformed.items())
        lines.append(f"  malformed  {detail} (recorded as received)")
    return "\n".join(lines)


async def _record(config: AppConfig, args: argparse.Namespace) -> int:
    log = get_logger("itick_bot.record")
    clock = LiveClock()
    out = ensure_new(args.out)
    failure: list[BaseException] = []
    async with feed_target(config.feed, os.environ, config.sim) as target:
        recorder = make_recorder(
            config, target, out, clock, rotate_mb=args.rotate_mb, rotate_minutes=args.rotate_minutes
        )
        print(
            f"itick-bot record: connecting to {target.describe()}, recording to {out}",
            file=sys.stderr,
            flush=True,
        )
        inbox = make_inbox(config, "record")
        client = make_feed_client(config, target, inbox, clock, log, recorder)
        status = _StatusLine(sys.stderr, recorder) if sys.stderr.isatty() else None
        started = time.monotonic()
        try:
            async with anyio.create_task_group() as tg:

                async def guarded(job: Any) -> None:
                    # A refused key or a failed write ends the recording, cleanly.
                    try:
                        await job()
                    except ItickBotError as exc:
                        failure.append(exc)
                        tg.cancel_scope.cancel()

                def stopping() -> None:
                    if status is not None:
                        status.end()  # before the feed logs that it stopped
                    tg.cancel_scope.cancel()

                async def feed() -> None:
                    try:
                        await guarded(client.run)
                    finally:
                        inbox.close()

                async def stop_on_signal() -> None:
                    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                        async for _ in signals:
                            stopping()
                            return

                tg.start_soon(feed)
                tg.start_soon(guarded, recorder.run_flusher)
                tg.start_soon(stop_on_signal)
                if status is not None:
                    tg.start_soon(status.run)
                with anyio.move_on_after(args.duration if args.duration else float("inf")):
                    # Nothing reads the events: the recording is the frames themselves.
                    try:
                        while await inbox.get() is not None:
                            while inbox.get_nowait() is not None:
                                pass
                    except SlowConsumerError as exc:
                        failure.append(exc)
                stopping()
        finally:
            if status is not None:
                status.end()
            recorder.close()
    print(_summary(recorder, client, time.monotonic() - started), flush=True)
    if failure:
        raise failure[0]
    return 0


def _handle(args: argparse.Namespace) -> int:
    config = apply_feed_arguments(load_config(args.config), args)
    if (args.rotate_mb or 0) < 0 or (args.rotate_minutes or 0) < 0:
        raise ConfigError("--rotate-mb and --rotate-minutes must be 0 (never) or more")
    ensure_new(args.out)  # before the simulator starts: a clear error, nothing connected
    configure_logging(config.log.level, config.log.format)
    try:
        return anyio.run(_record, config, args)
    except KeyboardInterrupt:
        return 0
