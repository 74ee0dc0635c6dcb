"""A helper beside the strategy files (its leading `_` keeps it out of `itick-bot strategies`)."""


def clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))
