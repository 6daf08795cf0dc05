"""Adaptive rate control of a live migration over QMP, and the rounds of any pre-copy migration.

QEMU sends RAM in rounds: each starts with a sync of the dirty bitmap
(``query-migrate``'s ``ram.dirty-sync-count`` goes up) and sends the pages
dirty at that sync. A :class:`RoundWatcher` follows them from the
``query-migrate`` answers that :meth:`~rejuv.lab.vm.VM.migrate` polls: when
a round ends, what the guest dirtied during it is what is dirty at the new
sync: ``ram.remaining`` now, plus what QEMU sent since the previous answer
beyond that answer's ``remaining`` (it finished the old round, synced, then
sent new pages), and its dirtying rate is that over the round's time. QEMU's own ``dirty-pages-rate`` is not used: it is refreshed
only over periods of a second or more, longer than a late round.

With a :class:`~rejuv.model.precopy.RateRule` the watcher is the controller
(Xen's, after Clark et al.): the migration starts with QEMU's downtime limit
at 1 ms, so that QEMU does not end pre-copy by itself (unless almost
nothing is left: bandwidth x 1 ms, under the 256 KiB of the rule), and ``max-bandwidth`` at
the rule's initial rate; at each new round it sets the next rate
(:meth:`~rejuv.model.precopy.RateRule.next_rate`), until
:func:`~rejuv.model.precopy.stop_reason` says the next round is the last:
then it lifts the downtime limit (:data:`FINAL_DOWNTIME_LIMIT`) and sets the
maximum rate, and QEMU stops the guest and sends the rest (QEMU sends the
stop-and-copy round without its own rate limit: the link bounds it).

QEMU may end pre-copy itself at a sync (with unlimited migration, always;
under rate control when less than bandwidth x 1 ms is dirty, which the
rule would have ended too): the completed migration then gets its last round
recorded at the time the watcher saw it complete, with that reason.

Everything runs inside the migration's polling loop, so a cancelled or failed
migration (the destination killed, the link cut, SIGTERM) ends the controller
with it: nothing is left running.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from rejuv.errors import RejuvError
from rejuv.lab.cluster import parse_link_rate
from rejuv.lab.errors import LabError
from rejuv.lab.vm import DEFAULT_DOWNTIME_LIMIT
from rejuv.model.precopy import MBIT, RateRule, stop_reason

__all__ = ["Round", "RoundWatcher", "parse_rate_control", "DEFAULT_RATE_CONTROL", "FINAL_DOWNTIME_LIMIT"]

DEFAULT_RATE_CONTROL = "100mbit,50mbit,500mbit"  #: initial, increment, maximum: the paper's (Xen's)
FINAL_DOWNTIME_LIMIT = 600_000  #: ms: large enough that QEMU switches over at its next check
_QEMU_SWITCHED = "QEMU switched over itself: the rest fitted in its downtime limit"
RATE_CONTROL_DOWNTIME_LIMIT = 1  #: ms during controlled pre-copy: QEMU switches over only with almost nothing left


def parse_rate_control(text: str) -> RateRule:
    """``INITIAL,INCREMENT,MAXIMUM`` in tc's units (``100mbit,50mbit,500mbit``) as a rule; LabError("rate_control")."""
    parts = text.split(",")
    if len(parts) != 3:
        raise LabError("rate_control", f"must be three rates INITIAL,INCREMENT,MAXIMUM like {DEFAULT_RATE_CONTROL}")
    try:
        initial, increment, maximum = (parse_link_rate(part) / 8 for part in parts)  # bytes/s
        return RateRule(initial, increment, maximum)
    except RejuvError as err:
        raise LabError("rate_control", f"{err.why} (in {text!r})") from None


@dataclass(frozen=True)
class Round:
    """One pre-copy round as observed: its number (from 1), when it began (monotonic s) and its rates.

    ``rate``: the ``max-bandwidth`` set for it (bytes/s; None: unlimited);
    ``dirtying_rate``: what the guest dirtied during the previous round (bytes/s; None for round 1);
    ``final``: the stop-and-copy round, begun for ``reason``.
    """

    number: int
    began: float
    rate: float | None
    dirtying_rate: float | None
    final: bool = False
    reason: str = ""
    sent: int = 0  #: bytes QEMU had sent when the round began (``ram.transferred``)

    def describe(self) -> str:
        """``round 2: 150 Mbit/s; dirtying 100 Mbit/s`` (the marker's note)."""
        rate = "unlimited" if self.rate is None else f"{self.rate / MBIT:.1f} Mbit/s"
        text = f"round {self.number}{' (stop-and-copy)' if self.final else ''}: {rate}"
        if self.dirtying_rate is not None:
            text += f"; dirtying {self.dirtying_rate / MBIT:.1f} Mbit/s"
        return text + (f"; {self.reason}" if self.reason else "")

    def record(self) -> dict[str, object]:
        """The round for the run's metadata, rates in Mbit/s."""
        fields = asdict(self)
        fields["rate_mbit"] = None if self.rate is None else self.rate / MBIT
        fields["dirtying_mbit"] = None if self.dirtying_rate is None else self.dirtying_rate / MBIT
        del fields["rate"], fields["dirtying_rate"]
        return fields


SetParameters = Callable[[dict[str, object]], Awaitable[None]]


class RoundWatcher:
    """Follows one outgoing migration's rounds; with ``rule``, sets each round's rate (the controller).

    ``ram``: the guest's RAM (bytes); ``set_parameters``: QMP
    ``migrate-set-parameters`` on the source; ``on_round``: called with each
    new :class:`Round`; ``clock``: monotonic seconds (tests); ``unlimited_downtime_limit``: QEMU's downtime
    limit (ms) for a move without ``rule``. Pass :meth:`observe` to :meth:`~rejuv.lab.vm.VM.migrate`
    with :attr:`max_bandwidth` and :attr:`downtime_limit`.
    """

    def __init__(
        self,
        ram: int,
        rule: RateRule | None,
        set_parameters: SetParameters,
        on_round: Callable[[Round], None],
        clock: Callable[[], float] = time.monotonic,
        unlimited_downtime_limit: int = DEFAULT_DOWNTIME_LIMIT,
    ) -> None:
        self.ram, self.rule = ram, rule
        self._unlimited_downtime_limit = unlimited_downtime_limit
        self._set, self._on_round, self._clock = set_parameters, on_round, clock
        self.rounds: list[Round] = []
        self.final_figures: dict[str, object] = {}  #: QEMU's last answer (the completed migration's figures)
        self._syncs = 0
        self._sent = 0
        self._remaining = 0
        self._began = clock()

    @property
    def max_bandwidth(self) -> int:
        """bytes/s to start with: the rule's initial rate, or no limit (the link is)."""
        return int(self.rule.initial) if self.rule is not None else 10**12

    @property
    def downtime_limit(self) -> int:
        """ms: 1 under rate control (the controller decides the stop-and-copy), else the one given (QEMU's default).

        Not 0: QEMU ends pre-copy when its estimate of what is left is at most
        bandwidth x limit, and the estimate is 0 at the end of every round until
        it syncs, which it does only when the estimate is below that product.
        """
        return RATE_CONTROL_DOWNTIME_LIMIT if self.rule is not None else self._unlimited_downtime_limit

    def _start(self, round_: Round) -> None:
        self.rounds.append(round_)
        self._on_round(round_)

    async def observe(self, info: dict[str, object]) -> None:
        """Take one ``query-migrate`` answer: note a new round, and under rate control set its rate."""
        ram = info.get("ram")
        if info.get("status") == "completed":
            self.final_figures = info
            if self.rounds and not self.rounds[-1].final:  # QEMU switched over at a sync the watcher never saw
                rate = self.rule.maximum if self.rule is not None else None
                self._start(Round(len(self.rounds) + 1, self._clock(), rate, None, True, _QEMU_SWITCHED, self._sent))
        if info.get("status") != "active" or not isinstance(ram, dict):
            return
        syncs, remaining, sent = (int(ram.get(key, 0)) for key in ("dirty-sync-count", "remaining", "transferred"))
        now = self._clock()
        if not self.rounds:
            self._start(Round(1, self._began, self.rule.initial if self.rule is not None else None, None))
        elif syncs > self._syncs and not self.rounds[-1].final:
            # Since the previous answer QEMU sent the old round's rest, synced, then sent some new pages.
            dirtied = remaining + max(0, sent - self._sent - self._remaining)
            dirtying = dirtied / max(now - self.rounds[-1].began, 1e-3)
            await self._next_round(now, dirtying, remaining, sent)
        self._syncs, self._sent, self._remaining = max(self._syncs, syncs), sent, remaining

    async def _next_round(self, now: float, dirtying: float, remaining: int, sent: int) -> None:
        number = len(self.rounds) + 1
        if self.rule is None:
            self._start(Round(number, now, None, dirtying, sent=sent))
            return
        wanted = self.rule.next_rate(dirtying)
        reason = stop_reason(self.rule, wanted, remaining, len(self.rounds), sent, self.ram)
        if reason is None:
            await self._set({"max-bandwidth": int(wanted)})
            self._start(Round(number, now, wanted, dirtying, sent=sent))
            return
        await self._set({"max-bandwidth": int(self.rule.maximum), "downtime-limit": FINAL_DOWNTIME_LIMIT})
        self._start(Round(number, now, self.rule.maximum, dirtying, final=True, reason=reason, sent=sent))
