"""`itick-bot tail` as a user runs it: a real process, the simulator, loopback only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

KEY = "tail-cli-test-key-0123456789abcdefghij"


def itick_bot(
    *args: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "itick_bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


@contextmanager
def simulator(*flags: str) -> Iterator[str]:
    """`itick-bot sim` in its own process; yields its ws:// URL from its first line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "itick_bot.cli", "sim", "--port", "0", "--duration", "30", *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = next(word for word in first.split() if word.startswith("ws://"))
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


def test_tail_prints_json_events_then_the_statistics_and_exits_0() -> None:
    result = itick_bot(
        "tail", "--url", "sim", "--json", "--duration", "1.5", env={"ITICK_TOKEN": KEY}
    )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    kinds = {line.get("event") for line in lines[:-1]}
    assert {"quote", "depth", "tick", "feed"} <= kinds
    stats = lines[-1]["stats"]
    assert stats["connects"] == 1
    assert stats["malformed"] == {}
    assert stats["frames"]["quote"] > 0
    assert "built-in simulator" in result.stderr.splitlines()[0]


def test_tail_says_where_it_connects_and_never_shows_the_key() -> None:
    with simulator() as url:
        result = itick_bot("tail", "--url", url, "--duration", "1", env={"ITICK_TOKEN": KEY})
    assert result.returncode == 0, result.stderr
    assert url in result.stderr.splitlines()[0]
    assert KEY not in result.stdout + result.stderr
    assert "feed statistics" in result.stdout


def test_a_refused_key_exits_3_with_a_message_saying_what_to_check() -> None:
    with simulator("--token", "the-only-accepted-key-000000000000") as url:
        result = itick_bot("tail", "--url", url, "--duration", "10", env={"ITICK_TOKEN": KEY})
    assert result.returncode == 3
    assert "refused the API key" in result.stderr
    assert "ITICK_TOKEN" in result.stderr
    assert KEY not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_a_live_url_without_a_key_is_a_configuration_error_exit_2() -> None:
    env = {"ITICK_TOKEN": ""}
    result = itick_bot("tail", "--url", "wss://api.itick.org/crypto", "--duration", "1", env=env)
    assert result.returncode == 2
    assert "needs an iTick API key" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_config_file_names_the_file_and_the_key(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "bad.toml"
    path.write_text('[feed]\nping_interval = "often"\n')
    result = itick_bot("tail", "--config", str(path))
    assert result.returncode == 2
    assert str(path) in result.stderr
    assert "feed.ping_interval" in result.stderr
