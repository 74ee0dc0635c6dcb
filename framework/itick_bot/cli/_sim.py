"""`itick-bot sim`: serve the iTick simulator on a local port until stopped."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

import anyio

from .._logging import LOG_LEVELS, configure_logging
from ..sim import MALFORMED_KINDS, SimConfig, Simulator

__all__ = ["register"]

_EPILOG = """\
examples:
  itick-bot sim                               # ws://127.0.0.1:<free port>/crypto, any key
  itick-bot sim --port 8765 --token secret    # only the key "secret" is accepted
  itick-bot sim --rate 50 --time-scale 60     # 50 updates/s per symbol, 1-minute bars each second
  itick-bot sim --duration 30 --seed 7        # the same market every run, stop after 30 s
  itick-bot sim --drop-after 5                # every connection dropped (1011) 5 s after auth
  itick-bot sim --malformed-every 10          # every 10th data frame is malformed
  itick-bot sim --rate 0                      # flood: as fast as each client reads (benchmarks)
  itick-bot sim --rest-rate-limit 3           # the first 3 REST requests answer HTTP 429

The first line on stdout names the URL. Paths /crypto, /stock, /forex, /indices, /future, /fund
and the legacy /cws, /sws, /fws, /iws all speak the same protocol. Ctrl-C or SIGTERM stops it.
REST history: GET http://HOST:PORT/crypto/kline?region=BA&code=BTCUSDT&kType=1&limit=500[&et=MS]
(any market path; the same key check as the WebSocket, HTTP 401 for a wrong or missing key).
Close codes: 1008 auth failed or slow consumer, 1011 dropped, 4001 knocked off, 1000 after an
unsubscribe, 1001 simulator stopping.
"""


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number >= 0")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def _malformed_kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(k.strip() for k in text.split(",") if k.strip())
    unknown = [k for k in kinds if k not in MALFORMED_KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(
            f"unknown malformation {', '.join(unknown) or '(none)'}; "
            f"choose from {','.join(MALFORMED_KINDS)}"
        )
    return kinds


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="serve the iTick simulator (a local WebSocket server with switchable faults)",
        description=(
            "Serve a WebSocket server on loopback that speaks iTick's protocol, with a seeded "
            "market for any symbol a client subscribes to, and faults for testing clients."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=_EPILOG,
    )
    net = parser.add_argument_group("server")
    net.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s)")
    net.add_argument(
        "--port", type=_non_negative_int, default=0, help="port; 0 picks a free one (default)"
    )
    net.add_argument(
        "--token", default=None, help="the only key accepted (default: any key, or none)"
    )
    net.add_argument(
        "--duration", type=_positive_float, default=None, help="stop after this many seconds"
    )
    market = parser.add_argument_group("market")
    market.add_argument("--seed", type=int, default=0, help="market seed (%(default)s)")
    market.add_argument(
        "--rate",
        type=_non_negative_float,
        default=10.0,
        help="market updates per second per symbol; 0 = as fast as clients read (%(default)s)",
    )
    market.add_argument(
        "--time-scale",
        type=_positive_float,
        default=1.0,
        help="market clock speed relative to the wall clock (%(default)s)",
    )
    market.add_argument(
        "--volatility",
        type=_non_negative_float,
        default=1e-4,
        help="relative move of the mid per second of market time (%(default)s)",
    )
    market.add_argument(
        "--kline-format",
        choices=("flat", "legacy"),
        default="flat",
        help="flat `kline@N` frames or the legacy nested form (%(default)s)",
    )
    market.add_argument(
        "--symbol-style",
        choices=("canonical", "underscore", "lower", "mixed"),
        default="canonical",
        help="how frames spell symbols, e.g. underscore = ETH_USDT (%(default)s)",
    )
    market.add_argument(
        "--no-region",
        action="store_true",
        help='never put "r" in frames, even for clients that subscribed with a region',
    )
    faults = parser.add_argument_group("faults")
    faults.add_argument("--fail-auth", action="store_true", help="refuse every key")
    faults.add_argument(
        "--max-symbols",
        type=_non_negative_int,
        default=500,
        help="subscription limit per connection (%(default)s)",
    )
    faults.add_argument(
        "--drop-after",
        type=_non_negative_float,
        metavar="S",
        help="close each connection with 1011 S seconds after its auth",
    )
    faults.add_argument(
        "--silent", action="store_true", help="send nothing, answer no pings; sockets stay open"
    )
    faults.add_argument(
        "--silent-after",
        type=_non_negative_float,
        metavar="S",
        help="each connection goes silent S seconds after its auth",
    )
    faults.add_argument(
        "--malformed-every",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="make every Nth data frame malformed",
    )
    faults.add_argument(
        "--malformed-kinds",
        type=_malformed_kinds,
        default=None,
        metavar="LIST",
        help=f"malformations to rotate through, from {','.join(MALFORMED_KINDS)} "
        "(default: all but oversize)",
    )
    faults.add_argument(
        "--knock-off",
        action="store_true",
        help="close every connection (4001) right after its auth, as a second client would",
    )
    faults.add_argument(
        "--knock-off-after",
        type=_non_negative_float,
        metavar="S",
        help="knock each connection off S seconds after its auth",
    )
    faults.add_argument(
        "--one-connection-per-key",
        action="store_true",
        help="a new connection with a key knocks off older ones with the same key",
    )
    faults.add_argument(
        "--max-buffered-frames",
        type=_non_negative_int,
        default=10_000,
        metavar="N",
        help="frames queued for a client before it is closed as a slow consumer (%(default)s)",
    )
    faults.add_argument(
        "--reject-connects",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="refuse the first N handshakes with HTTP 429 and Retry-After: 1",
    )
    rest = parser.add_argument_group("REST faults (GET /MARKET/kline)")
    rest.add_argument(
        "--rest-fail-auth", action="store_true", help="refuse every REST request with HTTP 401"
    )
    rest.add_argument(
        "--rest-rate-limit",
        type=_non_negative_int,
        default=0,
        metavar="N",
        help="answer the first N REST requests with HTTP 429",
    )
    rest.add_argument(
        "--rest-retry-after",
        type=_non_negative_int,
        default=1,
        metavar="S",
        help="the Retry-After of those 429 answers, in seconds (%(default)s)",
    )
    rest.add_argument(
        "--rest-empty", action="store_true", help="answer every kline request with no history"
    )
    logs = parser.add_argument_group("logging")
    logs.add_argument("--log-level", choices=LOG_LEVELS, default="info", help="(%(default)s)")
    logs.add_argument(
        "--log-format", choices=("auto", "console", "json"), default="auto", help="(%(default)s)"
    )
    parser.set_defaults(handler=run_sim)


def config_from_args(args: argparse.Namespace) -> SimConfig:
    extra: dict[str, Any] = {}
    if args.malformed_kinds is not None:
        extra["malformed_kinds"] = args.malformed_kinds
    return SimConfig(
        host=args.host,
        port=args.port,
        token=args.token,
        seed=args.seed,
        rate=args.rate,
        time_scale=args.time_scale,
        volatility=args.volatility,
        echo_region=not args.no_region,
        kline_format=args.kline_format,
        symbol_style=args.symbol_style,
        fail_auth=args.fail_auth,
        max_symbols=args.max_symbols,
        drop_after=args.drop_after,
        silent=args.silent,
        silent_after=args.silent_after,
        malformed_every=args.malformed_every,
        knock_off=args.knock_off,
        knock_off_after=args.knock_off_after,
        one_connection_per_key=args.one_connection_per_key,
        max_buffered_frames=args.max_buffered_frames,
        reject_connects=args.reject_connects,
        rest_fail_auth=args.rest_fail_auth,
        rest_rate_limit=args.rest_rate_limit,
        rest_retry_after=args.rest_retry_after,
        rest_empty=args.rest_empty,
        **extra,
    )


async def _serve(config: SimConfig, duration: float | None) -> None:
    sim = Simulator(config)
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with sim.running():
            paths = "also /cws, /stock, /forex, /indices, /future, /fund"
            print(f"itick-bot simulator listening on {sim.url} ({paths})", flush=True)
            with anyio.move_on_after(duration if duration is not None else float("inf")):
                async for _ in signals:
                    break
        stats = sim.stats
        frames = sum(stats.frames_sent.values())
        print(
            f"itick-bot simulator stopped: {stats.connections_accepted} connections, "
            f"{stats.subscriptions} subscriptions, {frames} frames sent",
            flush=True,
        )


def run_sim(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    configure_logging(args.log_level, args.log_format, sys.stderr)
    anyio.run(_serve, config, args.duration)
    return 0
