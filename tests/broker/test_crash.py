"""kill -9 at any moment loses nothing that was reported.

A child process trades on a ledger on disk and prints what the broker told it; it is killed with
SIGKILL after a seeded random number of lines, again and again on the same ledger. A new broker
on that ledger must agree with everything any child reported.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from itick_bot.broker import BrokerConfig, PaperBroker
from itick_bot.clock import ManualClock
from itick_bot.model import ORDER_TRANSITIONS, TERMINAL_STATUSES, OrderStatus

CHILD = Path(__file__).with_name("crash_child.py")
ROUNDS = 6


def later_or_same(reported: OrderStatus, stored: OrderStatus) -> bool:
    """Whether `stored` is `reported` or can follow it through ORDER_TRANSITIONS."""
    seen, frontier = {reported}, [reported]
    while frontier:
        for nxt in ORDER_TRANSITIONS[frontier.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return stored in seen


def run_child(path: Path, seed: int, start_ns: int, kill_after: int | None) -> list[str]:
    """Run one child; kill it with SIGKILL once it has printed `kill_after` lines."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(path), str(seed), str(start_ns), "3000"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    for line in child.stdout:
        lines.append(line.rstrip("\n"))
        if kill_after is not None and len(lines) >= kill_after:
            child.send_signal(signal.SIGKILL)
            break
    child.stdout.close()
    child.wait(timeout=30)
    if kill_after is None or len(lines) < kill_after:
        assert child.returncode == 0, lines[-5:]
    else:
        assert child.returncode == -signal.SIGKILL
    return lines


@pytest.mark.parametrize("seed", [1, 2])
def test_a_killed_broker_resumes_with_everything_it_reported(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / "paper.sqlite"
    reported_status: dict[str, OrderStatus] = {}
    reported_filled: dict[str, Decimal] = {}
    reported_fills: dict[str, list[tuple[Decimal, Decimal]]] = {}
    starts = []
    for round_ in range(ROUNDS):
        kill_after = rng.randint(2, 600) if round_ < ROUNDS - 1 else None
        lines = run_child(path, seed * 100 + round_, (round_ + 1) * 10**15, kill_after)
        for line in lines:
            kind, *rest = line.split()
            if kind == "started":
                starts.append(rest[0])
            elif kind == "order":
                order_id, status, filled = rest
                reported_status[order_id] = status  # type: ignore[assignment]
                reported_filled[order_id] = Decimal(filled)
            elif kind == "fill":
                order_id, qty, price = rest
                reported_fills.setdefault(order_id, []).append((Decimal(qty), Decimal(price)))

    assert starts == ["seeded"] + ["resumed"] * (ROUNDS - 1)
    assert reported_fills, "the children never filled anything: the test proves nothing"
    broker = PaperBroker(BrokerConfig(), ManualClock(10**18), path)
    for order_id, status in reported_status.items():
        stored = broker.order(order_id)
        assert stored is not None, f"{order_id} was reported but is not in the ledger"
        assert later_or_same(status, stored.status), (order_id, status, stored.status)
        if status in TERMINAL_STATUSES:
            assert stored.status == status
        assert Decimal(repr(stored.filled_qty)) >= reported_filled[order_id]
    for order_id, told in reported_fills.items():
        stored_fills = [(f.qty, f.price) for f in broker.fill_records(order_id)]
        assert stored_fills[: len(told)] == told, order_id
    broker.close()


def test_the_ledger_after_kills_is_consistent_with_its_own_fills(tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "paper.sqlite"
    for round_ in range(4):
        run_child(path, 700 + round_, (round_ + 1) * 10**15, rng.randint(2, 600))

    broker = PaperBroker(BrokerConfig(), ManualClock(10**18), path)
    expected = {"USDT": Decimal(1_000), "BTC": Decimal(1)}
    for fill in broker.fill_records():
        sign = 1 if fill.side == "buy" else -1
        expected["BTC"] += sign * fill.qty
        expected["USDT"] -= sign * fill.price * fill.qty + fill.fee
    assert {a: broker.balance(a).total for a in expected} == {
        a: float(v) for a, v in expected.items()
    }
    broker.cancel_all()
    assert all(b.reserved == 0.0 for b in broker.balances().values())
    broker.close()
