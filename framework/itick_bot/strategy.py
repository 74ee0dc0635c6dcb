"""The `Strategy` base class: what a user subclasses, and the context the engine gives it.

A strategy is a class with optional hooks (`on_quote`, `on_tick`, `on_depth`, `on_bar`,
`on_order`, `on_fill`, `on_feed`, `on_start`, `on_stop`; plain or `async def`) and parameters
declared as annotated class attributes with defaults. The engine creates it (strategies do not
override `__init__`: setup goes in `on_start`), sets its parameters from TOML, binds it to a
context, and calls its hooks. Everything a hook may ask (the book, bars, positions, orders, the
time) goes through that context, so the same strategy runs live, on the simulator and in a
backtest.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Final, Protocol

from .config import coerce_value, describe_type
from .errors import ConfigError
from .model import Balance, Order, Position, Quote, Side, TimeInForce

if TYPE_CHECKING:
    from .bars import BarSeries
    from .book import OrderBook

__all__ = [
    "HOOKS",
    "Number",
    "Strategy",
    "StrategyContext",
    "StrategyError",
    "apply_params",
    "implemented_hooks",
    "strategy_params",
]

Number = float | Decimal | str

HOOKS: Final = (
    "on_start",
    "on_quote",
    "on_tick",
    "on_depth",
    "on_bar",
    "on_order",
    "on_fill",
    "on_feed",
    "on_stop",
)


class StrategyError(ConfigError):
    """A strategy class breaks the contract (overrides `__init__`, bad parameters, ...)."""


class StrategyContext(Protocol):
    """What the engine provides to a running strategy."""

    log: Any

    def book(self, symbol: str) -> OrderBook: ...
    def bars(self, symbol: str, interval: str) -> BarSeries: ...
    def last_quote(self, symbol: str) -> Quote | None: ...
    def position(self, symbol: str) -> Position: ...
    def balance(self, asset: str) -> Balance: ...
    def open_orders(self, symbol: str | None) -> list[Order]: ...
    def submit(
        self,
        symbol: str,
        side: Side,
        qty: Number,
        price: Number | None,
        tif: TimeInForce,
        post_only: bool,
    ) -> Order: ...
    def cancel(self, order: Order | str) -> Order: ...
    def cancel_all(self, symbol: str | None) -> list[Order]: ...
    def schedule(self, every_s: float, callback: Callable[[], Any]) -> None: ...
    def now_ms(self) -> int: ...


class _Unbound:
    """The context of a strategy the engine has not started: every call says so."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(
            f"this strategy is not running, so {name}() is not available yet: the engine binds "
            f"it before on_start (do your setup in on_start, not in __init__ or at import)"
        )


class Strategy:
    """Subclass this. Parameters are annotated class attributes with defaults:

        class Spread(Strategy):
            symbol: str = "BTCUSDT"
            edge_bps: float = 5.0

            def on_depth(self, depth: Depth) -> None:
                book = self.book(self.symbol)
                ...

    `[strategy.params]` in the TOML file overrides them, type-checked. Every hook is optional.
    """

    name: str
    """The strategy's id in the run (its class name unless the config gives an `id`)."""
    _ctx: StrategyContext

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            raise StrategyError(
                f"strategy {cls.__name__} overrides __init__; strategies are created by the "
                f"engine: declare parameters as annotated class attributes and do setup in "
                f"on_start"
            )

    def __init__(self) -> None:
        self._ctx = _Unbound()
        self.name = type(self).__name__

    def _bind(self, ctx: StrategyContext, name: str) -> None:
        self._ctx = ctx
        self.name = name

    # -- the context ----------------------------------------------------------------------------
    @property
    def log(self) -> Any:
        """A structlog logger bound to this strategy's name."""
        return self._ctx.log

    def book(self, symbol: str) -> OrderBook:
        """The order book of `symbol`, already updated with the depth being handled."""
        return self._ctx.book(symbol)

    def bars(self, symbol: str, interval: str) -> BarSeries:
        """Closed bars of `symbol` at `interval` (newest last), with `.forming`."""
        return self._ctx.bars(symbol, interval)

    def last_quote(self, symbol: str) -> Quote | None:
        return self._ctx.last_quote(symbol)

    def position(self, symbol: str) -> Position:
        return self._ctx.position(symbol)

    def balance(self, asset: str) -> Balance:
        return self._ctx.balance(asset)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """This strategy's orders that are not finished yet."""
        return self._ctx.open_orders(symbol)

    def buy(
        self,
        symbol: str,
        qty: Number,
        price: Number | None = None,
        *,
        tif: TimeInForce = "GTC",
        post_only: bool = False,
    ) -> Order:
        """Send a buy order (a market order when `price` is None). Returns it at once,
        "submitted", or "rejected" when it is invalid before it leaves."""
        return self._ctx.submit(symbol, "buy", qty, price, tif, post_only)

    def sell(
        self,
        symbol: str,
        qty: Number,
        price: Number | None = None,
        *,
        tif: TimeInForce = "GTC",
        post_only: bool = False,
    ) -> Order:
        """Send a sell order; see `buy`."""
        return self._ctx.submit(symbol, "sell", qty, price, tif, post_only)

    def cancel(self, order: Order | str) -> Order:
        """Cancel one order (an `Order` or its id)."""
        return self._ctx.cancel(order)

    def cancel_all(self, symbol: str | None = None) -> list[Order]:
        """Cancel this strategy's open orders, for one symbol or all."""
        return self._ctx.cancel_all(symbol)

    def schedule(self, every_s: float, callback: Callable[[], Any]) -> None:
        """Call `callback()` (plain or async) every `every_s` seconds of the engine's clock."""
        self._ctx.schedule(every_s, callback)

    def now(self) -> int:
        """The engine's time in epoch milliseconds (the receive time of the event being
        handled, so that a replay makes the same decisions)."""
        return self._ctx.now_ms()


def strategy_params(cls: type[Strategy]) -> dict[str, tuple[Any, Any]]:
    """`{name: (type, default)}` of the parameters a strategy class declares (its annotated
    class attributes with defaults, inherited ones included)."""
    params: dict[str, tuple[Any, Any]] = {}
    for klass in reversed(cls.__mro__):
        if klass is Strategy or not issubclass(klass, Strategy):
            continue
        try:
            hints = typing.get_type_hints(klass)
        except Exception as exc:
            raise StrategyError(
                f"strategy {cls.__name__}: cannot read the parameter annotations of "
                f"{klass.__name__}: {exc}"
            ) from None
        for name in inspect.get_annotations(klass):
            if name.startswith("_") or typing.get_origin(hints.get(name)) is ClassVar:
                continue
            if name not in klass.__dict__:
                raise StrategyError(
                    f"strategy {cls.__name__}: parameter {name!r} has no default; give it one "
                    f"(e.g. `{name}: {describe_type(hints[name])} = ...`)"
                )
            params[name] = (hints[name], klass.__dict__[name])
    return params


def apply_params(strategy: Strategy, overrides: Mapping[str, Any], source: str) -> None:
    """Set parameters from `overrides` (e.g. `[strategy.params]`), checking names and types."""
    declared = strategy_params(type(strategy))
    for key, raw in overrides.items():
        if key not in declared:
            known = ", ".join(sorted(declared)) or "none"
            raise ConfigError(
                f"{source}: unknown parameter {key!r} for strategy {type(strategy).__name__}; "
                f"its parameters are: {known}"
            )
        tp = declared[key][0]
        try:
            value = coerce_value(raw, tp)
        except TypeError:
            raise ConfigError(
                f"{source}: parameter {key!r} of strategy {type(strategy).__name__} must be "
                f"{describe_type(tp)}, not {type(raw).__name__} {raw!r}"
            ) from None
        setattr(strategy, key, value)


def implemented_hooks(cls: type[Strategy]) -> frozenset[str]:
    """The hooks a strategy class defines (the engine dispatches only these)."""
    return frozenset(h for h in HOOKS if callable(getattr(cls, h, None)))
