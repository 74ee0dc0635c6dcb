"""The composition root: configuration, simulator, transport, feed, engine, broker and
strategies wired together for the commands."""

from __future__ import annotations

import logging
import signal
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import anyio
import anyio.abc
import attrs

from .clock import LiveClock
from .config import AppConfig, FeedConfig, SimSettings, StrategySpec, resolve_feed
from .errors import AuthError, ConfigError

if TYPE_CHECKING:
    from .bars import BarStore
    from .clock import Clock
    from .feed import EventInbox, FeedClient, FrameRecorder
    from .record import Recorder

__all__ = [
    "FeedTarget",
    "LoadedStrategy",
    "RunResult",
    "feed_target",
    "load_strategies",
    "make_bar_store",
    "make_feed_client",
    "run_bot",
    "strategy_specs",
]


@attrs.frozen
class FeedTarget:
    """Where a command connects, with the key to send (None for the simulator)."""

    url: str
    token: str | None = attrs.field(repr=False)
    simulated: bool

    def describe(self) -> str:
        from .feed import public_url

        where = public_url(self.url)
        return f"{where} (built-in simulator, no key needed)" if self.simulated else where


@asynccontextmanager
async def feed_target(
    feed: FeedConfig, environ: Mapping[str, str], sim: SimSettings | None = None
) -> AsyncIterator[FeedTarget]:
    """Resolve `[feed]` to a target; for `url = "sim"` run the simulator (`[sim]`) on a free
    loopback port for as long as the context lasts."""
    url, token = resolve_feed(feed, environ)
    if url != "sim":
        yield FeedTarget(url, token, simulated=False)
        return
    from .sim import SimConfig, Simulator

    # In-process, the simulator's own connection log is noise beside the command's output.
    logging.getLogger("itick_bot.sim").setLevel(logging.WARNING)
    settings = sim or SimSettings()
    simulator = Simulator(
        SimConfig(
            host="127.0.0.1",
            port=0,
            seed=settings.seed,
            rate=settings.rate,
            time_scale=settings.time_scale,
        )
    )
    async with simulator.running():
        yield FeedTarget(simulator.url, None, simulated=True)


def make_feed_client(
    config: AppConfig,
    target: FeedTarget,
    inbox: EventInbox,
    clock: Clock,
    log: Any,
    recorder: FrameRecorder | None = None,
) -> FeedClient:
    """The feed client of `[feed]` on its transport, logging through `log`."""
    from .feed import FeedClient, make_transport

    return FeedClient(
        config.feed,
        url=target.url,
        token=target.token,
        transport=make_transport(config.feed.transport),
        inbox=inbox,
        clock=clock,
        on_warning=lambda msg: log.warning(msg),
        on_info=lambda msg: log.info(msg),
        recorder=recorder,
    )


# -- strategies -------------------------------------------------------------------------------


def strategy_specs(
    config: AppConfig, target: str | None, class_name: str | None = None
) -> list[StrategySpec]:
    """The strategies to run: `[strategy]` (its target replaced by `target` from the command
    line, its parameters kept) and every `[[strategies]]` table."""
    specs = list(config.strategies)
    first = config.strategy
    if target:
        path, entry = (target, "") if _looks_like_path(target) else ("", target)
        base = first or StrategySpec()
        first = attrs.evolve(
            base, path=path, entry_point=entry, class_name=class_name or base.class_name
        )
    elif first is not None and class_name:
        first = attrs.evolve(first, class_name=class_name)
    if first is not None:
        if not first.target:
            raise ConfigError(
                f"{config.source or 'the configuration'}: [strategy] names no path or "
                f"entry_point; give one there or on the command line (itick-bot run PATH|NAME)"
            )
        specs.insert(0, first)
    if not specs:
        raise ConfigError(
            "no strategy to run: give one on the command line (itick-bot run "
            "strategies/spread.py) or in the config ([strategy] path = ...)"
        )
    return specs


def _looks_like_path(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


@attrs.frozen
class LoadedStrategy:
    name: str
    strategy: Any
    source: str


def load_strategies(specs: Sequence[StrategySpec], source: str) -> list[LoadedStrategy]:
    """Import, create and parameterize each strategy (errors name the file or entry point)."""
    from .plugins import resolve_strategy
    from .strategy import apply_params

    loaded: list[LoadedStrategy] = []
    names: set[str] = set()
    for spec in specs:
        cls, origin = resolve_strategy(spec.target, spec.class_name or None)
        strategy = cls()
        where = "[strategy.params]" if spec.table == "[strategy]" else f"{spec.table} params"
        apply_params(strategy, spec.params, f"{source} {where}")
        name = spec.id or cls.__name__
        if name in names:
            raise ConfigError(
                f"{source}: two strategies would be named {name!r}; give each an `id`"
            )
        names.add(name)
        loaded.append(LoadedStrategy(name, strategy, origin))
    return loaded


# -- run --------------------------------------------------------------------------------------


def make_bar_store(config: AppConfig) -> BarStore:
    """The bar store `[bars]` asks for, fed by klines where `[feed] types` subscribes them."""
    from .bars import BarStore

    bars = config.bars
    return BarStore(
        bars.intervals,  # type: ignore[arg-type]  # validated against INTERVALS
        bars.history,
        kline_intervals=bars.kline_intervals(config.feed.types),
        kline_close_grace_ms=bars.kline_close_grace_ms,
        tick_close_grace_ms=bars.tick_close_grace_ms,
    )


@attrs.frozen
class RunResult:
    report: dict[str, Any]
    all_failed: bool


async def run_bot(
    config: AppConfig,
    loaded: Sequence[LoadedStrategy],
    *,
    duration: float | None,
    environ: Mapping[str, str],
    out: TextIO,
    record: Path | None = None,
) -> RunResult:
    """Connect, run the strategies until `duration`, SIGINT/SIGTERM, the end of the feed, or
    every strategy failing; return the run report. Raises `AuthError` for a refused key.

    With `record`, every frame received, every connection event and every idle tick of the
    engine is written there (`itick_bot.record`), so `itick-bot backtest` replays this run."""
    from ._logging import get_logger
    from .broker import PaperBroker
    from .engine import Engine, EngineClock, MarketState
    from .feed import EventInbox
    from .report import build_run_report

    log = get_logger("itick_bot.run")
    wall = LiveClock()
    started_ns = wall.time_ns()
    async with feed_target(config.feed, environ, config.sim) as target:
        print(f"itick-bot run: connecting to {target.describe()}", file=out, flush=True)
        clock = EngineClock(started_ns)
        broker = PaperBroker(config.broker, clock)
        print(f"itick-bot run: paper ledger {broker.start_note}", file=out, flush=True)
        try:
            market = MarketState(make_bar_store(config))
            if config.bars.backfill:
                await _backfill(config, target, market, out)
            engine = Engine(
                market=market,
                broker=broker,
                clock=clock,
                max_backlog=config.engine.max_backlog,
                lag_clock=wall,
                logger=lambda name: get_logger("itick_bot.strategy").bind(strategy=name),
            )
            for item in loaded:
                engine.add(item.strategy, item.name)
            recorder = _recorder(config, target, record, wall) if record is not None else None
            if recorder is not None:
                engine.on_tick = recorder.tick
                print(f"itick-bot run: recording to {recorder.path}", file=out, flush=True)
            inbox = EventInbox(config.feed.max_pending, name="the engine")
            client = make_feed_client(config, target, inbox, wall, log, recorder)
            refused: list[AuthError] = []

            async def feed() -> None:
                try:
                    await client.run()
                except AuthError as exc:
                    refused.append(exc)
                finally:
                    inbox.close()

            # The start of the run is the first record, so a backtest starts its strategies at
            # the same time as this run did.
            start_ns = wall.time_ns()
            if recorder is not None:
                recorder.tick(start_ns)
            try:
                async with anyio.create_task_group() as tg:
                    # Started (not just scheduled) before any strategy code runs, so that a
                    # signal during a slow on_start also stops the run gracefully.
                    await tg.start(_cancel_on_signal, tg.cancel_scope)
                    if recorder is not None:
                        tg.start_soon(recorder.run_flusher)
                    tg.start_soon(feed)
                    with anyio.move_on_after(duration if duration else float("inf")):
                        await engine.run_live(
                            inbox, wall, tick_s=config.engine.tick_ms / 1000, start_ns=start_ns
                        )
                    tg.cancel_scope.cancel()
            finally:
                if recorder is not None:
                    recorder.close()
            if refused:
                raise refused[0]
            report = build_run_report(
                engine=engine,
                broker=broker,
                feed=client.report(wall.time_ns()),
                started_ns=started_ns,
                ended_ns=wall.time_ns(),
                target=target.describe(),
                sources={item.name: item.source for item in loaded},
            )
        finally:
            broker.close()
    return RunResult(
        report,
        all_failed=bool(engine.runners)
        and not any(r.state in ("running", "stopped") for r in engine.runners),
    )


async def _backfill(config: AppConfig, target: FeedTarget, market: Any, out: TextIO) -> None:
    """Warm the bars over REST before any strategy starts; problems are reported, not fatal."""
    from .backfill import backfill

    report = await backfill(
        market.bars,
        target.url,
        target.token,
        config.feed.symbols,
        None,
        config.bars.backfill,
        region=config.feed.region,
    )
    for line in report.lines():
        print(f"itick-bot run: {line}", file=out, flush=True)


def _recorder(config: AppConfig, target: FeedTarget, path: Path, wall: LiveClock) -> Recorder:
    from . import __version__
    from .record import Recorder, ensure_new

    return Recorder(
        ensure_new(path),
        rotate_mb=config.record.rotate_mb,
        rotate_minutes=config.record.rotate_minutes,
        compresslevel=config.record.compress_level,
        header_fields={
            "url": target.url,
            "symbols": list(config.feed.symbols),
            "types": list(config.feed.types),
            "region": config.feed.region,
            "simulated": target.simulated,
            "itick_bot": __version__,
        },
        clock=wall,
    )


async def _cancel_on_signal(
    scope: anyio.CancelScope, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started()
        async for _ in signals:
            scope.cancel()
            return
