"""The simulator's settings, and the close codes it uses.

Every fault a test may want is a field here, a `sim` command-line flag, and (except the ones that
only make sense at start-up) a runtime switch on `Simulator`.
"""

from __future__ import annotations

import math
from typing import Final, Literal, TypeAlias

import attrs

from ..config import mask_secret
from ..errors import ConfigError

__all__ = [
    "CLOSE_AUTH_FAILED",
    "CLOSE_DROPPED",
    "CLOSE_KNOCKED_OFF",
    "CLOSE_NO_ACTION",
    "CLOSE_SLOW_CONSUMER",
    "MALFORMED_KINDS",
    "SIM_PATHS",
    "KlineFormat",
    "MalformedKind",
    "SimConfig",
    "SymbolStyle",
]

KlineFormat: TypeAlias = Literal["flat", "legacy"]
SymbolStyle: TypeAlias = Literal["canonical", "underscore", "lower", "mixed"]
MalformedKind: TypeAlias = Literal[
    "invalid_json", "binary_frame", "unknown_type", "bad_number", "missing_field", "oversize"
]
MALFORMED_KINDS: Final[tuple[MalformedKind, ...]] = (
    "invalid_json", "binary_frame", "unknown_type", "bad_number", "missing_field", "oversize",
)  # fmt: skip
_DEFAULT_MALFORMED: Final[tuple[MalformedKind, ...]] = MALFORMED_KINDS[:-1]

SIM_PATHS: Final = frozenset(
    {"/crypto", "/stock", "/forex", "/indices", "/future", "/fund", "/cws", "/sws", "/fws", "/iws"}
)
"""Every endpoint path of PROTOCOL.md section 1; all speak the same protocol here."""

# Close codes. iTick documents none of them, so these are the simulator's choices; the reasons
# say what happened so a human reading a client log understands it.
CLOSE_AUTH_FAILED: Final = 1008
"""Policy violation, after the `auth failed` frame."""
CLOSE_SLOW_CONSUMER: Final = 1008
"""Policy violation: the client read too slowly and its buffer overflowed (PROTOCOL.md section 7).
The reason starts with "slow consumer"."""
CLOSE_DROPPED: Final = 1011
"""Internal error: the `drop` fault, a server that loses the connection."""
CLOSE_KNOCKED_OFF: Final = 4001
"""Application code: another connection authenticated with the same key (PROTOCOL.md section 2)."""
CLOSE_NO_ACTION: Final = 1000
"""Normal closure after an `unsubscribe`, which iTick answers with "no action" and a close."""


def _shown_token(token: str | None) -> str:
    return "<any key>" if token is None else mask_secret(token)


def _non_negative(name: str, value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise ConfigError(f"simulator setting {name!r} must be a number >= 0, got {value!r}")


@attrs.frozen(kw_only=True)
class SimConfig:
    """Everything the simulator can be told. Defaults give a well-behaved server on a free
    loopback port that accepts any key."""

    host: str = "127.0.0.1"
    port: int = 0
    """0 picks a free port; `Simulator.port` tells which."""
    token: str | None = attrs.field(default=None, repr=_shown_token)
    """The key the server accepts; None accepts any key, and no key at all."""
    seed: int = 0
    """Seeds every symbol's market: the same seed gives the same prices, sizes and trades."""
    rate: float = 10.0
    """Market updates per second per symbol; 0 floods: every connection gets a pre-rendered cycle
    of frames as fast as it reads (for throughput benchmarks; timestamps repeat every cycle)."""
    time_scale: float = 1.0
    """The market clock runs this many times faster than the wall clock (60 closes a 1-minute bar
    every wall second)."""
    volatility: float = 1e-4
    """Relative standard deviation of the mid over one second of market time."""
    echo_region: bool = True
    """Frames carry `"r"` when the client subscribed with a region (False mimics documents where
    it is absent)."""
    kline_format: KlineFormat = "flat"
    """"flat" (`"type":"kline@N"`) or "legacy" (nested, `code` 0), PROTOCOL.md section 5."""
    symbol_style: SymbolStyle = "canonical"
    """How frames spell symbols: "canonical" (`ETHUSDT`), "underscore" (`ETH_USDT`), "lower"
    (`ethusdt`), or "mixed" (a different spelling per kind), to exercise canonicalization."""
    auth_timeout: float = 10.0
    """Seconds to wait for a legacy auth message when the handshake carried no key."""
    ws_ping_interval: float | None = 20.0
    """WebSocket-level keepalive pings from the server (None: none)."""

    # -- faults ---------------------------------------------------------------------------------
    fail_auth: bool = False
    """Refuse every key."""
    max_symbols: int = 500
    """Distinct symbols one connection may hold; a subscribe past it is refused."""
    drop_after: float | None = None
    """Close each connection (code 1011) this many seconds after its authentication."""
    silent: bool = False
    """Send nothing (no data, no pongs, no replies) while keeping sockets open."""
    silent_after: float | None = None
    """Each connection goes silent this many seconds after its authentication."""
    malformed_every: int = 0
    """Make every Nth data frame of a connection malformed (0: never)."""
    malformed_kinds: tuple[MalformedKind, ...] = _DEFAULT_MALFORMED
    """The malformations rotated through; "oversize" (a frame over 1 MiB) is opt-in."""
    knock_off: bool = False
    """Close every connection right after its authentication, as iTick does when a second
    connection uses the same key (code 4001)."""
    knock_off_after: float | None = None
    """Knock each connection off this many seconds after its authentication."""
    one_connection_per_key: bool = False
    """Enforce iTick's documented rule: a connection authenticating with a key knocks off every
    older connection with the same key."""
    max_buffered_frames: int = 10_000
    """Frames queued for one connection before it counts as a slow consumer and is closed
    (code 1008), as iTick does."""
    slow_close_grace: float = 2.0
    """Seconds a slow consumer gets to take its close frame before its TCP connection is cut."""
    reject_connects: int = 0
    """Refuse the first N handshakes with HTTP 429 and `Retry-After: 1`."""

    # -- REST faults (`GET /{market}/kline`, PROTOCOL.md section 8) -------------------------------
    rest_fail_auth: bool = False
    """Refuse every REST request with HTTP 401 `{"code":401,"msg":"invalid token"}`."""
    rest_rate_limit: int = 0
    """Answer the first N REST requests with HTTP 429 and `Retry-After: rest_retry_after`."""
    rest_retry_after: int = 1
    """Seconds the 429 answers ask the client to wait."""
    rest_empty: bool = False
    """Answer every kline request with no history (`"data":[]`)."""

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(
                f"simulator port must be 0-65535 (0 picks a free one), got {self.port}"
            )
        for name in ("rate", "auth_timeout", "slow_close_grace", "volatility"):
            _non_negative(name, getattr(self, name))
        for name in ("drop_after", "silent_after", "knock_off_after", "ws_ping_interval"):
            _non_negative(name, getattr(self, name))
        if not math.isfinite(self.time_scale) or self.time_scale <= 0:
            raise ConfigError(f"simulator time_scale must be > 0, got {self.time_scale!r}")
        if self.kline_format not in ("flat", "legacy"):
            raise ConfigError(
                f"simulator kline_format must be 'flat' or 'legacy', got {self.kline_format!r}"
            )
        if self.symbol_style not in ("canonical", "underscore", "lower", "mixed"):
            raise ConfigError(
                "simulator symbol_style must be one of canonical, underscore, lower, mixed; "
                f"got {self.symbol_style!r}"
            )
        for name in ("max_symbols", "malformed_every", "reject_connects", "rest_rate_limit",
                     "rest_retry_after"):  # fmt: skip
            if getattr(self, name) < 0:
                raise ConfigError(f"simulator setting {name!r} must be >= 0")
        if self.max_buffered_frames < 1:
            raise ConfigError("simulator max_buffered_frames must be at least 1")
        unknown = [k for k in self.malformed_kinds if k not in MALFORMED_KINDS]
        if unknown or not self.malformed_kinds:
            raise ConfigError(
                f"simulator malformed_kinds must be a non-empty selection of "
                f"{', '.join(MALFORMED_KINDS)}; got {', '.join(map(str, self.malformed_kinds))}"
            )
