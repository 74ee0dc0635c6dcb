"""Fixtures of the engine's tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ._support import Bench


@pytest.fixture
def make_bench() -> Iterator[Callable[..., Bench]]:
    """Builds `Bench`es (see `_support`) and closes their ledgers afterwards."""
    made: list[Bench] = []

    def make(**kwargs: Any) -> Bench:
        bench = Bench(**kwargs)
        made.append(bench)
        return bench

    yield make
    for bench in made:
        bench.close()


@pytest.fixture(params=[False, True], ids=["inbox", "lockstep"])
def bench(make_bench: Callable[..., Bench], request: pytest.FixtureRequest) -> Bench:
    """A bench with the defaults (50 ms latency, 1m bars built from trades), its strategies
    fed through their inbox, then in lockstep: every test that uses it runs both ways."""
    return make_bench(lockstep=request.param)
