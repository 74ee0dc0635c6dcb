"""TOML configuration read into frozen, typed attrs classes.

Every key is declared once, as a field with its default; an unknown key, a wrong type or a bad value
is a `ConfigError` naming the key, the file and what was expected. Look-up order (DESIGN.md): an
explicit path, else `./itick-bot.toml`, else `./config/itick-bot.toml`, else the built-in defaults.
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import attrs

from .broker import BrokerConfig
from .errors import ConfigError
from .model import INTERVALS, KLINE_PERIODS, Interval

__all__ = [
    "LIVE_URL",
    "AppConfig",
    "BarsConfig",
    "EngineConfig",
    "FeedConfig",
    "LogConfig",
    "RecordConfig",
    "SimSettings",
    "StrategySpec",
    "coerce_value",
    "describe_type",
    "find_config",
    "is_loopback_url",
    "load_config",
    "mask_secret",
    "parse_config",
    "resolve_feed",
]

LIVE_URL: Final = "wss://api.itick.org/crypto"
FEED_TYPES: Final = frozenset({"quote", "depth", "tick"})


def mask_secret(secret: str | None) -> str:
    """A key as it may be shown: at most its first 8 and last 5 characters, and nothing of a key
    too short for that to hide most of it."""
    if not secret:
        return "<none>"
    if len(secret) < 32:
        return "…"
    return f"{secret[:8]}…{secret[-5:]}"


def is_loopback_url(url: str) -> bool:
    """True for a WebSocket URL on this machine (a simulator started with `itick-bot sim`)."""
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


def _positive(_: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be greater than 0, not {value}")


def _feed_type(_: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for kind in value:
        if kind in FEED_TYPES:
            continue
        period = kind.removeprefix("kline@")
        if kind.startswith("kline@") and period.isdigit() and 1 <= int(period) <= 10:
            continue
        raise ValueError(
            f"{attribute.name} has {kind!r}; use quote, depth, tick or kline@1 ... kline@10"
        )


@attrs.frozen(kw_only=True)
class FeedConfig:
    """`[feed]`: where to connect, what to subscribe, and how to keep the connection healthy."""

    url: str = ""
    """"" picks the live endpoint when a key is set and "sim" otherwise; "sim" is the built-in
    simulator on a free loopback port."""
    token: str | None = attrs.field(default=None, repr=lambda t: mask_secret(t))
    token_env: str = "ITICK_TOKEN"
    region: str = "BA"
    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")
    types: tuple[str, ...] = attrs.field(default=("quote", "depth", "tick"), validator=_feed_type)
    ping_interval: float = attrs.field(default=20.0, validator=_positive)
    pong_timeout: float = attrs.field(default=10.0, validator=_positive)
    stale_timeout: float = attrs.field(default=30.0, validator=_positive)
    connect_timeout: float = attrs.field(default=10.0, validator=_positive)
    auth_timeout: float = attrs.field(default=10.0, validator=_positive)
    backoff_initial: float = attrs.field(default=0.5, validator=_positive)
    backoff_max: float = attrs.field(default=30.0, validator=_positive)
    knockoff_window: float = attrs.field(default=5.0, validator=_positive)
    knockoff_threshold: int = attrs.field(default=3, validator=_positive)
    knockoff_backoff: float = attrs.field(default=120.0, validator=_positive)
    max_frame_bytes: int = attrs.field(default=1 << 20, validator=_positive)
    max_pending: int = attrs.field(default=100_000, validator=_positive)
    conflate_after: int = attrs.field(default=1_000, validator=attrs.validators.ge(0))
    read_batch: int = attrs.field(default=64, validator=_positive)
    transport: Literal["websockets", "httpx-ws"] = "websockets"

    def __attrs_post_init__(self) -> None:
        if self.ping_interval > 30:
            # The server drops a connection silent for about a minute; SDKs ping every 30 s.
            raise ValueError("ping_interval must be at most 30 seconds")
        if not self.symbols:
            raise ValueError("symbols must name at least one symbol")


@attrs.frozen(kw_only=True)
class LogConfig:
    """`[log]`."""

    level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    format: Literal["auto", "console", "json"] = "auto"


def _intervals(_: Any, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for interval in value:
        if interval not in INTERVALS:
            raise ValueError(f"{attribute.name} has {interval!r}; use {', '.join(INTERVALS)}")


@attrs.frozen(kw_only=True)
class BarsConfig:
    """`[bars]`."""

    intervals: tuple[str, ...] = attrs.field(default=("1m", "5m"), validator=_intervals)
    """Built from klines where `[feed] types` subscribes them (kline@1 is 1m), else from ticks."""
    history: int = attrs.field(default=1000, validator=_positive)
    """Closed bars kept per symbol and interval."""
    backfill: int = 0
    """Closed bars loaded per symbol and interval over iTick's REST API before the strategies
    start (0: none), so indicators are warm on the first event."""
    kline_close_grace_ms: int = 2000
    """A kline-fed bar closes by the clock this long after its period ends (the server's last
    push of a bar may come late); a push for a later bar closes it at once."""
    tick_close_grace_ms: int = 500
    """A tick-built bar closes by the clock this long after its period ends (trades reach us
    after their exchange time); a trade in a later bar closes it at once."""

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.backfill <= self.history:
            raise ValueError(
                f"backfill must be between 0 and history ({self.history}), not {self.backfill}"
            )

    def kline_intervals(self, feed_types: tuple[str, ...]) -> frozenset[Interval]:
        """The configured intervals the feed delivers as klines."""
        fed = {
            KLINE_PERIODS[int(t.removeprefix("kline@"))]
            for t in feed_types
            if t.startswith("kline@")
        }
        return frozenset(iv for iv in fed if iv in self.intervals)


@attrs.frozen(kw_only=True)
class RecordConfig:
    """`[record]`: recordings made by `itick-bot record` and `itick-bot run --record`."""

    rotate_mb: float = 0.0
    """Start a new file after this many compressed MiB (0: never)."""
    rotate_minutes: float = 0.0
    """Start a new file after this many minutes (0: never)."""
    compress_level: int = 1
    """gzip level 1-9: 1 keeps the reader fast; higher makes files ~30% smaller."""

    def __attrs_post_init__(self) -> None:
        if self.rotate_mb < 0 or self.rotate_minutes < 0:
            raise ValueError("rotate_mb and rotate_minutes must be 0 (never) or more")
        if not 1 <= self.compress_level <= 9:
            raise ValueError(f"compress_level must be 1-9, not {self.compress_level}")


@attrs.frozen(kw_only=True)
class SimSettings:
    """`[sim]`: the built-in simulator that `url = "sim"` starts in-process."""

    seed: int = 0
    """The same seed gives the same market."""
    rate: float = attrs.field(default=10.0, validator=_positive)
    """Market updates per second per symbol."""
    time_scale: float = attrs.field(default=1.0, validator=_positive)
    """The simulated market's clock runs this many times faster than the wall clock (60 makes
    a 1-minute bar a second long)."""


@attrs.frozen(kw_only=True)
class EngineConfig:
    """`[engine]`."""

    max_backlog: int = attrs.field(default=100_000, validator=_positive)
    """Events a strategy may fall behind before it is stopped and reported."""
    tick_ms: int = attrs.field(default=50, validator=_positive)
    """With no market event for this long, the engine's clock moves to the wall clock's time
    anyway, so timers fire and orders reach the venue in a quiet market."""


@attrs.frozen(kw_only=True)
class StrategySpec:
    """`[strategy]`, or one `[[strategies]]` table: which strategy, under which name, with
    which parameters (checked against the strategy's own declarations when it is loaded)."""

    id: str = ""
    """The strategy's name in the run, its orders and the report (its class name if empty)."""
    path: str = ""
    """A Python file defining the strategy (relative to the working directory)."""
    entry_point: str = ""
    """Or the name of a strategy published in the entry-point group `itick_bot.strategies`."""
    class_name: str = ""
    """Which class, when the file defines several."""
    params: dict[str, Any] = attrs.field(factory=dict)
    table: str = attrs.field(default="[strategy]", eq=False, repr=False, init=False)
    """Where it was configured, for messages: `[strategy]` or `[[strategies]] table N`."""

    def __attrs_post_init__(self) -> None:
        if self.path and self.entry_point:
            raise ValueError("give either path or entry_point, not both")

    @property
    def target(self) -> str:
        return self.path or self.entry_point


@attrs.frozen(kw_only=True)
class AppConfig:
    feed: FeedConfig = attrs.field(factory=FeedConfig)
    broker: BrokerConfig = attrs.field(factory=BrokerConfig)
    bars: BarsConfig = attrs.field(factory=BarsConfig)
    engine: EngineConfig = attrs.field(factory=EngineConfig)
    sim: SimSettings = attrs.field(factory=SimSettings)
    record: RecordConfig = attrs.field(factory=RecordConfig)
    strategy: StrategySpec | None = None
    """`[strategy]`: the one `itick-bot run PATH|NAME` points elsewhere."""
    strategies: tuple[StrategySpec, ...] = ()
    """`[[strategies]]`: more strategies in the same process."""
    log: LogConfig = attrs.field(factory=LogConfig)
    source: Path | None = attrs.field(default=None, eq=False)
    """The file this came from; None for the built-in defaults."""


_SECTIONS: Final[dict[str, type]] = {
    "feed": FeedConfig,
    "broker": BrokerConfig,
    "bars": BarsConfig,
    "engine": EngineConfig,
    "sim": SimSettings,
    "record": RecordConfig,
    "strategy": StrategySpec,
    "strategies": StrategySpec,
    "log": LogConfig,
}
_SECRET_KEYS: Final = frozenset({"token"})


def describe_type(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " or ".join(repr(a) for a in typing.get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(describe_type(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"a list of {describe_type(typing.get_args(tp)[0])}"
    if origin is dict:
        _key, val = typing.get_args(tp)
        return f"a table of {describe_type(val)}"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def coerce_value(value: Any, tp: Any) -> Any:
    """`value` as type `tp`, or raise TypeError. TOML already gives str/int/float/bool/list/dict."""
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin is Literal:
        if value in typing.get_args(tp):
            return value
        raise TypeError
    if origin in (types.UnionType, typing.Union):
        for arm in typing.get_args(tp):
            if arm is type(None):
                continue
            try:
                return coerce_value(value, arm)
            except TypeError:
                pass
        raise TypeError
    if origin is tuple:
        if not isinstance(value, list):
            raise TypeError
        return tuple(coerce_value(v, typing.get_args(tp)[0]) for v in value)
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError
        _, val_tp = typing.get_args(tp)
        return {str(k): coerce_value(v, val_tp) for k, v in value.items()}
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp in (str, bool) and type(value) is tp:
        return value
    raise TypeError


def build_section(cls: type, table: Mapping[str, Any], section: str, source: str) -> Any:
    """An instance of the attrs class `cls` from one TOML table; errors name key and file."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in attrs.fields(cls) if f.init}
    known = ", ".join(sorted(fields))
    values: dict[str, Any] = {}
    for key, raw in table.items():
        if key not in fields:
            raise ConfigError(
                f"{source}: unknown key '{section}.{key}'; the keys of [{section}] are: {known}"
            )
        try:
            values[key] = coerce_value(raw, hints[key])
        except TypeError:
            shown = "" if key in _SECRET_KEYS else f" {raw!r}"  # never echo a key
            raise ConfigError(
                f"{source}: '{section}.{key}' must be {describe_type(hints[key])}, "
                f"not {type(raw).__name__}{shown}"
            ) from None
    try:
        return cls(**values)
    except ValueError as exc:
        raise ConfigError(f"{source}: [{section}] {exc}") from None


def parse_config(data: Mapping[str, Any], source: str, path: Path | None = None) -> AppConfig:
    """An `AppConfig` from an already-parsed TOML document."""
    sections: dict[str, Any] = {}
    strategies: list[StrategySpec] = []
    for name, table in data.items():
        if name not in _SECTIONS:
            raise ConfigError(
                f"{source}: unknown section [{name}]; the sections are: "
                + ", ".join(f"[{s}]" for s in _SECTIONS if s != "strategies")
                + " and [[strategies]]"
            )
        if name == "strategies":
            if not isinstance(table, list) or not all(isinstance(t, dict) for t in table):
                raise ConfigError(f"{source}: 'strategies' must be [[strategies]] tables")
            for n, item in enumerate(table, start=1):
                spec = build_section(StrategySpec, item, f"strategies.{n}", source)
                object.__setattr__(spec, "table", f"[[strategies]] table {n}")
                strategies.append(spec)
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: '{name}' must be a table ([{name}])")
        if name == "broker":  # nested tables (per-symbol rules): the broker reads its own
            sections[name] = BrokerConfig.from_mapping(table, source)
        elif name == "strategy":
            sections[name] = build_section(StrategySpec, table, name, source)
        else:
            sections[name] = build_section(_SECTIONS[name], table, name, source)
    for n, spec in enumerate(strategies, start=1):
        if not spec.target:
            raise ConfigError(f"{source}: [[strategies]] table {n} needs path or entry_point")
    return AppConfig(**sections, strategies=tuple(strategies), source=path)


def find_config(explicit: str | Path | None, cwd: Path | None = None) -> Path | None:
    """The file to read: `explicit` (which must exist), else the first default that exists."""
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist; check the --config path")
        return path
    base = cwd or Path.cwd()
    for candidate in (base / "itick-bot.toml", base / "config" / "itick-bot.toml"):
        if candidate.is_file():
            return candidate
    return None


def load_config(explicit: str | Path | None = None, cwd: Path | None = None) -> AppConfig:
    """Read the configuration by DESIGN.md's look-up order."""
    path = find_config(explicit, cwd)
    if path is None:
        return AppConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text; save it as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return parse_config(data, str(path), path)


def resolve_feed(feed: FeedConfig, environ: Mapping[str, str]) -> tuple[str, str | None]:
    """`(url, token)` to connect with. The key comes from `token`, else the variable named by
    `token_env`. With no `url`, a key means the live endpoint and no key means the simulator.
    A loopback URL (a simulator started apart) needs no key."""
    token = feed.token or environ.get(feed.token_env) or None
    url = feed.url or (LIVE_URL if token else "sim")
    if url != "sim" and not token and not is_loopback_url(url):
        raise ConfigError(
            f"[feed] url = {url!r} needs an iTick API key: export {feed.token_env}=<your key> "
            f"(or set [feed] token_env to the variable that holds it), or use the built-in "
            f'simulator with [feed] url = "sim" (for example --config config/sim.toml)'
        )
    return url, token
