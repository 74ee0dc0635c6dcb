"""The composition root: wires configuration, the simulator, the transport and the feed together
for the commands."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import attrs

from .config import FeedConfig, resolve_feed

__all__ = ["FeedTarget", "feed_target"]


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
    feed: FeedConfig, environ: Mapping[str, str], *, sim_seed: int | None = None
) -> AsyncIterator[FeedTarget]:
    """Resolve `[feed]` to a target; for `url = "sim"` run the simulator on a free loopback port
    for as long as the context lasts."""
    url, token = resolve_feed(feed, environ)
    if url != "sim":
        yield FeedTarget(url, token, simulated=False)
        return
    from .sim import SimConfig, Simulator

    # In-process, the simulator's own connection log is noise beside the command's output.
    logging.getLogger("itick_bot.sim").setLevel(logging.WARNING)
    config = (
        SimConfig(host="127.0.0.1", port=0)
        if sim_seed is None
        else SimConfig(host="127.0.0.1", port=0, seed=sim_seed)
    )
    sim = Simulator(config)
    async with sim.running():
        yield FeedTarget(sim.url, None, simulated=True)
