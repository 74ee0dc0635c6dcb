"""The project's own exceptions. Each message says what went wrong and what to do about it."""

from __future__ import annotations

__all__ = [
    "AuthError",
    "ConfigError",
    "FeedError",
    "ItickBotError",
    "ProtocolError",
    "SlowConsumerError",
]


class ItickBotError(Exception):
    """Base class of every error itick-bot raises on purpose."""


class ConfigError(ItickBotError):
    """A configuration value is missing, unknown or of the wrong type (CLI exit status 2)."""


class AuthError(ItickBotError):
    """The server refused the API key. Final for that key: never retried (CLI exit status 3)."""


class ProtocolError(ItickBotError):
    """A frame or a command breaks the connection's state machine."""


class FeedError(ItickBotError):
    """The feed cannot go on (for example the server keeps refusing the handshake)."""


class SlowConsumerError(FeedError):
    """A consumer fell further behind than its configured bound; nothing was dropped silently."""
