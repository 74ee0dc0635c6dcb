"""Market updates to wire frames (through the protocol core's server role), symbol spellings, and
the malformed frames of the `malformed_every` fault."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, TypeAlias

from ..protocol import render_depth, render_kline, render_quote, render_tick
from ._config import KlineFormat, MalformedKind, SymbolStyle
from ._market import MarketUpdate, SymbolMarket

__all__ = [
    "DATA_KINDS",
    "Frame",
    "FrameRenderer",
    "flood_cycle",
    "malformed_frame",
    "parse_types",
    "spell",
]

Frame: TypeAlias = str | bytes
"""A WebSocket message: text, or (only for the binary-frame fault) bytes."""

DATA_KINDS: Final = ("tick", "depth", "quote")
"""Data kinds in the order one update sends them: trades happened against the book the client
saw last, so they go before the new book."""
_KLINE_TYPES: Final = frozenset(f"kline@{n}" for n in range(1, 11))
_QUOTE_ASSETS: Final = ("USDT", "USDC", "BUSD", "FDUSD", "BTC", "ETH", "BNB", "EUR", "USD")
_MIXED: Final = {"quote": "underscore", "depth": "lower", "tick": "canonical", "kline": "prefix"}


def parse_types(types: Iterable[str]) -> frozenset[str] | None:
    """The subscribable types of a request (`quote`, `depth`, `tick`, `kline@1`..`kline@10`),
    or None if any is unknown: the server then answers "cannot be resolved action"."""
    wanted = frozenset(t.strip().lower() for t in types)
    if not wanted or any(t not in DATA_KINDS and t not in _KLINE_TYPES for t in wanted):
        return None
    return wanted


def _underscore(symbol: str) -> str:
    for quote in _QUOTE_ASSETS:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return f"{symbol[: -len(quote)]}_{quote}"
    return symbol


def spell(symbol: str, region: str, style: str) -> str:
    """`symbol` (canonical) spelled as iTick's frames spell it in `style`."""
    if style == "underscore":
        return _underscore(symbol)
    if style == "lower":
        return symbol.lower()
    if style == "prefix":
        # `BA_BTC_USDT`: only unambiguous with a region and a separator after it.
        under = _underscore(symbol)
        return f"{region}_{under}" if region and "_" in under else under
    return symbol


class FrameRenderer:
    """Renders one `MarketUpdate` of one symbol for one region into frames, kind by kind."""

    __slots__ = ("_legacy", "_region", "_spellings")

    def __init__(
        self,
        symbol: str,
        region: str,
        *,
        echo_region: bool,
        kline_format: KlineFormat,
        symbol_style: SymbolStyle,
    ) -> None:
        self._region = region if echo_region else ""
        self._legacy = kline_format == "legacy"
        self._spellings = {
            kind: spell(symbol, region, _MIXED[kind] if symbol_style == "mixed" else symbol_style)
            for kind in ("quote", "depth", "tick", "kline")
        }

    def render(self, update: MarketUpdate, types: frozenset[str]) -> list[tuple[str, str]]:
        """`(kind, frame)` pairs for the subscribed `types`, in sending order."""
        out: list[tuple[str, str]] = []
        region, names = self._region, self._spellings
        if "tick" in types:
            name = names["tick"]
            for price, size in update.trades:
                out.append(("tick", render_tick(
                    name, region, price=price, size=size, ts=update.ts,
                    turnover=round(price * size, 8),
                )))  # fmt: skip
        if "depth" in types:
            out.append(
                ("depth", render_depth(names["depth"], region, bids=update.bids, asks=update.asks))
            )
        if "quote" in types:
            out.append(("quote", render_quote(
                names["quote"], region, last=update.last, ts=update.ts, volume=update.volume24,
                turnover=update.turnover24, open_=update.open24, high=update.high24,
                low=update.low24,
            )))  # fmt: skip
        for kind in sorted(types & _KLINE_TYPES, key=lambda k: int(k[6:])):
            period = int(kind[6:])
            t, o, h, low, c, v, tu = update.bars[period]
            out.append((kind, render_kline(
                names["kline"], region, period=period, open_time=t, open_=o, high=h, low=low,
                close=c, volume=v, turnover=tu, legacy=self._legacy,
            )))  # fmt: skip
        return out


_OVERSIZE_CHARS: Final = (1 << 20) + 1024
"""Just over the protocol core's default frame-size limit (1 MiB)."""


def malformed_frame(kind: MalformedKind, symbol: str, ts: int) -> Frame:
    """A frame of the malformation `kind`, shaped like a data frame of `symbol` so it looks like
    real traffic gone wrong; the client must count it and carry on."""
    if kind == "invalid_json":
        return f'{{"code":1,"data":{{"s":"{symbol}","ld":1.5,"t":{ts},"type":"tick"'
    if kind == "binary_frame":
        return f'{{"code":1,"data":{{"s":"{symbol}","type":"tick"}}}}'.encode()
    if kind == "unknown_type":
        return f'{{"code":1,"data":{{"s":"{symbol}","t":{ts},"type":"orderbook_l3"}}}}'
    if kind == "bad_number":
        return f'{{"code":1,"data":{{"s":"{symbol}","ld":"n/a","v":1,"t":{ts},"type":"tick"}}}}'
    if kind == "missing_field":
        return f'{{"code":1,"data":{{"s":"{symbol}","v":0.5,"t":{ts},"type":"tick"}}}}'
    padding = "x" * _OVERSIZE_CHARS
    return f'{{"code":1,"data":{{"s":"{symbol}","pad":"{padding}","type":"quote"}}}}'


def flood_cycle(
    subscriptions: dict[tuple[str, str], frozenset[str]],
    *,
    seed: int,
    start_ms: int,
    steps: int,
    step_ms: int,
    volatility: float,
    echo_region: bool,
    kline_format: KlineFormat,
    symbol_style: SymbolStyle,
) -> list[tuple[str, str]]:
    """The frames of `steps` market updates of every subscription, interleaved, rendered once so
    the flood mode (`rate` 0) sends them in a tight loop."""
    markets = {
        sym: SymbolMarket(sym, seed, start_ms, volatility=volatility) for sym, _ in subscriptions
    }
    renderers = {
        (sym, region): FrameRenderer(
            sym, region, echo_region=echo_region, kline_format=kline_format,
            symbol_style=symbol_style,
        )
        for sym, region in subscriptions
    }  # fmt: skip
    frames: list[tuple[str, str]] = []
    for i in range(steps):
        now = start_ms + i * step_ms
        updates = {sym: market.step(now) for sym, market in markets.items()}
        for (sym, region), types in subscriptions.items():
            frames.extend(renderers[(sym, region)].render(updates[sym], types))
    return frames
