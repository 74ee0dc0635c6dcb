"""The feed client against the simulator over a real loopback socket (httpx-ws transport)."""

from __future__ import annotations

import functools
import random
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio
import attrs
import pytest

from itick_bot.config import FeedConfig
from itick_bot.errors import AuthError
from itick_bot.feed import EventInbox, FeedClient, Transport, make_transport
from itick_bot.model import Bar, Depth, FeedStatus, Quote, Tick
from itick_bot.sim import SimConfig, Simulator

KEY = "e2e-test-key-0123456789abcdefghijklmnop"
FEED = FeedConfig(
    symbols=("BTCUSDT", "ETHUSDT"),
    types=("quote", "depth", "tick", "kline@1"),
    ping_interval=0.2,
    pong_timeout=2.0,
    stale_timeout=2.0,
    backoff_initial=0.01,
    backoff_max=0.05,
    knockoff_window=5.0,
    knockoff_backoff=0.1,
)
FAST_MARKET = SimConfig(seed=3, rate=100, time_scale=60)


class Run:
    def __init__(self, sim: Simulator, feed: FeedConfig, token: str, transport: Transport) -> None:
        self.sim = sim
        self.inbox = EventInbox(name="test")
        self.warnings: list[str] = []
        self.client = FeedClient(
            feed,
            url=sim.url,
            token=token,
            transport=transport,
            inbox=self.inbox,
            rng=random.Random(5),
            on_warning=self.warnings.append,
        )
        self.error: BaseException | None = None
        self.seen: list[Any] = []

    async def feed(self) -> None:
        try:
            await self.client.run()
        except AuthError as exc:
            self.error = exc
        finally:
            self.inbox.close()

    async def until(self, predicate: Any) -> Any:
        """The next event for which `predicate(event)` holds."""
        while (event := await self.inbox.get()) is not None:
            self.seen.append(event)
            if predicate(event):
                return event
        raise AssertionError("the feed ended first")

    async def status(self, state: str) -> FeedStatus:
        event: FeedStatus = await self.until(
            lambda e: isinstance(e, FeedStatus) and e.state == state
        )
        return event


@asynccontextmanager
async def _feed_against(
    transport: Transport,
    sim_config: SimConfig = FAST_MARKET,
    feed: FeedConfig = FEED,
    token: str = KEY,
) -> AsyncIterator[Run]:
    with anyio.fail_after(20):
        async with Simulator(sim_config).running() as sim, anyio.create_task_group() as tg:
            run = Run(sim, feed, token, transport)
            tg.start_soon(run.feed)
            yield run
            tg.cancel_scope.cancel()


async def test_every_subscribed_kind_streams_normalized_and_nothing_is_malformed(
    feed_against: FeedAgainst,
) -> None:
    async with feed_against() as run:
        await run.status("connected")
        wanted = {Quote, Depth, Tick, Bar}
        got: set[type] = set()
        while got != wanted:
            event = await run.until(lambda e: type(e) in wanted)
            got.add(type(event))
            assert event.symbol in {"BTCUSDT", "ETHUSDT"}
        stats = run.client.stats
        assert stats.malformed_total == 0
        assert stats.connects == 1
        assert stats.frames["auth"] == 1
        assert stats.frames["subscribe"] == 1


async def test_a_refused_key_ends_the_feed_with_an_auth_error_and_no_retry(
    feed_against: FeedAgainst,
) -> None:
    async with feed_against(attrs.evolve(FAST_MARKET, token="the-right-key")) as run:
        await run.until(lambda e: isinstance(e, FeedStatus) and e.state == "stopped")
        assert isinstance(run.error, AuthError)
        assert run.sim.stats.auths_failed == 1
        assert run.sim.stats.connections_accepted == 1


async def test_a_refused_subscription_is_reported_and_the_connection_stays(
    feed_against: FeedAgainst,
) -> None:
    async with feed_against(attrs.evolve(FAST_MARKET, max_symbols=1)) as run:
        await run.status("connected")
        # Pongs keep coming after the refusal: the connection is alive and was kept.
        await run.sim.wait_until(lambda stats: stats.pings_answered >= 2)
        assert len(run.client.stats.subscribe_refused) == 1
        assert "exceeding the maximum subscription limit" in run.client.stats.subscribe_refused[0]
        assert run.client.stats.connects == 1
        assert run.client.stats.reconnects == 0


async def test_a_dropped_connection_reconnects_and_resubscribes_everything(
    feed_against: FeedAgainst,
) -> None:
    async with feed_against() as run:
        await run.status("connected")
        await run.until(lambda e: isinstance(e, Tick))
        run.sim.drop_all()
        reconnecting = await run.status("reconnecting")
        assert "code 1011" in reconnecting.reason
        await run.status("recovered")
        await run.sim.wait_for_subscriptions(2)
        await run.until(lambda e: isinstance(e, Depth))
        assert run.client.stats.reconnects == 1
        assert run.sim.stats.subscriptions == 2


async def test_a_silent_connection_is_detected_as_stale_and_replaced(
    feed_against: FeedAgainst,
) -> None:
    feed = attrs.evolve(FEED, stale_timeout=0.4, pong_timeout=5.0)
    async with feed_against(feed=feed) as run:
        await run.status("connected")
        run.sim.set_silent(True)
        stale = await run.status("stale")
        assert "no frame for" in stale.reason
        run.sim.set_silent(False)
        await run.status("recovered")
        await run.until(lambda e: isinstance(e, Quote))
        assert any(key.startswith("no frame for") for key in run.client.stats.drops)


async def test_malformed_frames_are_counted_and_skipped_while_good_data_flows(
    feed_against: FeedAgainst,
) -> None:
    async with feed_against(attrs.evolve(FAST_MARKET, malformed_every=4)) as run:
        await run.status("connected")
        while run.client.stats.malformed_total < 10:
            await run.until(lambda e: isinstance(e, Quote | Depth | Tick))
        assert run.client.stats.connects == 1
        assert set(run.client.stats.malformed) <= {
            "invalid_json",
            "binary_frame",
            "unknown_type",
            "bad_number",
            "missing_field",
        }
        assert len(run.client.stats.malformed) >= 3


async def test_being_knocked_off_repeatedly_is_named_and_backed_off(
    feed_against: FeedAgainst,
) -> None:
    async with feed_against(attrs.evolve(FAST_MARKET, knock_off=True)) as run:
        knocked = await run.until(
            lambda e: isinstance(e, FeedStatus) and e.reason.startswith("knocked off")
        )
        assert "same key" in knocked.reason
        assert any("another client with the same key" in w for w in run.warnings)
        assert run.client.stats.connects >= 3


async def test_a_429_handshake_waits_for_retry_after_then_connects(
    feed_against: FeedAgainst,
) -> None:
    async with feed_against(attrs.evolve(FAST_MARKET, reject_connects=1)) as run:
        reconnecting = await run.status("reconnecting")
        assert "HTTP 429" in reconnecting.reason
        await run.status("connected")
        assert run.client.stats.handshake_failures == 1


@pytest.mark.parametrize("legacy", [True, False])
async def test_both_kline_formats_arrive_as_bars(legacy: bool, feed_against: FeedAgainst) -> None:
    config = attrs.evolve(FAST_MARKET, kline_format="legacy" if legacy else "flat")
    async with feed_against(config) as run:
        bar = await run.until(lambda e: isinstance(e, Bar))
        assert bar.interval == "1m"
        assert bar.open_time % 60_000 == 0
        assert run.client.stats.malformed_total == 0


FeedAgainst = Callable[..., AbstractAsyncContextManager[Run]]


@pytest.fixture(params=["websockets", "httpx-ws"])
def feed_against(request: pytest.FixtureRequest) -> FeedAgainst:
    """`feed_against(sim_config, feed, token)`: a feed client on a running simulator, on each of
    the two transports in turn (every test here runs on both)."""
    return functools.partial(_feed_against, make_transport(request.param))
