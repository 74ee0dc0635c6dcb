"""The paper broker's own errors."""

from __future__ import annotations

from ..errors import ConfigError, ItickBotError

__all__ = ["BrokerError", "LedgerError", "OrderStateError"]


class BrokerError(ItickBotError):
    """The paper broker was asked for something it cannot do (an unknown order id, a broker whose
    ledger failed). Invalid orders are not errors: they come back as "rejected" orders."""


class OrderStateError(BrokerError):
    """An order status change that `model.ORDER_TRANSITIONS` does not allow (a bug, never data)."""


class LedgerError(ConfigError):
    """The ledger file cannot be used: missing, unreadable, not a ledger, written by a newer
    version, or failing to commit. A configuration error (exit status 2): point `[broker] ledger`
    at another file or repair this one."""
