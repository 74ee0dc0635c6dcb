"""Fixtures for the simulator's tests: a running in-process simulator on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from itick_bot.sim import SimConfig, Simulator


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A well-behaved simulator: any key, fast market (200 updates/s), minute bars every second."""
    async with Simulator(SimConfig(seed=1, rate=200, time_scale=60)).running() as running:
        yield running
