"""Two strategies and a private base: the base is not a candidate, the other two are."""

from itick_bot import Strategy


class _Base(Strategy):
    size: float = 0.001


class Alpha(_Base):
    pass


class Beta(_Base):
    pass
