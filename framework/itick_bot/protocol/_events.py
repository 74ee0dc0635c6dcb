"""What the protocol core hands out besides market data: server replies, client commands, and
`Malformed` for every frame it could not use."""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec

from ..model import Bar, Depth, Quote, Tick

__all__ = [
    "AuthFailed",
    "AuthRequest",
    "Authenticated",
    "BadCommand",
    "ClientCommand",
    "Connected",
    "Event",
    "Malformed",
    "MalformedReason",
    "PingRequest",
    "Pong",
    "ServerNotice",
    "SubscribeRefused",
    "SubscribeRequest",
    "Subscribed",
    "UnsubscribeRequest",
]

MalformedReason: TypeAlias = Literal[
    "invalid_json",  # not JSON at all, or not UTF-8
    "binary_frame",  # a binary WebSocket message: iTick only sends text
    "wrong_shape",  # JSON of the wrong structure (a field of the wrong type, not an object, ...)
    "missing_field",  # a data frame without a field its kind needs
    "bad_number",  # a number that is not finite, out of range, or a string that is no number
    "unknown_type",  # a data frame whose `type` (or kline period) iTick does not define
    "oversize",  # longer than the configured frame-size limit
    "unknown_reply",  # valid JSON that is neither data nor a reply this client knows
]


class Connected(msgspec.Struct, frozen=True, gc=False):
    """The server's greeting after the handshake."""

    msg: str = ""


class Authenticated(msgspec.Struct, frozen=True, gc=False):
    """The key was accepted. (Any echo of the key in the frame is deliberately not kept.)"""

    msg: str = ""


class AuthFailed(msgspec.Struct, frozen=True, gc=False):
    """The key was refused; the server closes the connection. Final for that key."""

    msg: str = ""


class Subscribed(msgspec.Struct, frozen=True, gc=False):
    """A subscribe request was granted. `symbols` and `types` name the request it answers
    (replies carry no id, so they are matched with requests in the order they were sent)."""

    msg: str = ""
    symbols: tuple[str, ...] = ()
    types: tuple[str, ...] = ()


class SubscribeRefused(msgspec.Struct, frozen=True, gc=False):
    """A subscribe request was refused; streams granted earlier keep flowing."""

    msg: str = ""
    symbols: tuple[str, ...] = ()
    types: tuple[str, ...] = ()


class Pong(msgspec.Struct, frozen=True, gc=False):
    """The answer to a ping; `rtt_ms` is known when it echoes a ping this connection sent."""

    params: str
    rtt_ms: int | None = None
    received_ns: int = 0


class ServerNotice(msgspec.Struct, frozen=True, gc=False):
    """A reply that is well formed but not one this client asked for (e.g. "no action")."""

    code: int | None
    res_ac: str
    msg: str


class Malformed(msgspec.Struct, frozen=True, gc=False):
    """A frame that could not be used: counted by reason and skipped; the feed goes on."""

    reason: MalformedReason
    detail: str
    kind: str = ""
    """The frame's kind when it could be read (`quote`, `depth`, `kline@1`, `auth`, ...)."""
    received_ns: int = 0


Event: TypeAlias = (
    Quote
    | Tick
    | Depth
    | Bar
    | Connected
    | Authenticated
    | AuthFailed
    | Subscribed
    | SubscribeRefused
    | Pong
    | ServerNotice
    | Malformed
)


# Commands a client sends, as the server role reads them.


class SubscribeRequest(msgspec.Struct, frozen=True, gc=False):
    """`symbols` are `(canonical symbol, region)` pairs; region "" when sent bare."""

    symbols: tuple[tuple[str, str], ...]
    types: tuple[str, ...]


class PingRequest(msgspec.Struct, frozen=True, gc=False):
    params: str


class AuthRequest(msgspec.Struct, frozen=True, gc=False):
    """The legacy first-message authentication (`{"ac":"auth","params":"<key>"}`)."""

    token: str

    def __repr__(self) -> str:  # the key is a secret, even in a debugger
        return "AuthRequest(token=<hidden>)"


class UnsubscribeRequest(msgspec.Struct, frozen=True, gc=False):
    symbols: tuple[tuple[str, str], ...]
    types: tuple[str, ...]


class BadCommand(msgspec.Struct, frozen=True, gc=False):
    """A client message the server cannot act on (iTick answers "cannot be resolved action")."""

    detail: str


ClientCommand: TypeAlias = (
    SubscribeRequest | PingRequest | AuthRequest | UnsubscribeRequest | BadCommand
)
