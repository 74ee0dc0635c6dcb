"""`itick-bot sim` as a user runs it: a real process, its first line, a real connection."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from websockets.sync.client import connect

URL = re.compile(r"ws://[^\s]+")


@contextmanager
def sim_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "itick_bot.cli", "sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = URL.search(first)
        assert match, f"no ws:// URL in the first line: {first!r}"
        yield proc, match.group(0)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def greeting(url: str) -> list[dict[str, object]]:
    with connect(url, additional_headers={"token": "k"}, proxy=None, open_timeout=5) as ws:
        return [json.loads(ws.recv(timeout=5)) for _ in range(2)]


def test_sim_prints_its_url_first_serves_it_and_stops_after_duration() -> None:
    with sim_process("--port", "0", "--duration", "3") as (proc, url):
        assert url.endswith("/crypto")
        assert greeting(url) == [
            {"code": 1, "msg": "Connected Successfully"},
            {"code": 1, "resAc": "auth", "msg": "authenticated"},
        ]
        assert proc.wait(timeout=10) == 0


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_sim_stops_gracefully_on_a_signal(sig: signal.Signals) -> None:
    with sim_process("--port", "0") as (proc, url):
        greeting(url)
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
        out, _ = proc.communicate(timeout=5)
        assert "stopped" in out


def test_sim_fault_flags_reach_the_server() -> None:
    with sim_process("--port", "0", "--fail-auth", "--duration", "3") as (proc, url):
        frames = greeting(url)
        assert frames[1] == {"code": 0, "resAc": "auth", "msg": "auth failed"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0


def test_sim_help_has_examples() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "itick_bot.cli", "sim", "--help"],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert "examples:" in result.stdout
    assert "--malformed-every" in result.stdout


def test_a_bad_flag_value_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "itick_bot.cli", "sim", "--rate", "-3"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--rate" in result.stderr
