"""The paper's two conclusions, read from one parameter set: is Warm-VM Reboot best at every m, and from
which m does migration overtake Cold-VM Reboot."""

from __future__ import annotations

from typing import Any

import numpy as np

from rejuv.model import STRATEGIES, MigrationStrategy
from rejuv.report.figure7 import Figure7Data

__all__ = ["verdict"]


def verdict(data: Figure7Data) -> dict[str, Any]:
    """``warm_best_everywhere`` over Figure 7's hosts (2 to 10^6) with where it is not, and the crossovers
    at which each migration strategy overtakes Cold-VM Reboot (``hosts`` None: never)."""
    others = np.max([curve for key, curve in data.curves.items() if key != "warm"], axis=0)
    behind = np.flatnonzero(data.curves["warm"] < others)
    losing: dict[str, Any] | None = None
    if behind.size:
        first = int(behind[0])
        winner = max((key for key in data.curves if key != "warm"), key=lambda key: data.curves[key][first])
        losing = {"from_hosts": int(data.hosts[first]), "best_there": winner}
    over_cold = {
        item.strategy: item.hosts
        for item in data.crossovers
        if item.overtakes == "cold" and isinstance(STRATEGIES.get(item.strategy), MigrationStrategy)
    }
    return {"warm_best_everywhere": losing is None, "warm_loses": losing, "migration_overtakes_cold": over_cold}
