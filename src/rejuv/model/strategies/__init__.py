"""The five strategies of the paper, one module each, on a shared base."""

from __future__ import annotations

from rejuv.errors import ParameterError
from rejuv.model.strategies.base import Evaluation, Strategy, check_hosts
from rejuv.model.strategies.cold import ColdReboot
from rejuv.model.strategies.live import LiveMigration, LiveMigrationRateControl
from rejuv.model.strategies.stop_and_copy import StopAndCopyMigration
from rejuv.model.strategies.warm import WarmReboot

__all__ = [
    "STRATEGIES",
    "ColdReboot",
    "Evaluation",
    "LiveMigration",
    "LiveMigrationRateControl",
    "StopAndCopyMigration",
    "Strategy",
    "WarmReboot",
    "check_hosts",
    "strategy",
]

#: Every strategy by its key, in the paper's order.
STRATEGIES: dict[str, Strategy] = {
    s.key: s for s in (WarmReboot(), ColdReboot(), StopAndCopyMigration(), LiveMigration(), LiveMigrationRateControl())
}


def strategy(key: str) -> Strategy:
    """The strategy called ``key``; raise :class:`~rejuv.errors.ParameterError` for an unknown one."""
    try:
        return STRATEGIES[key]
    except KeyError:
        raise ParameterError(f"strategy {key!r}", f"unknown; expected one of {', '.join(STRATEGIES)}") from None
