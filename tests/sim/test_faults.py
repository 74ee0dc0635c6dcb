"""Every fault switch, as a config field and at run time, against a real loopback client."""

from __future__ import annotations

import time

import anyio
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from itick_bot.model import Depth
from itick_bot.protocol import AuthFailed, Connected, Malformed, Pong, Subscribed
from itick_bot.sim import (
    CLOSE_AUTH_FAILED,
    CLOSE_DROPPED,
    CLOSE_KNOCKED_OFF,
    CLOSE_SLOW_CONSUMER,
    MALFORMED_KINDS,
    SimConfig,
    Simulator,
)

from .helpers import Client, client


async def closed_with(c: Client) -> ConnectionClosed:
    return await c.closed()


async def streaming(c: Client, params: str = "BTCUSDT$BA", types: str = "depth") -> None:
    await c.ready()
    await c.subscribe(params, types)
    await c.expect(Subscribed)
    await c.expect(Depth)


# -- auth ---------------------------------------------------------------------------------------
async def test_fail_auth_refuses_every_key() -> None:
    async with Simulator(SimConfig(fail_auth=True)).running() as sim, client(sim.url) as c:
        assert isinstance(await c.event(), Connected)
        assert isinstance(await c.event(), AuthFailed)
        closed = await closed_with(c)
    assert closed.rcvd is not None
    assert closed.rcvd.code == CLOSE_AUTH_FAILED


async def test_fail_auth_switched_at_run_time_refuses_the_next_connection(sim: Simulator) -> None:
    async with client(sim.url) as first:
        await first.ready()
        sim.set_fail_auth(True)
        async with client(sim.url) as second:
            assert isinstance(await second.event(), Connected)
            assert isinstance(await second.event(), AuthFailed)
        await first.send({"ac": "ping", "params": "1"})
        await first.expect(Pong)  # an authenticated connection is not touched


# -- drop ---------------------------------------------------------------------------------------
async def test_drop_all_closes_every_connection_with_1011(sim: Simulator) -> None:
    async with client(sim.url) as a, client(sim.url) as b:
        await streaming(a)
        await streaming(b)
        assert sim.drop_all() == 2
        for c in (a, b):
            closed = await closed_with(c)
            assert closed.rcvd is not None
            assert closed.rcvd.code == CLOSE_DROPPED
    assert sim.stats.clients_dropped == 2


async def test_abrupt_drop_cuts_the_connection_without_a_close_frame(sim: Simulator) -> None:
    async with client(sim.url) as c:
        await streaming(c)
        sim.drop_all(abrupt=True)
        closed = await closed_with(c)
    assert closed.rcvd is None


async def test_drop_after_closes_each_connection_that_long_after_auth() -> None:
    async with Simulator(SimConfig(rate=100, drop_after=0.2)).running() as sim:
        async with client(sim.url) as c:
            await streaming(c)
            started = time.monotonic()
            closed = await closed_with(c)
        assert time.monotonic() - started < 1.0
        assert closed.rcvd is not None
        assert closed.rcvd.code == CLOSE_DROPPED
        # A reconnect is served again, and dropped again.
        async with client(sim.url) as again:
            await again.ready()
            await closed_with(again)
        assert sim.stats.clients_dropped == 2


# -- silence ------------------------------------------------------------------------------------
async def test_silent_stops_data_and_pongs_but_keeps_the_socket_open(sim: Simulator) -> None:
    async with client(sim.url) as c:
        await streaming(c)
        sim.set_silent(True)
        await c.drain_until_quiet()  # what was already queued may still arrive
        await c.send({"ac": "ping", "params": "1"})
        with anyio.move_on_after(0.3) as quiet:
            await c.event()
        assert quiet.cancelled_caught, "a silent server sent something"
        await c.ws.ping()  # the socket itself is alive: WebSocket-level pings are answered
        sim.set_silent(False)
        await c.expect(Depth)
        await c.send({"ac": "ping", "params": "2"})
        assert (await c.expect(Pong)).params == "2"


async def test_silent_after_mutes_each_connection_that_long_after_auth() -> None:
    config = SimConfig(rate=100, silent_after=0.2)
    async with Simulator(config).running() as sim, client(sim.url) as c:
        await streaming(c)
        with anyio.fail_after(2):
            await c.drain_until_quiet(quiet_s=0.3)
        await c.send({"ac": "ping", "params": "1"})
        with anyio.move_on_after(0.3) as quiet:
            await c.event()
        assert quiet.cancelled_caught


# -- malformed frames ---------------------------------------------------------------------------
async def test_malformed_every_rotates_through_every_malformation_while_data_flows() -> None:
    config = SimConfig(rate=200, malformed_every=3, malformed_kinds=MALFORMED_KINDS)
    async with Simulator(config).running() as sim, client(sim.url, max_size=None) as c:
        await c.ready()
        await c.subscribe("BTCUSDT$BA", "quote,depth,tick")
        await c.expect(Subscribed)
        reasons: set[str] = set()
        good = 0
        with anyio.fail_after(5):
            while reasons != set(MALFORMED_KINDS):
                event = await c.event()
                if isinstance(event, Malformed):
                    reasons.add(event.reason)
                else:
                    good += 1
    assert good >= 2 * len(reasons)
    assert sim.stats.frames_sent["malformed"] >= len(MALFORMED_KINDS)


async def test_malformed_every_switched_at_run_time(sim: Simulator) -> None:
    async with client(sim.url) as c:
        await streaming(c)
        sim.set_malformed_every(1)
        await c.expect(Malformed)
        sim.set_malformed_every(0)
        # Once switched off, good frames come back (malformed ones in flight are skipped).
        await c.expect(Depth)


# -- knocked off --------------------------------------------------------------------------------
async def test_knock_off_closes_each_connection_right_after_a_successful_auth() -> None:
    async with Simulator(SimConfig(knock_off=True)).running() as sim:
        for _ in range(2):
            async with client(sim.url) as c:
                await c.ready()
                closed = await closed_with(c)
            assert closed.rcvd is not None
            assert closed.rcvd.code == CLOSE_KNOCKED_OFF
            assert "same key" in closed.rcvd.reason
        assert sim.stats.clients_knocked_off == 2


async def test_knock_off_all_at_run_time(sim: Simulator) -> None:
    async with client(sim.url) as c:
        await streaming(c)
        assert sim.knock_off_all() == 1
        closed = await closed_with(c)
    assert closed.rcvd is not None
    assert closed.rcvd.code == CLOSE_KNOCKED_OFF


async def test_knock_off_after_closes_each_connection_that_long_after_auth() -> None:
    async with Simulator(SimConfig(knock_off_after=0.1)).running() as sim, client(sim.url) as c:
        await c.ready()
        closed = await closed_with(c)
    assert closed.rcvd is not None
    assert closed.rcvd.code == CLOSE_KNOCKED_OFF


async def test_one_connection_per_key_knocks_off_the_older_connection() -> None:
    config = SimConfig(one_connection_per_key=True)
    async with Simulator(config).running() as sim, client(sim.url, token="shared") as first:
        await first.ready()
        async with (
            client(sim.url, token="shared") as second,
            client(sim.url, token="other") as third,
        ):
            await second.ready()
            await third.ready()
            closed = await closed_with(first)
            assert closed.rcvd is not None
            assert closed.rcvd.code == CLOSE_KNOCKED_OFF
            await second.send({"ac": "ping", "params": "1"})
            await second.expect(Pong)
            await sim.wait_for_clients(2)


# -- slow consumers -----------------------------------------------------------------------------
SLOW = SimConfig(rate=2000, max_buffered_frames=100, slow_close_grace=5.0, ws_ping_interval=None)


async def test_a_client_that_stops_reading_is_closed_as_a_slow_consumer() -> None:
    async with Simulator(SLOW).running() as sim:
        # A one-message inbox: the client stops reading its socket at once.
        async with client(sim.url, max_queue=1) as c:
            await c.ready()
            await c.subscribe("BTCUSDT$BA,ETHUSDT$BA,SOLUSDT$BA", "quote,depth,tick,kline@1")
            with anyio.fail_after(20):
                await sim.wait_until(lambda s: s.slow_clients_dropped >= 1)
            # Reading again, the client gets what was buffered, then the close frame.
            closed = await c.closed(within_s=10)
        assert not any(isinstance(e, Malformed) for e in c.events)
        assert closed.rcvd is not None
        assert closed.rcvd.code == CLOSE_SLOW_CONSUMER
        assert closed.rcvd.reason.startswith("slow consumer")
        assert sim.stats.current_clients == 0


async def test_a_slow_consumer_that_never_reads_again_is_cut_after_the_grace() -> None:
    config = SimConfig(
        rate=2000, max_buffered_frames=100, slow_close_grace=0.2, ws_ping_interval=None
    )
    async with (
        Simulator(config).running() as sim,
        client(sim.url, max_queue=1, close_timeout=0.1) as c,
    ):
        await c.ready()
        await c.subscribe("BTCUSDT$BA,ETHUSDT$BA,SOLUSDT$BA", "quote,depth,tick,kline@1")
        with anyio.fail_after(20):
            await sim.wait_until(lambda s: s.slow_clients_dropped >= 1)
            await sim.wait_until(lambda s: s.current_clients == 0)


# -- refused handshakes -------------------------------------------------------------------------
async def test_reject_connects_refuses_the_first_handshakes_with_429_and_retry_after() -> None:
    async with Simulator(SimConfig(reject_connects=2)).running() as sim:
        for _ in range(2):
            with pytest.raises(InvalidStatus) as refused:
                async with client(sim.url):
                    pass
            response = refused.value.response
            assert response.status_code == 429
            assert response.headers["Retry-After"] == "1"
        async with client(sim.url) as c:
            await c.ready()
        assert sim.stats.connections_refused == 2


async def test_reject_next_connects_at_run_time(sim: Simulator) -> None:
    sim.reject_next_connects(1)
    with pytest.raises(InvalidStatus):
        async with client(sim.url):
            pass
    async with client(sim.url) as c:
        await c.ready()
