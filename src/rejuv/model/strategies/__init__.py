"""The strategies, one module each, on a shared base, and the registry that every other part asks.

:data:`STRATEGIES` holds every registered strategy by key, the paper's five
first. :func:`register` adds one more: its own parameters join the symbol
table (so presets, parameter files, ``--set`` and :class:`Parameters` take
them) and its occupancy joins the checks that combine parameters. The
simulator, the trace tools, the figures and the CLI find strategies here and
ask each for its terms, so a new strategy is one module (and, for its own
parameters, one preset section or ``--set``), with no change elsewhere.
"""

from __future__ import annotations

from rejuv.errors import ParameterError
from rejuv.model.parameters import add_occupancy_rule, remove_occupancy_rule
from rejuv.model.strategies.base import Evaluation, OsRule, Strategy, check_hosts
from rejuv.model.strategies.cold import ColdReboot
from rejuv.model.strategies.live import LiveMigration, LiveMigrationRateControl
from rejuv.model.strategies.migrating import MigrationStrategy
from rejuv.model.strategies.reboot import RebootStrategy, RebootTerms
from rejuv.model.strategies.stop_and_copy import StopAndCopyMigration
from rejuv.model.strategies.warm import WarmReboot
from rejuv.model.symbols import register_symbols, unregister_symbols

__all__ = [
    "STRATEGIES",
    "ColdReboot",
    "Evaluation",
    "LiveMigration",
    "LiveMigrationRateControl",
    "MigrationStrategy",
    "OsRule",
    "RebootStrategy",
    "RebootTerms",
    "StopAndCopyMigration",
    "Strategy",
    "WarmReboot",
    "canonical_key",
    "check_hosts",
    "register",
    "strategy",
    "unregister",
]

#: Every registered strategy by its key, the paper's five first, in the paper's order.
STRATEGIES: dict[str, Strategy] = {}
_ALIASES: dict[str, str] = {}  # other keys accepted on input, to the strategy's own


def register(item: Strategy) -> Strategy:
    """Add ``item`` to :data:`STRATEGIES`, its symbols to the symbol table and its occupancy to the checks.

    Raises :class:`ParameterError` if its key, an alias or a symbol is taken.
    Returns ``item``.
    """
    taken = [key for key in (item.key, *item.aliases) if key in STRATEGIES or key in _ALIASES]
    if taken:
        raise ParameterError(f"strategy {taken[0]!r}", "already registered")
    register_symbols(item.symbols)
    STRATEGIES[item.key] = item
    _ALIASES.update(dict.fromkeys(item.aliases, item.key))
    add_occupancy_rule(item.key, item.occupancy)
    return item


def unregister(key: str) -> None:
    """Remove the strategy ``key`` with its symbols, aliases and checks (for tests and plug-ins)."""
    item = STRATEGIES.pop(canonical_key(key))
    for alias in item.aliases:
        _ALIASES.pop(alias, None)
    unregister_symbols(item.symbols)
    remove_occupancy_rule(item.key)


def canonical_key(key: str) -> str:
    """``key``, or the key of the strategy it is an alias of (``stop_and_copy`` -> ``migration``).

    Raises :class:`ParameterError` for a key no strategy answers to.
    """
    if key in STRATEGIES:
        return key
    try:
        return _ALIASES[key]
    except KeyError:
        raise ParameterError(f"strategy {key!r}", f"unknown; expected one of {', '.join(STRATEGIES)}") from None


def strategy(key: str) -> Strategy:
    """The strategy called ``key`` (or an alias); raise :class:`ParameterError` for an unknown one."""
    return STRATEGIES[canonical_key(key)]


for _paper in (WarmReboot(), ColdReboot(), StopAndCopyMigration(), LiveMigration(), LiveMigrationRateControl()):
    register(_paper)
