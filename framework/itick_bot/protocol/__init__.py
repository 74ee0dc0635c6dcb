"""The iTick WebSocket protocol with no I/O (sans-IO), in both roles.

Client role: `ClientConnection` (frames to events, commands to text, connection state),
`decode_frame` for a single frame. Server role (used by the simulator): `parse_command` and the
`render_*` functions. No sockets, no tasks, no clock: the caller passes receive times in.
"""

from ._client import ClientConnection, encode_ping, encode_subscribe
from ._decode import DEFAULT_MAX_FRAME_BYTES
from ._events import (
    Authenticated,
    AuthFailed,
    AuthRequest,
    BadCommand,
    ClientCommand,
    Connected,
    Event,
    Malformed,
    MalformedReason,
    PingRequest,
    Pong,
    ServerNotice,
    Subscribed,
    SubscribeRefused,
    SubscribeRequest,
    UnsubscribeRequest,
)
from ._fast import decode_frame
from ._server import (
    parse_command,
    render_auth_failed,
    render_auth_ok,
    render_connected,
    render_depth,
    render_kline,
    render_notice,
    render_pong,
    render_quote,
    render_subscribe_ok,
    render_subscribe_refused,
    render_tick,
)
from ._state import TRANSITIONS, ConnState, Input, next_state

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "TRANSITIONS",
    "AuthFailed",
    "AuthRequest",
    "Authenticated",
    "BadCommand",
    "ClientCommand",
    "ClientConnection",
    "ConnState",
    "Connected",
    "Event",
    "Input",
    "Malformed",
    "MalformedReason",
    "PingRequest",
    "Pong",
    "ServerNotice",
    "SubscribeRefused",
    "SubscribeRequest",
    "Subscribed",
    "UnsubscribeRequest",
    "decode_frame",
    "encode_ping",
    "encode_subscribe",
    "next_state",
    "parse_command",
    "render_auth_failed",
    "render_auth_ok",
    "render_connected",
    "render_depth",
    "render_kline",
    "render_notice",
    "render_pong",
    "render_quote",
    "render_subscribe_ok",
    "render_subscribe_refused",
    "render_tick",
]
