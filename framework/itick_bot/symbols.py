"""One canonical spelling per instrument (PROTOCOL.md section 6).

iTick spells one instrument many ways: `ETH_USDT`, `ethusdt`, `BTCUSDT$BA`, `BA_BTC_USDT`, or
`EURUSD` with the region in a separate field. Everything inside itick-bot uses the canonical form:
upper case, no separators, region kept apart (`BTCUSDT` in region `BA`).
"""

from __future__ import annotations

from typing import Final

__all__ = ["KNOWN_REGIONS", "canonical", "split_symbol", "wire_symbol"]

# Region codes that iTick puts in front of a symbol (`BA_BTC_USDT`) or behind it (`BTCUSDT$BA`).
KNOWN_REGIONS: Final = frozenset(
    {"BA", "BT", "PB", "GB", "US", "HK", "SH", "SZ", "SG", "JP", "TW", "IN", "CN"}
)
_SEPARATORS: Final = str.maketrans("", "", "_-/. ")
_cache: dict[str, tuple[str, str]] = {}
_CACHE_LIMIT: Final = 65_536


def split_symbol(raw: str) -> tuple[str, str]:
    """Return `(canonical symbol, region)` for any spelling; region is "" when the text has none.

    >>> split_symbol("BA_BTC_USDT")
    ('BTCUSDT', 'BA')
    >>> split_symbol("ethusdt$ba")
    ('ETHUSDT', 'BA')
    """
    hit = _cache.get(raw)
    if hit is not None:
        return hit
    text = raw.strip().upper()
    region = ""
    if "$" in text:
        text, _, region = text.partition("$")
    elif "_" in text:
        head, _, rest = text.partition("_")
        # `BA_BTC_USDT`: a region prefix only when something with a separator follows it.
        if head in KNOWN_REGIONS and "_" in rest:
            region, text = head, rest
    result = (text.translate(_SEPARATORS), region.strip())
    if len(_cache) < _CACHE_LIMIT:
        _cache[raw] = result
    return result


def canonical(raw: str) -> str:
    """The canonical symbol of any spelling, without its region.

    >>> canonical("ETH_USDT")
    'ETHUSDT'
    """
    return split_symbol(raw)[0]


def wire_symbol(symbol: str, region: str) -> str:
    """How a subscribe request spells a symbol: `SYMBOL$REGION`, or bare when region is ""."""
    sym = canonical(symbol)
    return f"{sym}${region.upper()}" if region else sym
