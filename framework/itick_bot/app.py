"""The composition root: configuration, simulator, transport, feed, engine, broker and
strategies wired together for the commands."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

import anyio
import anyio.abc
import attrs

from .clock import LiveClock
from .config import AppConfig, FeedConfig, SimSettings, StrategySpec, resolve_feed
from .errors import AuthError, ConfigError, SlowConsumerError

if TYPE_CHECKING:
    from types import FrameType

    from .bars import BarStore
    from .clock import Clock
    from .engine import Engine
    from .feed import EventInbox, FeedClient, FrameRecorder
    from .record import Recorder

__all__ = [
    "FeedTarget",
    "LoadedStrategy",
    "RunResult",
    "Stop",
    "StopSignals",
    "feed_target",
    "load_strategies",
    "make_bar_store",
    "make_feed_client",
    "make_inbox",
    "make_recorder",
    "run_bot",
    "run_feed",
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
class Stop:
    """Why a run stopped: `kind` for machines, `reason` for people."""

    kind: str
    """"duration", "signal", "strategies_failed", "fell_behind" or "feed_ended"."""
    reason: str


@attrs.frozen
class RunResult:
    report: dict[str, Any]
    all_failed: bool
    stop: Stop


_STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """SIGINT and SIGTERM recorded rather than acted on, so that `itick-bot run` ends with its
    report whenever one comes: the command installs this as it starts (before its imports, the
    config, the strategies and the simulator, where Python would otherwise end the process with
    no report), and `run_bot` honours a request already made as soon as it can stop gracefully.

    A second signal stops at once, as if none of this were installed: the way out of a stop
    that hangs (an `on_stop` that never returns, say)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        """The first stop signal received, if any."""
        self.forced = False
        """A second signal came and was handed to the handler in place before this one."""
        self.on_request: Callable[[], None] | None = None
        """Called (in the signal handler) on the first signal: how a running loop is told."""
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        self.install()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.restore()

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def name(self) -> str:
        return "" if self.signum is None else signal.Signals(self.signum).name

    def install(self) -> None:
        """Record SIGINT and SIGTERM from now on (main thread only, as `signal` requires)."""
        for signum in _STOP_SIGNALS:
            previous = signal.signal(signum, self._record)
            # None: a handler not installed from Python; the default is the nearest to it.
            self._previous.setdefault(signum, signal.SIG_DFL if previous is None else previous)

    def restore(self) -> None:
        """Put back the handlers that were in place before `install`."""
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    @property
    def installed(self) -> bool:
        return bool(self._previous)

    def _record(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None:
            self.signum = signum
            if self.on_request is not None:
                self.on_request()
            return
        self.forced = True
        self.restore()
        signal.raise_signal(signum)


async def run_bot(
    config: AppConfig,
    loaded: Sequence[LoadedStrategy],
    *,
    duration: float | None,
    environ: Mapping[str, str],
    out: TextIO,
    record: Path | None = None,
    stop: StopSignals | None = None,
) -> RunResult:
    """Connect, run the strategies until `duration`, SIGINT/SIGTERM, the end of the feed, every
    strategy failing or the engine falling behind the feed; return the run report, which says
    which of these stopped it. Raises `AuthError` for a refused key.

    With `stop` (installed by the command as it starts), a signal that came before the run could
    stop gracefully stops it before it connects, still with its report. With `record`, every
    frame received, every connection event and every idle tick of the engine is written there
    (`itick_bot.record`), so `itick-bot backtest` replays this run."""
    from ._logging import get_logger
    from .broker import PaperBroker
    from .engine import Engine, EngineClock, MarketState
    from .record import ensure_new
    from .report import build_run_report

    log = get_logger("itick_bot.run")
    stop = stop or StopSignals()
    wall = LiveClock()
    started_ns = wall.time_ns()
    async with feed_target(config.feed, environ, config.sim) as target:
        print(f"itick-bot run: connecting to {target.describe()}", file=out, flush=True)
        clock = EngineClock(started_ns)
        broker = PaperBroker(config.broker, clock)
        print(f"itick-bot run: paper ledger {broker.start_note}", file=out, flush=True)
        try:
            market = MarketState(make_bar_store(config))
            if config.bars.backfill and not stop.requested:
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
            recorder = (
                make_recorder(config, target, ensure_new(record), wall)
                if record is not None
                else None
            )
            if recorder is not None:
                engine.on_tick = recorder.tick
                print(f"itick-bot run: recording to {recorder.path}", file=out, flush=True)
            inbox = make_inbox(config, "the engine")
            client = make_feed_client(config, target, inbox, wall, log, recorder)
            try:
                ended = await _run_live(
                    config, engine, client, inbox, wall, recorder, stop, duration=duration
                )
            finally:
                if recorder is not None:
                    recorder.close()
            report = build_run_report(
                engine=engine,
                broker=broker,
                feed=client.report(wall.time_ns()),
                started_ns=started_ns,
                ended_ns=wall.time_ns(),
                target=target.describe(),
                sources={item.name: item.source for item in loaded},
                stopped=ended.kind,
                stop_reason=ended.reason,
            )
        finally:
            broker.close()
    return RunResult(
        report,
        all_failed=bool(engine.runners) and all(r.state == "failed" for r in engine.runners),
        stop=ended,
    )


async def _run_live(
    config: AppConfig,
    engine: Engine,
    client: FeedClient,
    inbox: EventInbox,
    wall: LiveClock,
    recorder: Recorder | None,
    stop: StopSignals,
    *,
    duration: float | None,
) -> Stop:
    """The feed and the engine until something stops them; what did. Raises `AuthError` for a
    refused key."""
    refused: list[BaseException] = []
    behind: list[int] = []

    # The start of the run is the first record, so a backtest starts its strategies at the same
    # time as this run did.
    start_ns = wall.time_ns()
    if recorder is not None:
        recorder.tick(start_ns)
    timer: anyio.CancelScope | None = None
    async with anyio.create_task_group() as tg:
        # Started (not just scheduled) before any strategy code runs, so that a signal during
        # a slow on_start also stops the run gracefully.
        await tg.start(_cancel_on_signal, tg.cancel_scope, stop)
        # A signal before the receiver was up (the config, the simulator's start): stop here,
        # before connecting and before any strategy has started (and perhaps sent orders).
        if not stop.requested:
            if recorder is not None:
                tg.start_soon(recorder.run_flusher)
            tg.start_soon(run_feed, client, inbox, refused)
            with anyio.move_on_after(duration if duration else float("inf")) as timer:
                try:
                    await engine.run_live(
                        inbox, wall, tick_s=config.engine.tick_ms / 1000, start_ns=start_ns
                    )
                except* SlowConsumerError:
                    # The engine's own inbox overflowed: run_live has stopped the strategies
                    # (on_stop ran) and the ledger holds every fill, so the report can follow.
                    behind.append(inbox.peak_pending)
        tg.cancel_scope.cancel()
    if refused:
        raise refused[0]
    if behind:
        return Stop(
            "fell_behind",
            f"the engine fell {behind[0]} events behind the feed "
            f"(more than [feed] max_pending = {config.feed.max_pending})",
        )
    return _why_stopped(engine, stop, timer, duration)


def _why_stopped(
    engine: Engine, stop: StopSignals, timer: anyio.CancelScope | None, duration: float | None
) -> Stop:
    """What ended a run that did not fall behind. `timer` is the scope of `--duration`, None
    when a signal came before the run started. `--duration` is asked first: a signal while the
    strategies stop at its end does not make the run a signalled one."""
    if timer is not None and timer.cancelled_caught:
        return Stop("duration", f"--duration {duration:g} s elapsed")
    if stop.requested:
        early = " before the run started (no strategy was started)" if timer is None else ""
        return Stop("signal", f"{stop.name} received{early}")
    if engine.all_failed.is_set():
        return Stop("strategies_failed", "every strategy stopped on an error")
    return Stop("feed_ended", "the feed ended")


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


def make_recorder(
    config: AppConfig,
    target: FeedTarget,
    path: Path,
    clock: Clock,
    *,
    rotate_mb: float | None = None,
    rotate_minutes: float | None = None,
) -> Recorder:
    """The recorder of a session at `path` (checked with `record.ensure_new` by the caller),
    its header naming the feed; `[record]` settings unless given."""
    from . import __version__
    from .record import Recorder

    return Recorder(
        path,
        rotate_mb=config.record.rotate_mb if rotate_mb is None else rotate_mb,
        rotate_minutes=config.record.rotate_minutes if rotate_minutes is None else rotate_minutes,
        compresslevel=config.record.compress_level,
        header_fields={
            "url": target.url,
            "symbols": list(config.feed.symbols),
            "types": list(config.feed.types),
            "region": config.feed.region,
            "simulated": target.simulated,
            "itick_bot": __version__,
        },
        clock=clock,
    )


async def run_feed(client: FeedClient, inbox: EventInbox, refused: list[BaseException]) -> None:
    """Run the feed until it ends, then close `inbox` so that its consumer ends too. A refused
    key goes to `refused`, for the caller to raise once its task group is done (raised in the
    group, it would arrive wrapped in an exception group)."""
    try:
        await client.run()
    except AuthError as exc:
        refused.append(exc)
    finally:
        inbox.close()


def make_inbox(config: AppConfig, name: str) -> EventInbox:
    """The inbox the feed fills for `name` (the engine, `tail`, `record`), as `[feed]` says."""
    from .feed import EventInbox

    return EventInbox(config.feed.max_pending, name=name, conflate_after=config.feed.conflate_after)


async def _cancel_on_signal(
    scope: anyio.CancelScope,
    stop: StopSignals,
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Cancel `scope` on the first SIGINT or SIGTERM.

    The handlers stay Python's own (`StopSignals`), not the event loop's: a second signal must
    still reach a loop that is stuck in a strategy's synchronous code (an `on_stop` that never
    returns), where a loop's handler would only queue it."""
    own = not stop.installed
    if own:
        stop.install()  # run_bot called from Python, not by the command
    loop = asyncio.get_running_loop()

    def cancel() -> None:  # in a signal handler: only tell the loop
        loop.call_soon_threadsafe(scope.cancel)

    stop.on_request = cancel
    try:
        task_status.started()
        if stop.requested:
            scope.cancel()
        await anyio.sleep_forever()
    finally:
        stop.on_request = None
        if own:
            stop.restore()
