"""Pre-copy live migration: the rounds, their rates, and the predicted migration time and downtime.

Pre-copy (Clark et al., NSDI 2005) sends the guest's RAM while it runs, then
in each later round the pages the guest dirtied during the previous one,
and finally stops the guest and sends what is left (the stop-and-copy
round, whose time is the downtime). With RAM ``V_0`` (bytes to send in the
first round), a dirtying rate ``D`` and the rate ``B_i`` of round ``i``
(bytes/s), as in Akoush et al. (MASCOTS 2010)::

    t_0 = V_0 / B_0
    V_i = min(D t_(i-1), W)          (W: the writable working set; none by default)
    t_i = V_i / B_i
    total time  T = t_0 + t_1 + ... + t_n      (round n is the stop-and-copy)
    downtime    T_down = t_n = V_n / B_n

With one rate ``B`` throughout and no working-set bound, ``V_i = V_0 (D/B)^i``
and the pre-copy rounds sum to ``V_0 / B (1 - (D/B)^n) / (1 - D/B)``.

When to stop (:func:`stop_reason`) and which rate a round gets depend on the
rate policy. Unlimited (QEMU's own): every round at the link's rate; stop when
the rest can be sent within the downtime limit (``V_i <= B max_downtime``).
Adaptive rate control (:class:`RateRule`, Xen's after Clark et al.): the
first round at ``initial``; each later one at the previous round's dirtying
rate plus ``increment``, at least ``initial`` and at most ``maximum``; stop
when that rate reaches the maximum, or when little is left (256 KiB, Clark et
al.), or after 30 rounds, or once three times the RAM has been sent (Xen's
bounds); the stop-and-copy round runs at the maximum. Rates here are in
bytes/s; :data:`MBIT` converts from Mbit/s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rejuv.errors import RejuvError

__all__ = [
    "MBIT",
    "FINAL_REMAINING",
    "MAX_ROUNDS",
    "MAX_SENT_FACTOR",
    "RateRule",
    "PreCopyPrediction",
    "stop_reason",
    "predict_precopy",
    "predict_stop_and_copy",
]

MBIT = 1e6 / 8  #: bytes/s in one Mbit/s
FINAL_REMAINING = 256 * 1024  #: bytes: less than this left, the final round starts (Clark et al.)
MAX_ROUNDS = 30  #: pre-copy rounds at most (Xen's max_iters + 1)
MAX_SENT_FACTOR = 3.0  #: stop once this many times the RAM has been sent (Xen's max_factor)


@dataclass(frozen=True)
class RateRule:
    """Adaptive rate control: first round ``initial``, then dirtying rate + ``increment``, capped at ``maximum`` (bytes/s).

    Raises :class:`RejuvError` naming ``rate_control`` unless 0 < initial <= maximum and increment >= 0.
    """

    initial: float = 100 * MBIT
    increment: float = 50 * MBIT
    maximum: float = 500 * MBIT

    def __post_init__(self) -> None:
        values = (self.initial, self.increment, self.maximum)
        if not all(math.isfinite(value) for value in values):
            raise RejuvError("rate_control", f"rates must be finite, got {values}")
        if not 0 < self.initial <= self.maximum or self.increment < 0:
            why = "needs 0 < initial <= maximum and increment >= 0"
            rates = ", ".join(f"{rate / MBIT:g}" for rate in values)
            raise RejuvError("rate_control", f"{why}, got {rates} Mbit/s")

    def next_rate(self, dirtying_rate: float) -> float:
        """The next round's rate (bytes/s) after a round whose guest dirtied ``dirtying_rate`` bytes/s."""
        return min(max(dirtying_rate + self.increment, self.initial), self.maximum)


def stop_reason(
    rule: RateRule | None, rate: float, remaining: float, rounds: int, sent: float, ram: float
) -> str | None:
    """Why the next round is the stop-and-copy one, or None to go on pre-copying.

    ``rule`` None is the unlimited policy, whose stop is the downtime limit
    (the caller passes ``remaining`` only once it exceeds it). ``rate``: the
    rule's rate for the next round (bytes/s); ``remaining``: bytes dirty now;
    ``rounds``: pre-copy rounds done; ``sent``: bytes sent so far; ``ram``: the guest's RAM (bytes).
    """
    if remaining < FINAL_REMAINING:
        return f"less than {FINAL_REMAINING // 1024} KiB left"
    if rule is not None and rate >= rule.maximum:
        return "the rate reached the maximum"
    if rounds >= MAX_ROUNDS:
        return f"{MAX_ROUNDS} rounds"
    if sent > MAX_SENT_FACTOR * ram:
        return f"{MAX_SENT_FACTOR:g} times the RAM sent"
    return None


@dataclass(frozen=True)
class PreCopyPrediction:
    """A predicted migration: each round's bytes, rate (bytes/s) and time (s); the last round is the stop-and-copy."""

    round_bytes: tuple[float, ...]
    round_rates: tuple[float, ...]
    round_times: tuple[float, ...]

    @property
    def total_time(self) -> float:
        """s, from the first byte to the guest running at the destination (resume overhead not included)."""
        return sum(self.round_times)

    @property
    def downtime(self) -> float:
        """s: the stop-and-copy round."""
        return self.round_times[-1]

    @property
    def rounds(self) -> int:
        """Every round, the stop-and-copy one included."""
        return len(self.round_times)


def _check(ram: float, dirtying_rate: float, bandwidth: float) -> None:
    for name, value, least in (("ram", ram, 0.0), ("dirtying_rate", dirtying_rate, 0.0)):
        if not (math.isfinite(value) and value >= least):
            raise RejuvError(name, f"must be a finite number >= 0, got {value:g}")
    if not (math.isfinite(bandwidth) and bandwidth > 0):
        raise RejuvError("bandwidth", f"must be a finite number > 0 bytes/s, got {bandwidth:g}")


def predict_precopy(
    ram: float,
    dirtying_rate: float,
    bandwidth: float,
    rule: RateRule | None = None,
    max_downtime: float = 0.3,
    working_set: float | None = None,
) -> PreCopyPrediction:
    """Predict a pre-copy migration of ``ram`` bytes whose guest dirties ``dirtying_rate`` bytes/s.

    ``bandwidth`` (bytes/s) is what the link carries: every round's rate with
    ``rule`` None (QEMU's unlimited live migration, stopping once the rest fits
    in ``max_downtime`` s), else each round's rate is ``rule``'s, capped by the
    link. ``working_set`` (bytes) bounds what one round can dirty. Raises
    :class:`RejuvError` naming a negative or non-finite input.
    """
    _check(ram, dirtying_rate, bandwidth)
    bound = math.inf if working_set is None else working_set
    volumes, rates = [float(ram)], [min(rule.initial, bandwidth) if rule is not None else float(bandwidth)]
    sent = float(ram)
    while True:
        dirtied = min(dirtying_rate * volumes[-1] / rates[-1], bound, ram)
        if rule is None:
            rate = float(bandwidth)
            reason = "fits" if dirtied <= bandwidth * max_downtime else None
            reason = reason or stop_reason(None, rate, dirtied, len(volumes), sent, ram)
        else:
            wanted = rule.next_rate(dirtying_rate)
            reason = stop_reason(rule, wanted, dirtied, len(volumes), sent, ram)
            rate = min(rule.maximum if reason else wanted, bandwidth)
        volumes.append(dirtied)
        rates.append(rate)
        sent += dirtied
        if reason is not None:
            break
    times = tuple(volume / rate for volume, rate in zip(volumes, rates, strict=True))
    return PreCopyPrediction(tuple(volumes), tuple(rates), times)


def predict_stop_and_copy(ram: float, bandwidth: float) -> PreCopyPrediction:
    """Stop-and-copy: one round of ``ram`` bytes at ``bandwidth`` bytes/s, all of it downtime."""
    _check(ram, 0.0, bandwidth)
    return PreCopyPrediction((float(ram),), (float(bandwidth),), (ram / bandwidth,))
