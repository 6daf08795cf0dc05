"""rejuv.model: the paper's closed-form total-throughput models.

Start with :func:`load_preset` (the paper's parameters), evaluate a strategy
from :data:`STRATEGIES` on any number of hosts, and ask :func:`crossovers`
or :func:`phase_map` what the numbers mean. Everything broadcasts over numpy
arrays: host counts and parameters alike.

This package imports only numpy, the standard library and :mod:`rejuv.errors`.
"""

from __future__ import annotations

from rejuv.model.analysis import (
    Crossover,
    best_strategy,
    crossovers,
    degradation_rates,
    evaluate_all,
    iter_grid,
    normalized_throughputs,
    overtaking_hosts,
)
from rejuv.model.comparison import CrossoverResult, StrategyComparison, StrategyResult, compare_strategies
from rejuv.model.curves import Curve, Form, Piece
from rejuv.model.migration import MigrationProfile, migration_degradation, raw_migration_degradation
from rejuv.model.parameters import NUMERIC_FIELDS, Occupancy, Parameters, ScalarParameters, check_value
from rejuv.model.phase_map import Axis, PhaseMap, phase_map
from rejuv.model.presets import (
    DEFAULT_PRESET,
    Preset,
    apply_overrides,
    available_presets,
    load_parameter_file,
    load_preset,
    parse_assignment,
    parse_value,
    read_preset,
)
from rejuv.model.strategies import (
    STRATEGIES,
    ColdReboot,
    Evaluation,
    LiveMigration,
    LiveMigrationRateControl,
    MigrationStrategy,
    OsRule,
    RebootStrategy,
    RebootTerms,
    StopAndCopyMigration,
    Strategy,
    WarmReboot,
    canonical_key,
    register,
    strategy,
    unregister,
)
from rejuv.model.symbols import SYMBOLS, Kind, Symbol, all_symbols, lookup
from rejuv.model.units import format_duration, parse_duration, parse_rate

__all__ = [
    # parameters
    "Parameters",
    "ScalarParameters",
    "check_value",
    "load_preset",
    "read_preset",
    "Preset",
    "DEFAULT_PRESET",
    "available_presets",
    "load_parameter_file",
    "apply_overrides",
    "parse_assignment",
    "parse_value",
    # strategies and their evaluation
    "STRATEGIES",
    "strategy",
    "canonical_key",
    "Strategy",
    "Evaluation",
    "WarmReboot",
    "ColdReboot",
    "StopAndCopyMigration",
    "LiveMigration",
    "LiveMigrationRateControl",
    # adding a strategy
    "register",
    "unregister",
    "RebootStrategy",
    "RebootTerms",
    "MigrationStrategy",
    "OsRule",
    "Occupancy",
    # conclusions
    "compare_strategies",
    "StrategyComparison",
    "StrategyResult",
    "CrossoverResult",
    "crossovers",
    "Crossover",
    "overtaking_hosts",
    "best_strategy",
    "evaluate_all",
    "normalized_throughputs",
    "degradation_rates",
    "phase_map",
    "PhaseMap",
    "Axis",
    "iter_grid",
    # migration throughput (Table 1)
    "MigrationProfile",
    "migration_degradation",
    "raw_migration_degradation",
    "Curve",
    "Piece",
    "Form",
    # symbols and units
    "SYMBOLS",
    "Symbol",
    "Kind",
    "lookup",
    "all_symbols",
    "NUMERIC_FIELDS",
    "parse_duration",
    "parse_rate",
    "format_duration",
]
