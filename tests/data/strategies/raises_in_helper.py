"""Imports a helper that raises: the error names both places."""

from itick_bot import Strategy

from . import _failing  # noqa: F401


class NeverDefined(Strategy):
    pass
