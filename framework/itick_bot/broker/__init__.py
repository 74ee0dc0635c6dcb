"""The paper broker: a spot account that fills against the live book, and its SQLite ledger.

Market and marketable orders walk the visible levels; liquidity they take stays taken until the
book shows the level changed; resting orders keep an estimated queue position; orders reach the
simulated venue after a latency; every change is committed to the ledger before it is reported.
The README's "The paper broker" section says what it models and what it cannot know.
"""

from ._broker import BrokerUpdate, PaperBroker
from ._config import (
    DEFAULT_QUOTE_ASSETS,
    DEFAULT_SYMBOL_RULES,
    BrokerConfig,
    LedgerSync,
    OverflowPolicy,
    SymbolRules,
    to_decimal,
)
from ._errors import BrokerError, LedgerError, OrderStateError
from ._ledger import FillRecord
from ._summary import LedgerSummary, ledger_fills, read_ledger

__all__ = [
    "DEFAULT_QUOTE_ASSETS",
    "DEFAULT_SYMBOL_RULES",
    "BrokerConfig",
    "BrokerError",
    "BrokerUpdate",
    "FillRecord",
    "LedgerError",
    "LedgerSummary",
    "LedgerSync",
    "OrderStateError",
    "OverflowPolicy",
    "PaperBroker",
    "SymbolRules",
    "ledger_fills",
    "read_ledger",
    "to_decimal",
]
