"""The one table that maps the paper's symbols to rejuv's parameter names.

Code, parameter files, error messages and reports all take names from here,
so ``D_w`` in the paper, ``warm_reboot_downtime`` in code and ``D_w`` on the
command line are the same thing. Symbols follow K. Kourai, "Comparison of
cluster performance under VMM software rejuvenation" (Section 3 and 4).

:data:`SYMBOLS` holds the paper's. A strategy beyond the paper brings its own
rows (:attr:`rejuv.model.Strategy.symbols`), added with :func:`register_symbols`
when the strategy is registered; :func:`lookup` and :func:`all_symbols` see
them from then on.
"""

from __future__ import annotations

import difflib
import enum
from dataclasses import dataclass

from rejuv.errors import UnknownParameterError

__all__ = [
    "SYMBOLS",
    "Kind",
    "Symbol",
    "all_symbols",
    "describe",
    "is_registered",
    "lookup",
    "register_symbols",
    "unregister_symbols",
]


class Kind(enum.Enum):
    """What sort of quantity a parameter is, which fixes its unit and parsing."""

    DURATION = "s"
    RATE = "1"
    COUNT = "VMs"
    THROUGHPUT = "req/s"


@dataclass(frozen=True)
class Symbol:
    """One row of the symbol table."""

    symbol: str  #: ASCII name accepted on the command line and in files (``D_w``)
    name: str  #: descriptive field name of :class:`~rejuv.model.Parameters`
    kind: Kind
    paper: str  #: the symbol as the paper writes it (``D_w(n)``, ``ω'``)
    meaning: str
    optional: bool = False  #: may be left unset (derived from other data)
    per_vm: bool = False  #: proportional to n (the paper's D_w(n), D_c(n)): changing n alone scales it

    @property
    def unit(self) -> str:
        return self.kind.value


SYMBOLS: tuple[Symbol, ...] = (
    Symbol("n", "vms_per_host", Kind.COUNT, "n", "VMs on each host"),
    Symbol("p", "host_throughput", Kind.THROUGHPUT, "p", "throughput of one host: sum over its VMs"),
    Symbol("T_vmm", "vmm_interval", Kind.DURATION, "T_vmm", "time between VMM rejuvenations"),
    Symbol("T_os", "os_interval", Kind.DURATION, "T_os", "time between OS rejuvenations of a VM"),
    Symbol("D_w", "warm_reboot_downtime", Kind.DURATION, "D_w(n)", "downtime of a Warm-VM Reboot", per_vm=True),
    Symbol("omega", "warm_reboot_degradation", Kind.RATE, "ω", "throughput lost while VMs resume after a warm reboot"),
    Symbol("R_vmm", "warm_reboot_degraded_period", Kind.DURATION, "R_vmm", "degraded period after a warm reboot"),
    Symbol("D_c", "cold_reboot_downtime", Kind.DURATION, "D_c(n)", "downtime of a Cold-VM Reboot", per_vm=True),
    Symbol("omega_c", "cold_reboot_degradation", Kind.RATE, "ω'", "throughput lost to cold caches after a cold reboot"),
    Symbol("R_vmm_c", "cold_reboot_degraded_period", Kind.DURATION, "R'_vmm", "degraded period after a cold reboot"),
    Symbol("D_os", "os_downtime", Kind.DURATION, "D_os", "downtime of one OS rejuvenation"),
    Symbol("delta", "os_degradation", Kind.RATE, "δ", "throughput lost around an OS rejuvenation"),
    Symbol("R_os", "os_degraded_period", Kind.DURATION, "R_os", "degraded period around an OS rejuvenation"),
    Symbol(
        "D_m", "migration_downtime", Kind.DURATION, "D_m", "stop-and-copy migration: mean downtime per VM (M_t / n)"
    ),
    Symbol("M_l", "live_migration_time", Kind.DURATION, "M_l", "live migration: time to move all n VMs"),
    Symbol(
        "M_l_rc",
        "live_migration_time_rate_control",
        Kind.DURATION,
        "M_l (rate control)",
        "live migration with rate control: time to move all n VMs",
    ),
    Symbol(
        "gamma",
        "migration_degradation",
        Kind.RATE,
        "γ",
        "stop-and-copy degradation; unset: computed from the Table 1 functions",
        optional=True,
    ),
    Symbol(
        "gamma_l",
        "live_migration_degradation",
        Kind.RATE,
        "γ'",
        "live migration degradation; unset: computed from the Table 1 functions",
        optional=True,
    ),
    Symbol(
        "gamma_l_rc",
        "live_migration_degradation_rate_control",
        Kind.RATE,
        "γ' (rate control)",
        "live migration with rate control degradation; unset: computed from Table 1",
        optional=True,
    ),
)

_BY_KEY: dict[str, Symbol] = {s.symbol: s for s in SYMBOLS} | {s.name: s for s in SYMBOLS}
# The paper's primes, as people tend to type them.
_BY_KEY |= {"omega'": _BY_KEY["omega_c"], "R'_vmm": _BY_KEY["R_vmm_c"], "gamma'": _BY_KEY["gamma_l"]}
_REGISTERED: dict[str, Symbol] = {}  # symbols that registered strategies brought, by descriptive name


def register_symbols(symbols: tuple[Symbol, ...]) -> None:
    """Add a strategy's own rows to the table.

    Raises :class:`UnknownParameterError` naming a symbol or name that is already taken.
    """
    for entry in symbols:
        for key in (entry.symbol, entry.name):
            if key in _BY_KEY:
                raise UnknownParameterError(key, "already in the symbol table; a strategy's symbols must be new")
    for entry in symbols:
        _BY_KEY[entry.symbol] = _BY_KEY[entry.name] = _REGISTERED[entry.name] = entry


def unregister_symbols(symbols: tuple[Symbol, ...]) -> None:
    """Remove rows that :func:`register_symbols` added (the paper's stay)."""
    for entry in symbols:
        if _REGISTERED.pop(entry.name, None) is not None:
            del _BY_KEY[entry.symbol], _BY_KEY[entry.name]


def all_symbols() -> tuple[Symbol, ...]:
    """The paper's symbols, then those of registered strategies, in the order they came."""
    return SYMBOLS + tuple(_REGISTERED.values())


def is_registered(name: str) -> bool:
    """Whether ``name`` (descriptive) is a registered strategy's own parameter, not the paper's."""
    return name in _REGISTERED


def lookup(key: str) -> Symbol:
    """Find a parameter by paper symbol or descriptive name.

    Raises :class:`UnknownParameterError` naming the key and the nearest valid name.
    """
    try:
        return _BY_KEY[key]
    except KeyError:
        pass
    nearest = difflib.get_close_matches(key, list(_BY_KEY), n=1, cutoff=0.5)
    hint = f"did you mean {nearest[0]!r}?" if nearest else "see `rejuv params` for the list"
    raise UnknownParameterError(key, f"unknown parameter; {hint}")


def describe(name: str) -> str:
    """``"warm_reboot_downtime (D_w)"``: how error messages name a field."""
    entry = lookup(name)
    return f"{entry.name} ({entry.symbol})"
