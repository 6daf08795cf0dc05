"""The pool of spare hosts as a first-come, first-served queue.

Hosts ask for a spare when their VMM rejuvenation is due, at times a_i, in
order; each holds one for c_i seconds (its migration, and the reboot after
which a host is free again). With K spares and first come, first served, the
i-th request starts at

    s_i = max(a_i, time the earliest spare is free),

which with constant holds c is the request K places earlier plus c, so each
of the K chains is a Lindley recursion w_i = max(0, w_{i-1} + c - (a_i - a_{i-1}))
and is solved by a cumulative maximum: s_q = q c + max_{r<=q} (a_r - r c).
With one spare and varying holds the same works with the prefix sums of c.
Only K > 1 spares with varying holds take a loop (a heap of free times).
"""

from __future__ import annotations

import heapq

import numpy as np
from numpy.typing import NDArray

__all__ = ["spare_starts"]

Array = NDArray[np.float64]


def spare_starts(due: Array, hold: Array | float, spares: int) -> Array:
    """When each request gets a spare; ``due`` sorted ascending, ``hold`` per request or constant, s."""
    due = np.asarray(due, dtype=np.float64)
    if due.size == 0:
        return due.copy()
    holds = np.broadcast_to(np.asarray(hold, dtype=np.float64), due.shape)
    constant = bool(np.all(holds == holds[0]))
    if constant:
        start = np.empty_like(due)
        c = float(holds[0])
        for chain in range(min(spares, due.size)):
            arrivals = due[chain::spares]
            shift = np.arange(arrivals.size) * c
            start[chain::spares] = shift + np.maximum.accumulate(arrivals - shift)
        return start
    if spares == 1:
        before = np.concatenate(([0.0], np.cumsum(holds)[:-1]))
        result: Array = before + np.maximum.accumulate(due - before)
        return result
    free = [0.0] * spares
    heapq.heapify(free)
    out = np.empty_like(due)
    for index, (arrival, length) in enumerate(zip(due.tolist(), holds.tolist(), strict=True)):
        begin = max(arrival, heapq.heappop(free))
        out[index] = begin
        heapq.heappush(free, begin + length)
    return out
