"""`[broker]`: the paper broker's settings, exact numbers and symbol rules.

Every number the broker keeps is a `Decimal` built from text (`Decimal(repr(x))` for a float), never
`Decimal(float)`, so `0.1` stays `0.1` and not `0.1000000000000000055...`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias, get_args

import attrs

from ..errors import ConfigError

__all__ = [
    "DEFAULT_QUOTE_ASSETS",
    "DEFAULT_SYMBOL_RULES",
    "BrokerConfig",
    "LedgerSync",
    "OverflowPolicy",
    "SymbolRules",
    "to_decimal",
]

OverflowPolicy: TypeAlias = Literal["reject", "partial", "slippage"]
"""What a market order larger than the visible depth does: "reject" the whole order before any
fill, "partial" fill what is visible and cancel the rest, "slippage" fill the rest at
`slippage_bps` beyond the last visible level."""

LedgerSync: TypeAlias = Literal["full", "normal"]
"""SQLite's `synchronous` setting for the ledger: "full" survives a power cut, "normal" survives a
crashed or killed process (not a power cut) and commits several times faster."""

DEFAULT_QUOTE_ASSETS: Final = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "USD", "EUR", "BTC", "ETH")


def to_decimal(value: object, what: str = "value") -> Decimal:
    """An exact `Decimal` from a float, int, Decimal or numeric string.

    A float goes through its shortest round-trip text (`repr`), so `0.1` becomes `Decimal("0.1")`.
    Raises ValueError naming `what` for anything else, NaN and infinities.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError(f"{what} must be a number, not {value!r}")
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{what} must be a number, not {value!r}") from None
    else:
        raise ValueError(f"{what} must be a number, not {value!r}")
    if not result.is_finite():
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    return result


def _dec(value: object) -> Decimal:
    return to_decimal(value)


def _positive(_: object, attribute: attrs.Attribute[Any], value: Decimal) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be greater than 0, not {value}")


@attrs.frozen(kw_only=True)
class SymbolRules:
    """Trading rules of one symbol: prices are multiples of `tick_size`, quantities multiples of
    `step_size` and at least `min_qty`."""

    tick_size: Decimal = attrs.field(converter=_dec, validator=_positive)
    step_size: Decimal = attrs.field(converter=_dec, validator=_positive)
    min_qty: Decimal = attrs.field(converter=_dec, validator=_positive)


DEFAULT_SYMBOL_RULES: Final[Mapping[str, SymbolRules]] = {
    # Binance's spot filters for the two symbols of the default configuration.
    "BTCUSDT": SymbolRules(tick_size="0.01", step_size="0.00001", min_qty="0.00001"),
    "ETHUSDT": SymbolRules(tick_size="0.01", step_size="0.0001", min_qty="0.0001"),
}
_UNKNOWN_RULES: Final = SymbolRules(
    tick_size="0.00000001", step_size="0.00000001", min_qty="0.00000001"
)


def _balances(value: Mapping[str, object]) -> Mapping[str, Decimal]:
    out: dict[str, Decimal] = {}
    for asset, amount in value.items():
        amount_d = to_decimal(amount, f"balances.{asset}")
        if amount_d < 0:
            raise ValueError(f"balances.{asset} must not be negative, not {amount}")
        out[asset.upper()] = amount_d
    return out


def _splits(value: Mapping[str, object]) -> Mapping[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for symbol, pair in value.items():
        if (
            not isinstance(pair, list | tuple)
            or len(pair) != 2
            or not all(isinstance(a, str) and a for a in pair)
        ):
            raise ValueError(
                f'assets.{symbol} must be a pair of asset names like ["EUR", "USD"], not {pair!r}'
            )
        out[symbol.upper()] = (pair[0].upper(), pair[1].upper())
    return out


def _rules_table(value: Mapping[str, object]) -> Mapping[str, SymbolRules]:
    out: dict[str, SymbolRules] = dict(DEFAULT_SYMBOL_RULES)
    for symbol, rules in value.items():
        sym = symbol.upper()
        if isinstance(rules, SymbolRules):
            out[sym] = rules
            continue
        if not isinstance(rules, Mapping):
            raise ValueError(
                f"symbols.{symbol} must be a table of tick_size, step_size, min_qty, not {rules!r}"
            )
        base = out.get(sym, _UNKNOWN_RULES)
        unknown = set(rules) - {"tick_size", "step_size", "min_qty"}
        if unknown:
            raise ValueError(
                f"symbols.{symbol} has unknown key {sorted(unknown)[0]!r}; "
                "use tick_size, step_size, min_qty"
            )
        out[sym] = SymbolRules(
            tick_size=rules.get("tick_size", base.tick_size),
            step_size=rules.get("step_size", base.step_size),
            min_qty=rules.get("min_qty", base.min_qty),
        )
    return out


def _default_rules(value: object) -> SymbolRules:
    if isinstance(value, SymbolRules):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"default_symbol must be a table, not {value!r}")
    unknown = set(value) - {"tick_size", "step_size", "min_qty"}
    if unknown:
        raise ValueError(
            f"default_symbol has unknown key {sorted(unknown)[0]!r}; "
            "use tick_size, step_size, min_qty"
        )
    return SymbolRules(
        tick_size=value.get("tick_size", _UNKNOWN_RULES.tick_size),
        step_size=value.get("step_size", _UNKNOWN_RULES.step_size),
        min_qty=value.get("min_qty", _UNKNOWN_RULES.min_qty),
    )


def _fee(_: object, attribute: attrs.Attribute[Any], value: Decimal) -> None:
    # A negative maker fee is a rebate; a fee of 100% or more is a typo.
    if not Decimal(-10_000) < value < Decimal(10_000):
        raise ValueError(f"{attribute.name} must be between -10000 and 10000 bps, not {value}")


def _non_negative(_: object, attribute: attrs.Attribute[Any], value: Decimal | int) -> None:
    if value < 0:
        raise ValueError(f"{attribute.name} must not be negative, not {value}")


def _choice(options: tuple[str, ...]) -> Any:
    def check(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
        if value not in options:
            raise ValueError(
                f"{attribute.name} must be one of {', '.join(map(repr, options))}, not {value!r}"
            )

    return check


def _assets(value: Iterable[object]) -> tuple[str, ...]:
    return tuple(str(asset).upper() for asset in value)


def _latency(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"latency_ms must be a number of milliseconds, not {value!r}")
    return round(value)


@attrs.frozen(kw_only=True)
class BrokerConfig:
    """The `[broker]` table: the paper account, its fees and latency, and the fill model's
    policies. Construct it with keywords, or from a TOML table with `from_mapping`."""

    balances: Mapping[str, Decimal] = attrs.field(
        factory=lambda: {"USDT": Decimal(10_000), "BTC": Decimal("0.1"), "ETH": Decimal(1)},
        converter=_balances,
    )
    """Seeds a new ledger; a ledger that already exists keeps its own balances."""
    taker_fee_bps: Decimal = attrs.field(default=Decimal(10), converter=_dec, validator=_fee)
    maker_fee_bps: Decimal = attrs.field(default=Decimal(8), converter=_dec, validator=_fee)
    latency_ms: int = attrs.field(default=50, converter=_latency, validator=_non_negative)
    """How long an order travels to the simulated venue; it is matched against the book as it is
    when it arrives."""
    ledger: str = "paper.sqlite"
    ledger_sync: LedgerSync = attrs.field(default="full", validator=_choice(get_args(LedgerSync)))
    overflow: OverflowPolicy = attrs.field(
        default="partial", validator=_choice(get_args(OverflowPolicy))
    )
    slippage_bps: Decimal = attrs.field(
        default=Decimal(50), converter=_dec, validator=_non_negative
    )
    """Under `overflow = "slippage"`: how far beyond the last visible level the rest fills."""
    symbols: Mapping[str, SymbolRules] = attrs.field(
        factory=lambda: dict(DEFAULT_SYMBOL_RULES), converter=_rules_table
    )
    default_symbol: SymbolRules = attrs.field(default=_UNKNOWN_RULES, converter=_default_rules)
    """Rules for a symbol missing from `symbols`."""
    quote_assets: tuple[str, ...] = attrs.field(default=DEFAULT_QUOTE_ASSETS, converter=_assets)
    """Suffixes that name a symbol's quote asset (BTCUSDT is BTC in USDT), longest first wins."""
    assets: Mapping[str, tuple[str, str]] = attrs.field(factory=dict, converter=_splits)
    """`(base, quote)` of symbols the suffixes cannot split, e.g. `{"AAPL": ("AAPL", "USD")}`."""

    def rules(self, symbol: str) -> SymbolRules:
        """The trading rules of `symbol` (the `default_symbol` rules when it has none)."""
        return self.symbols.get(symbol, self.default_symbol)

    def split(self, symbol: str) -> tuple[str, str] | None:
        """`(base, quote)` of a canonical symbol, or None when nothing says how it splits."""
        pair = self.assets.get(symbol)
        if pair is not None:
            return pair
        for quote in sorted(self.quote_assets, key=len, reverse=True):
            if symbol.endswith(quote) and len(symbol) > len(quote):
                return symbol[: -len(quote)], quote
        return None

    @classmethod
    def from_mapping(
        cls, table: Mapping[str, Any], source: str | Path = "<config>"
    ) -> BrokerConfig:
        """Build the config from a parsed TOML `[broker]` table.

        Raises `ConfigError` naming the key and `source` for an unknown key or a bad value.
        """
        fields = {f.name for f in attrs.fields(cls)}
        for key in table:
            if key not in fields:
                raise ConfigError(
                    f"{source}: unknown key 'broker.{key}'; the [broker] keys are "
                    f"{', '.join(sorted(fields))}"
                )
        for key in ("ledger", "ledger_sync", "overflow"):
            if key in table and not isinstance(table[key], str):
                raise ConfigError(f"{source}: 'broker.{key}' must be a string, not {table[key]!r}")
        for key in ("balances", "symbols", "assets"):
            if key in table and not isinstance(table[key], Mapping):
                raise ConfigError(f"{source}: 'broker.{key}' must be a table, not {table[key]!r}")
        if "quote_assets" in table and not isinstance(table["quote_assets"], list | tuple):
            raise ConfigError(f"{source}: 'broker.quote_assets' must be a list of asset names")
        try:
            return cls(**table)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{source}: [broker] {exc}") from None

    @property
    def model_settings(self) -> dict[str, str | int]:
        """The settings that shape fills, as recorded in every fill's audit."""
        return {
            "latency_ms": self.latency_ms,
            "taker_fee_bps": str(self.taker_fee_bps),
            "maker_fee_bps": str(self.maker_fee_bps),
            "overflow": self.overflow,
            "slippage_bps": str(self.slippage_bps),
        }
