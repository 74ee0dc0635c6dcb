"""TOML configuration: defaults, every key of [feed] and [log], errors that name key and file,
the look-up order, and where the feed connects."""

from __future__ import annotations

import tomllib
from pathlib import Path

import attrs
import pytest

from itick_bot.config import (
    LIVE_URL,
    AppConfig,
    FeedConfig,
    LogConfig,
    find_config,
    load_config,
    mask_secret,
    resolve_feed,
)
from itick_bot.errors import ConfigError

KEY = "a5ca43ba0123456789abcdef1847ac9259ae290c8"


def write(folder: Path, text: str, name: str = "itick-bot.toml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# -- defaults ----------------------------------------------------------------------------------


def test_feed_defaults() -> None:
    feed = FeedConfig()
    assert feed.url == ""
    assert feed.token is None
    assert feed.token_env == "ITICK_TOKEN"
    assert feed.region == "BA"
    assert feed.symbols == ("BTCUSDT", "ETHUSDT")
    assert feed.types == ("quote", "depth", "tick")
    assert feed.ping_interval == 20.0
    assert feed.max_frame_bytes == 1 << 20


def test_log_defaults() -> None:
    assert (LogConfig().level, LogConfig().format) == ("info", "auto")


def test_no_file_anywhere_gives_the_defaults(tmp_path: Path) -> None:
    config = load_config(cwd=tmp_path)
    assert config == AppConfig()
    assert config.source is None


# -- every key ---------------------------------------------------------------------------------

FULL = """
[feed]
url = "wss://api-free.itick.org/crypto"
token = "secret-token-value-123"
token_env = "MY_ITICK_KEY"
region = ""
symbols = ["ETHUSDT"]
types = ["quote", "kline@3"]
ping_interval = 15
pong_timeout = 4.5
stale_timeout = 40.0
connect_timeout = 3.0
auth_timeout = 2.0
backoff_initial = 0.25
backoff_max = 60.0
knockoff_window = 7.0
knockoff_threshold = 5
knockoff_backoff = 300.0
max_frame_bytes = 65536
max_pending = 500
conflate_after = 0
read_batch = 8
transport = "httpx-ws"

[log]
level = "debug"
format = "json"
"""


def test_every_key_of_feed_and_log_is_read(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    config = load_config(path)
    assert config.feed == FeedConfig(
        url="wss://api-free.itick.org/crypto",
        token="secret-token-value-123",
        token_env="MY_ITICK_KEY",
        region="",
        symbols=("ETHUSDT",),
        types=("quote", "kline@3"),
        ping_interval=15.0,
        pong_timeout=4.5,
        stale_timeout=40.0,
        connect_timeout=3.0,
        auth_timeout=2.0,
        backoff_initial=0.25,
        backoff_max=60.0,
        knockoff_window=7.0,
        knockoff_threshold=5,
        knockoff_backoff=300.0,
        max_frame_bytes=65536,
        max_pending=500,
        conflate_after=0,
        read_batch=8,
        transport="httpx-ws",
    )
    assert config.log == LogConfig(level="debug", format="json")
    assert config.source == path


def test_the_full_example_sets_every_key_there_is() -> None:
    # Guards the test above: a key added to FeedConfig must be added to FULL too.
    data = tomllib.loads(FULL)
    assert set(data["feed"]) == {f.name for f in attrs.fields(FeedConfig)}
    assert set(data["log"]) == {f.name for f in attrs.fields(LogConfig)}


def test_an_integer_is_taken_where_a_number_is_expected(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[feed]\nping_interval = 15\n"))
    assert config.feed.ping_interval == 15.0
    assert isinstance(config.feed.ping_interval, float)


def test_a_section_left_out_keeps_its_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[log]\nlevel = "error"\n'))
    assert config.feed == FeedConfig()


# -- errors that name the key and the file -----------------------------------------------------

BAD = {
    "unknown section": ("[nonsense]\nx = 1\n", "nonsense"),
    "unknown key": ("[feed]\npong_timout = 3\n", "feed.pong_timout"),
    "string for a number": ('[feed]\nping_interval = "20"\n', "feed.ping_interval"),
    "bool for a number": ("[feed]\nping_interval = true\n", "feed.ping_interval"),
    "float for an integer": ("[feed]\nmax_pending = 1.5\n", "feed.max_pending"),
    "string for a list": ('[feed]\nsymbols = "BTCUSDT"\n', "feed.symbols"),
    "number in a list of strings": ("[feed]\nsymbols = [1]\n", "feed.symbols"),
    "ping interval over 30 s": ("[feed]\nping_interval = 45\n", "ping_interval"),
    "zero timeout": ("[feed]\npong_timeout = 0\n", "pong_timeout"),
    "negative backoff": ("[feed]\nbackoff_max = -1.0\n", "backoff_max"),
    "unknown kline period": ('[feed]\ntypes = ["kline@99"]\n', "kline@99"),
    "unknown stream type": ('[feed]\ntypes = ["trades"]\n', "trades"),
    "no symbols": ("[feed]\nsymbols = []\n", "symbols"),
    "unknown log level": ('[log]\nlevel = "loud"\n', "log.level"),
    "unknown log format": ('[log]\nformat = "xml"\n', "log.format"),
    "section not a table": ("feed = 3\n", "feed"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_config_is_a_config_error_naming_key_and_file(tmp_path: Path, case: str) -> None:
    text, key = BAD[case]
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert key in str(caught.value)
    assert str(path) in str(caught.value)


def test_an_unknown_key_error_lists_the_keys_there_are(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pong_timeout"):
        load_config(write(tmp_path, "[feed]\npong_timout = 3\n"))


def test_a_wrong_type_error_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a number"):
        load_config(write(tmp_path, '[feed]\nping_interval = "20"\n'))


def test_a_mistyped_token_is_not_echoed_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, f'[feed]\ntoken = ["{KEY}"]\n'))
    assert "feed.token" in str(caught.value)
    assert KEY not in str(caught.value)


def test_invalid_toml_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[feed\n")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_config(path)
    assert str(path) in str(caught.value)


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "itick-bot.toml"
    path.write_bytes(b'[log]\nlevel = "\xff"\n')
    with pytest.raises(ConfigError, match="UTF-8") as caught:
        load_config(path)
    assert str(path) in str(caught.value)


def test_an_explicit_path_that_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")


# -- look-up order -----------------------------------------------------------------------------


def test_lookup_finds_the_file_in_the_working_directory(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    assert find_config(None, cwd=tmp_path) == path


def test_lookup_falls_back_to_the_config_folder(tmp_path: Path) -> None:
    path = write(tmp_path, "", "config/itick-bot.toml")
    assert find_config(None, cwd=tmp_path) == path


def test_the_working_directory_file_wins_over_the_config_folder(tmp_path: Path) -> None:
    write(tmp_path, '[log]\nlevel = "error"\n', "config/itick-bot.toml")
    write(tmp_path, '[log]\nlevel = "debug"\n')
    assert load_config(cwd=tmp_path).log.level == "debug"


def test_an_explicit_path_wins_over_both_defaults(tmp_path: Path) -> None:
    write(tmp_path, '[log]\nlevel = "error"\n', "config/itick-bot.toml")
    write(tmp_path, '[log]\nlevel = "debug"\n')
    explicit = write(tmp_path, '[log]\nlevel = "warning"\n', "other.toml")
    assert load_config(explicit, cwd=tmp_path).log.level == "warning"


def test_no_file_found_means_none(tmp_path: Path) -> None:
    assert find_config(None, cwd=tmp_path) is None


# -- where the feed connects -------------------------------------------------------------------


def test_no_url_with_a_key_connects_live() -> None:
    assert resolve_feed(FeedConfig(), {"ITICK_TOKEN": KEY}) == (LIVE_URL, KEY)


def test_no_url_and_no_key_uses_the_simulator() -> None:
    assert resolve_feed(FeedConfig(), {}) == ("sim", None)


def test_an_empty_key_variable_counts_as_no_key() -> None:
    assert resolve_feed(FeedConfig(), {"ITICK_TOKEN": ""}) == ("sim", None)


def test_the_key_is_read_from_the_variable_named_by_token_env() -> None:
    feed = FeedConfig(token_env="MY_KEY")
    assert resolve_feed(feed, {"MY_KEY": KEY, "ITICK_TOKEN": "other"}) == (LIVE_URL, KEY)


def test_a_token_in_the_config_wins_over_the_environment() -> None:
    assert resolve_feed(FeedConfig(token=KEY), {"ITICK_TOKEN": "other"}) == (LIVE_URL, KEY)


def test_sim_url_needs_no_key() -> None:
    assert resolve_feed(FeedConfig(url="sim"), {}) == ("sim", None)


def test_a_live_url_without_a_key_says_how_to_set_one_or_use_the_simulator() -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_feed(FeedConfig(url=LIVE_URL), {})
    message = str(caught.value)
    assert "export ITICK_TOKEN=" in message
    assert 'url = "sim"' in message


def test_the_missing_key_error_names_the_configured_variable() -> None:
    with pytest.raises(ConfigError, match="export MY_KEY="):
        resolve_feed(FeedConfig(url=LIVE_URL, token_env="MY_KEY"), {})


def test_resolve_feed_does_not_read_the_process_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ITICK_TOKEN", KEY)
    assert resolve_feed(FeedConfig(), {}) == ("sim", None)


# -- the key stays secret ----------------------------------------------------------------------


@pytest.mark.parametrize("secret", ["k", "0123456789abcdef", "0123456789abcdefg", KEY])
def test_mask_secret_never_shows_the_whole_key(secret: str) -> None:
    assert secret not in mask_secret(secret)


def test_mask_secret_of_a_long_key_keeps_its_ends() -> None:
    assert mask_secret(KEY) == "a5ca43ba…290c8"


@pytest.mark.parametrize("secret", [None, ""])
def test_mask_secret_of_no_key(secret: str | None) -> None:
    assert mask_secret(secret) == "<none>"


def test_feed_config_repr_hides_the_key() -> None:
    text = repr(FeedConfig(token=KEY))
    assert KEY not in text
    assert "a5ca43ba…290c8" in text


def test_app_config_repr_hides_the_key(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, f'[feed]\ntoken = "{KEY}"\n'))
    assert config.feed.token == KEY
    assert KEY not in repr(config)
