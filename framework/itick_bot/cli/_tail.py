"""`itick-bot tail`: print the normalized feed, one event a line, then the feed's statistics."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any, TextIO

import anyio
import msgspec

from .._logging import configure_logging, get_logger
from ..app import feed_target, make_feed_client, make_inbox, run_feed
from ..clock import LiveClock
from ..config import AppConfig, load_config
from ..errors import SlowConsumerError
from ..model import Bar, Depth, FeedStatus, Quote, Tick
from ._feedargs import add_feed_arguments, apply_feed_arguments

__all__ = ["register"]

_EPILOG = """\
examples:
  itick-bot tail --config config/sim.toml --duration 5
        the built-in simulator: no key, no network
  ITICK_TOKEN=... itick-bot tail --symbols BTCUSDT --types quote,tick
        the live feed: the quickest way to check a key
  itick-bot tail --url sim --json --duration 2 > events.jsonl
        JSON lines, one event each, then a final {"stats": ...} line
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tail",
        help="print normalized market events as they arrive",
        description="Connect, subscribe and print every normalized event, one per line; on "
        "--duration or Ctrl-C, print the feed statistics.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    add_feed_arguments(parser)
    parser.add_argument("--json", action="store_true", help="JSON lines instead of text")
    parser.set_defaults(handler=_handle)


def _text(event: Any) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(event.received_ns / 1e9))
    ms = event.received_ns // 1_000_000 % 1000
    head = f"{stamp}.{ms:03d}"
    if isinstance(event, Quote):
        return (
            f"{head} quote  {event.symbol:<10} last={event.last:<12g} vol={event.volume:g} "
            f"turnover={event.turnover:g} status={event.status}"
        )
    if isinstance(event, Tick):
        return f"{head} tick   {event.symbol:<10} {event.size:g} @ {event.price:g}"
    if isinstance(event, Depth):
        bid = f"{event.bids[0][1]:g} @ {event.bids[0][0]:g}" if event.bids else "-"
        ask = f"{event.asks[0][1]:g} @ {event.asks[0][0]:g}" if event.asks else "-"
        return (
            f"{head} depth  {event.symbol:<10} bid {bid} | ask {ask} "
            f"({len(event.bids)}x{len(event.asks)} levels)"
        )
    if isinstance(event, Bar):
        return (
            f"{head} kline  {event.symbol:<10} {event.interval} open_time={event.open_time} "
            f"o={event.open:g} h={event.high:g} l={event.low:g} c={event.close:g} "
            f"v={event.volume:g}"
        )
    if isinstance(event, FeedStatus):
        return f"{head} feed   {event.state}: {event.reason}"
    return f"{head} {event!r}"


_KIND: dict[type, str] = {
    Quote: "quote",
    Tick: "tick",
    Depth: "depth",
    Bar: "kline",
    FeedStatus: "feed",
}


def _json(event: Any) -> str:
    fields = msgspec.structs.asdict(event)
    return msgspec.json.encode({"event": _KIND.get(type(event), "other"), **fields}).decode()


def _print_stats(stats: dict[str, Any], out: TextIO, as_json: bool) -> None:
    if as_json:
        print(msgspec.json.encode({"stats": stats}).decode(), file=out)
        return
    print("\nfeed statistics", file=out)
    for key, value in stats.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "none"
        elif isinstance(value, list):
            value = "; ".join(value) or "none"
        print(f"  {key.replace('_', ' '):<20} {value}", file=out)


async def _tail(config: AppConfig, args: argparse.Namespace) -> int:
    log = get_logger("itick_bot.tail")
    out = sys.stdout
    render = _json if args.json else _text
    clock = LiveClock()
    async with feed_target(config.feed, os.environ, config.sim) as target:
        print(f"itick-bot tail: connecting to {target.describe()}", file=sys.stderr, flush=True)
        inbox = make_inbox(config, "tail")
        client = make_feed_client(config, target, inbox, clock, log)
        failure: list[BaseException] = []

        async with anyio.create_task_group() as tg:
            tg.start_soon(run_feed, client, inbox, failure)

            async def stop_on_signal() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(stop_on_signal)
            with anyio.move_on_after(args.duration if args.duration else float("inf")):
                try:
                    while (event := await inbox.get()) is not None:
                        print(render(event), file=out)
                except SlowConsumerError as exc:
                    failure.append(exc)
            tg.cancel_scope.cancel()
        _print_stats(client.report(clock.time_ns()), out, args.json)
        out.flush()
    if failure:
        raise failure[0]
    return 0


def _handle(args: argparse.Namespace) -> int:
    config = apply_feed_arguments(load_config(args.config), args)
    configure_logging(config.log.level, config.log.format)
    try:
        return anyio.run(_tail, config, args)
    except KeyboardInterrupt:
        return 0
