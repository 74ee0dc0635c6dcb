"""What the feed counts, for `tail`, the run report and tests."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

__all__ = ["FeedStats"]


@attrs.define
class FeedStats:
    """Counters of one feed client over its whole life (all its connections)."""

    frames: Counter[str] = attrs.field(factory=Counter)
    """Frames received, by kind: quote, tick, depth, kline, and control replies."""
    malformed: Counter[str] = attrs.field(factory=Counter)
    """Frames skipped, by reason (`itick_bot.protocol.MalformedReason`)."""
    connects: int = 0
    """Connections that were authenticated."""
    reconnects: int = 0
    """Connection attempts after the first."""
    handshake_failures: int = 0
    drops: Counter[str] = attrs.field(factory=Counter)
    """Why connections ended: closed by server, stale, pong timeout, knocked off, ..."""
    subscribe_refused: list[str] = attrs.field(factory=list)
    """The server's words for each refused subscription, with what was refused."""
    first_frame_ns: int | None = None
    last_frame_ns: int | None = None
    last_pong_rtt_ms: int | None = None

    @property
    def frames_total(self) -> int:
        return sum(self.frames.values())

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())

    def as_dict(self, now_ns: int) -> dict[str, Any]:
        """A JSON-ready summary; `last_frame_age_s` is measured at `now_ns`."""
        age = None if self.last_frame_ns is None else round((now_ns - self.last_frame_ns) / 1e9, 3)
        span = (
            (self.last_frame_ns - self.first_frame_ns) / 1e9
            if self.first_frame_ns is not None and self.last_frame_ns is not None
            else 0.0
        )
        return {
            "frames": dict(sorted(self.frames.items())),
            "frames_total": self.frames_total,
            "frames_per_s": round(self.frames_total / span, 1) if span > 0 else None,
            "malformed": dict(sorted(self.malformed.items())),
            "connects": self.connects,
            "reconnects": self.reconnects,
            "handshake_failures": self.handshake_failures,
            "drops": dict(sorted(self.drops.items())),
            "subscribe_refused": list(self.subscribe_refused),
            "last_frame_age_s": age,
            "last_pong_rtt_ms": self.last_pong_rtt_ms,
        }
