"""Raises while it is imported."""

import os

from itick_bot import Strategy

if "ITICK_BOT_TEST_NEVER_SET" not in os.environ:
    raise RuntimeError("ITICK_BOT_TEST_NEVER_SET is not set")


class Unreachable(Strategy):
    pass
