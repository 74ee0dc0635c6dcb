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


@pytest.fixture
def bench(make_bench: Callable[..., Bench]) -> Bench:
    """A bench with the defaults: 50 ms latency, 1m bars built from trades."""
    return make_bench()
