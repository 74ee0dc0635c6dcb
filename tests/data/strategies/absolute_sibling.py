"""Imports the helper beside it as if the folder were on sys.path (it is not)."""

from _helpers import clamp  # type: ignore[import-not-found]

from itick_bot import Strategy


class Absolute(Strategy):
    limit: float = clamp(1.0, 0.0, 0.5)
