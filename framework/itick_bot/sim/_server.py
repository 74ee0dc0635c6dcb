"""`Simulator`: the iTick simulator served by uvicorn in-process, on a socket bound before serving
(so port 0 works and the URL is known at once), with runtime fault switches and waiters for
tests."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import anyio
import uvicorn
from websockets.exceptions import WebSocketException

from .._logging import get_logger
from ._app import SimApp
from ._config import SimConfig
from ._hub import MarketHub
from ._state import SimState, SimStats

__all__ = ["Simulator"]

_log = get_logger("itick_bot.sim")
_POLL_S: Final = 0.01
_SHUTDOWN_WAIT_S: Final = 3.0
_GOING_AWAY: Final = 1001


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handling: the caller owns the signals (the CLI stops
    the simulator on SIGINT/SIGTERM itself; tests must not have their signals taken)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class Simulator:
    """The iTick simulator. Serve it with `async with sim.running():`; connect to `sim.url`.

    >>> async with Simulator(SimConfig(seed=1)).running() as sim:  # doctest: +SKIP
    ...     await sim.wait_for_subscriptions(1)
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config if config is not None else SimConfig()
        self._state = SimState(self.config)
        self._hub = MarketHub(self._state)
        self._port: int | None = None
        self._server: _Server | None = None

    # -- addresses ----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port being served (known once `running()` has started)."""
        if self._port is None:
            raise RuntimeError("the simulator is not running: use `async with sim.running():`")
        return self._port

    @property
    def rest_url(self) -> str:
        """`http://HOST:PORT`: the base of the REST endpoints (`GET /crypto/kline`)."""
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    def url_for(self, path: str = "/crypto") -> str:
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"ws://{host}:{self.port}{path}"

    @property
    def url(self) -> str:
        """`ws://HOST:PORT/crypto`."""
        return self.url_for("/crypto")

    @property
    def stats(self) -> SimStats:
        """Live counters (connections, auths, subscriptions, frames by kind, faults applied)."""
        return self._state.stats

    # -- serving ------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Simulator]:
        """Bind, serve in the background, and on exit close every connection and stop."""
        if self._server is not None:
            raise RuntimeError("this simulator is already running")
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        try:
            sock = socket.create_server((self.config.host, self.config.port), family=family)
        except OSError as exc:
            from ..errors import ConfigError

            raise ConfigError(
                f"the simulator cannot listen on {self.config.host}:{self.config.port}: "
                f"{exc.strerror or exc}; choose another --port (0 picks a free one)"
            ) from None
        self._port = sock.getsockname()[1]
        uv_config = uvicorn.Config(
            SimApp(self._state, self._hub),
            http="h11",
            ws="websockets-sansio",
            lifespan="off",
            log_config=None,
            access_log=False,
            ws_per_message_deflate=False,
            ws_ping_interval=self.config.ws_ping_interval,
            ws_ping_timeout=self.config.ws_ping_interval,
        )
        server = _Server(uv_config)
        # `startup` is uvicorn's public step; `serve` would also install signal handlers and poll
        # a main loop every 0.1 s, which the simulator does not need. `lifespan` is what `serve`
        # would have set up first (a no-op with lifespan "off").
        uv_config.load()
        server.lifespan = uv_config.lifespan_class(uv_config)
        self._server = server
        self._state.cut_transport = self._cut_transport
        try:
            await server.startup(sockets=[sock])
        except BaseException:
            sock.close()
            self._server = None
            raise
        _log.info("simulator listening", url=self.url)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._hub.run)
                try:
                    yield self
                finally:
                    with anyio.CancelScope(shield=True):
                        await self._shutdown(server, sock)
                    tg.cancel_scope.cancel()
        finally:
            self._server = None
            self._state.cut_transport = lambda scope: False

    async def _shutdown(self, server: _Server, sock: socket.socket) -> None:
        for listener in server.servers:
            listener.close()
        state = self._state
        for session in list(state.sessions):
            session.close_now(_GOING_AWAY, "simulator shutting down")
        with anyio.move_on_after(self.config.slow_close_grace + 1.0):
            await state.wait_until(lambda: not state.sessions)
        # Whatever is left (handshakes in progress, peers that never answer a close): uvicorn's
        # own shutdown, then cut what still hangs on.
        connections = server.server_state.connections
        for connection in list(connections):
            # One already closing (its close frame on its way) has nothing to add.
            with contextlib.suppress(WebSocketException):
                connection.shutdown()
        # uvicorn offers no event for "all connections gone": poll its sets briefly.
        with anyio.move_on_after(_SHUTDOWN_WAIT_S):
            while connections or server.server_state.tasks:  # noqa: ASYNC110
                await anyio.sleep(_POLL_S)
        for connection in list(connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        for task in list(server.server_state.tasks):
            task.cancel()
        while server.server_state.tasks:  # noqa: ASYNC110
            await anyio.sleep(_POLL_S)
        for listener in server.servers:
            await listener.wait_closed()
        sock.close()

    def _cut_transport(self, scope: dict[str, Any]) -> bool:
        # uvicorn keeps its protocol objects in `server_state.connections`; the WebSocket ones
        # hold the very scope dict the app was given.
        server = self._server
        if server is None:
            return False
        for connection in list(server.server_state.connections):
            if getattr(connection, "scope", None) is scope:
                connection.transport.abort()
                return True
        return False

    # -- waiting (for tests: no sleeps) -------------------------------------------------------
    async def wait_until(self, condition: Callable[[SimStats], bool]) -> None:
        """Return once `condition(sim.stats)` holds; checked after every change."""
        stats = self._state.stats
        await self._state.wait_until(lambda: condition(stats))

    async def wait_for_clients(self, n: int = 1) -> None:
        """Until at least `n` authenticated connections are open."""
        await self.wait_until(lambda s: s.current_clients >= n)

    async def wait_for_connections(self, n: int = 1) -> None:
        """Until at least `n` handshakes have been accepted in total."""
        await self.wait_until(lambda s: s.connections_accepted >= n)

    async def wait_for_subscriptions(self, n: int = 1) -> None:
        """Until at least `n` subscribe requests have been granted in total."""
        await self.wait_until(lambda s: s.subscriptions >= n)

    # -- runtime fault switches ----------------------------------------------------------------
    def set_fail_auth(self, on: bool) -> None:
        """Refuse every key from the next authentication on."""
        self._state.faults.fail_auth = on

    def set_max_symbols(self, n: int) -> None:
        self._state.faults.max_symbols = n

    def drop_all(self, *, abrupt: bool = False) -> int:
        """Close every connection now with 1011 (or, `abrupt`, cut TCP with no close frame).
        Returns how many were dropped."""
        sessions = list(self._state.sessions)
        for session in sessions:
            session.drop(abrupt=abrupt)
        return len(sessions)

    def set_drop_after(self, seconds: float | None) -> None:
        """Drop each connection authenticated from now on this long after its auth."""
        self._state.faults.drop_after = seconds

    def set_silent(self, on: bool) -> None:
        """Stop (or resume) sending anything on every connection; sockets stay open."""
        self._state.faults.silent = on
        for session in list(self._state.sessions):
            if not on:
                session.silent = False
            session.wake()

    def set_silent_after(self, seconds: float | None) -> None:
        self._state.faults.silent_after = seconds

    def set_malformed_every(self, n: int) -> None:
        """Make every `n`th data frame of each connection malformed (0: none)."""
        if n < 0:
            raise ValueError("malformed_every must be >= 0")
        self._state.faults.malformed_every = n

    def knock_off_all(self) -> int:
        """Close every authenticated connection as if another client had taken its key (4001).
        Returns how many were knocked off."""
        sessions = [s for s in self._state.sessions if s.authenticated]
        for session in sessions:
            session.knock_off()
        return len(sessions)

    def set_knock_off(self, on: bool) -> None:
        """Knock every connection off right after its authentication (from the next one on)."""
        self._state.faults.knock_off = on

    def set_knock_off_after(self, seconds: float | None) -> None:
        self._state.faults.knock_off_after = seconds

    def set_one_connection_per_key(self, on: bool) -> None:
        self._state.faults.one_connection_per_key = on

    def reject_next_connects(self, n: int) -> None:
        """Refuse the next `n` handshakes with HTTP 429 and `Retry-After: 1`."""
        self._state.faults.reject_connects = n

    def set_rest_fail_auth(self, on: bool) -> None:
        """Refuse every REST request with HTTP 401 (`"invalid token"`) from now on."""
        self._state.faults.rest_fail_auth = on

    def rate_limit_rest(self, n: int) -> None:
        """Answer the next `n` REST requests with HTTP 429 and `Retry-After`
        (`SimConfig.rest_retry_after` seconds)."""
        if n < 0:
            raise ValueError("rate_limit_rest needs a count >= 0")
        self._state.faults.rest_rate_limit = n

    def set_rest_empty(self, on: bool) -> None:
        """Answer every REST kline request with no history (`"data":[]`) from now on."""
        self._state.faults.rest_empty = on
