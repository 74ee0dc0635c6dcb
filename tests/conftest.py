"""Shared test setup: async tests run on asyncio through anyio's pytest plugin."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def anyio_backend() -> str:
    # The framework runs on asyncio; trio is not a supported backend.
    return "asyncio"


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    # Every `async def` test runs under anyio without a marker on each; marking here, before
    # anyio's own hook sees the function, works for parametrized tests too.
    if collector.funcnamefilter(name) and inspect.iscoroutinefunction(obj):  # type: ignore[attr-defined]
        pytest.mark.anyio(obj)


@pytest.fixture
def itick_samples() -> dict[str, str]:
    """iTick's documented sample frames (tests/data/itick), by file stem, exactly as stored."""
    folder = DATA / "itick"
    return {path.stem: path.read_text(encoding="utf-8").strip() for path in folder.glob("*.json")}
