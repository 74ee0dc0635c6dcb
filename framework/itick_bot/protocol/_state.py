"""The client connection's state machine: one table, every legal transition in sight."""

from __future__ import annotations

import enum
from typing import Final

from ..errors import ProtocolError

__all__ = ["TRANSITIONS", "ConnState", "Input", "next_state"]


class ConnState(enum.Enum):
    CONNECTING = "connecting"
    """Handshake done, waiting for the server's greeting."""
    AWAITING_AUTH = "awaiting_auth"
    """Greeted, waiting for the verdict on the key."""
    READY = "ready"
    """Authenticated: subscriptions may be sent and data flows."""
    CLOSED = "closed"


class Input(enum.Enum):
    CONNECTED = "connected"
    AUTHENTICATED = "authenticated"
    AUTH_FAILED = "auth_failed"
    CLOSED = "closed"


_S, _I = ConnState, Input
TRANSITIONS: Final[dict[tuple[ConnState, Input], ConnState]] = {
    (_S.CONNECTING, _I.CONNECTED): _S.AWAITING_AUTH,
    # A server that authenticates without a greeting first is tolerated.
    (_S.CONNECTING, _I.AUTHENTICATED): _S.READY,
    (_S.CONNECTING, _I.AUTH_FAILED): _S.CLOSED,
    (_S.CONNECTING, _I.CLOSED): _S.CLOSED,
    (_S.AWAITING_AUTH, _I.AUTHENTICATED): _S.READY,
    (_S.AWAITING_AUTH, _I.AUTH_FAILED): _S.CLOSED,
    (_S.AWAITING_AUTH, _I.CLOSED): _S.CLOSED,
    (_S.READY, _I.CLOSED): _S.CLOSED,
    (_S.CLOSED, _I.CLOSED): _S.CLOSED,
}
"""Every legal (state, input) pair; anything else is a `ProtocolError`."""


def next_state(state: ConnState, event: Input) -> ConnState:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise ProtocolError(
            f"server sent {event.value!r} while the connection was {state.value!r}; "
            "the connection will be replaced"
        ) from None
