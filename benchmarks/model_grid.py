"""Benchmark of the vectorised model: points per second, against a plain-Python loop, and on 10^8 points.

Run from the repository root::

    .venv/bin/python benchmarks/model_grid.py            # both sections, with the defaults below
    .venv/bin/python benchmarks/model_grid.py compare --points 1e5 --scalar-repeats 1
    .venv/bin/python benchmarks/model_grid.py chunked --big-points 1e7

Section ``compare`` computes the normalized throughput P / (m p) of all five
strategies on a grid of 10^6 parameter points, with the vectorised model
(``normalized_throughputs(params, hosts)``) and with the plain-Python
reference of ``scalar_model.py``, on the same points; it also times the
vectorised model's general path, five ``STRATEGIES[key].evaluate(params,
hosts)`` (every quantity, not only P / (m p)), on the flat grid. The
vectorised model gets the grid in two forms: flat (``iter_grid``: one 1-D array of 10^6 values
per parameter, so every point is computed on its own) and broadcast (one axis
per parameter, so a strategy computes only over the axes it depends on). Runs
are interleaved; it prints medians, spread, points/s and the ratios, and exits
1 unless all agree to a relative 1e-9.

Section ``chunked`` walks a grid of 10^8 points with ``iter_grid`` in chunks
(the grid checked once, before the first), keeps only how many points each
strategy wins (``best_strategy``), and reports
points/s, the tracemalloc peak, the peak RSS before and after, and what the
unchunked arrays would have needed. When both sections run, ``compare`` runs in
a child process and ``chunked`` in this one, so that the peak RSS that
``getrusage`` reports here is the chunked run's own (ru_maxrss survives exec, so
a child would start from its parent's peak, not the other way round).
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rejuv.model import (
    NUMERIC_FIELDS,
    STRATEGIES,
    Parameters,
    best_strategy,
    iter_grid,
    load_preset,
    normalized_throughputs,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import Timing, count, peak_rss, print_metadata, rate, size_text, warn_unstable
from scalar_model import KEYS, Point, ScalarModel

DAY = 86400.0
AGREEMENT_LIMIT = 1e-9
TARGET_SPEEDUP = 100.0  # the target: the vectorised model at least 100x the scalar loop
HOSTS = 20_000  # above the paper's ~11,000-host crossovers, so spare-host strategies win somewhere


# -- the grid ------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One grid axis: evenly spaced values of ``symbol`` from ``low`` to ``high`` (base units)."""

    symbol: str
    low: float
    high: float
    unit: str = "s"
    scale: float = 1.0  # shown as value / scale, in ``unit``
    whole: bool = False  # a count: values rounded to whole numbers (repeats allowed)

    def values(self, size: int) -> np.ndarray:
        values = np.linspace(self.low, self.high, size)
        return np.round(values) if self.whole else values

    def __str__(self) -> str:
        return f"{self.symbol} {self.low / self.scale:g}..{self.high / self.scale:g} {self.unit}"


# Every combination is valid: downtimes stay below their intervals and VMM and OS rejuvenations never overlap.
COMPARE_AXES = (
    Axis("D_w", 10.0, 600.0),
    Axis("D_c", 60.0, 1200.0),
    Axis("T_vmm", 7 * DAY, 70 * DAY, "d", DAY),
    Axis("T_os", 1 * DAY, 10 * DAY, "d", DAY),
    Axis("D_os", 10.0, 100.0),
    Axis("R_os", 100.0, 1000.0),
)
CHUNKED_AXES = (*COMPARE_AXES, Axis("n", 2.0, 11.0, "VMs", whole=True), Axis("M_l", 60.0, 1800.0))


def axis_sizes(points: int, axes: int) -> list[int]:
    """Sizes of ``axes`` axes whose product is exactly ``points``, as even as its prime factors allow."""
    factors, rest, factor = [], points, 2
    while factor * factor <= rest:
        while rest % factor == 0:
            factors.append(factor)
            rest //= factor
        factor += 1
    if rest > 1:
        factors.append(rest)
    sizes = [1] * axes
    for factor in sorted(factors, reverse=True):
        smallest = sizes.index(min(sizes))
        sizes[smallest] *= factor
    return sizes


@dataclass(frozen=True)
class Grid:
    """The Cartesian product of some axes over the kourai2008 preset, in C order."""

    axes: dict[str, np.ndarray]
    text: str

    @classmethod
    def build(cls, axes: Sequence[Axis], points: int) -> Grid:
        sizes = axis_sizes(points, len(axes))
        values = {axis.symbol: axis.values(size) for axis, size in zip(axes, sizes, strict=True)}
        shown = ", ".join(f"{axis} ({size})" for axis, size in zip(axes, sizes, strict=True))
        return cls(values, f"{points:,} points, evenly spaced values: {shown}")

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.axes.values())

    def flat(self, base: Parameters) -> Parameters:
        """The whole grid as one 1-D parameter set (one chunk of ``iter_grid``)."""
        return next(iter_grid(base, self.axes, chunk_points=math.prod(self.shape)))[1]

    def broadcast(self, base: Parameters) -> Parameters:
        """The grid as a parameter set of shape ``self.shape``: one numpy axis per grid axis."""
        last = len(self.axes) - 1
        return base.replace(
            **{name: v.reshape((1,) * k + (-1,) + (1,) * (last - k)) for k, (name, v) in enumerate(self.axes.items())}
        )


def scalar_points(params: Parameters) -> list[Point]:
    """The points of a 1-D parameter set as :class:`Point` objects, sharing one float object per distinct value."""
    assert tuple(Point.__dataclass_fields__) == NUMERIC_FIELDS
    size = params.shape[0]
    columns: list[list[float | int | None]] = []
    for name in NUMERIC_FIELDS:
        value = getattr(params, name)
        if value is None:
            columns.append([None] * size)
            continue
        distinct, where = np.unique(np.broadcast_to(value, (size,)), return_inverse=True)
        objects = [int(v) for v in distinct] if name == "vms_per_host" else distinct.tolist()
        columns.append([objects[k] for k in where.tolist()])
    return [Point(*row) for row in zip(*columns, strict=True)]


# -- measuring and printing ------------------------------------------------------------


def print_timings(samples: Sequence[Timing]) -> None:
    """One line per sample: runs, median, min, max, std/mean and points/s of the median."""
    width = max(len(s.label) for s in samples)
    print(
        f"  {'':<{width}} {'points':>9} {'runs':>4} {'median':>9} {'min':>9} {'max':>9} {'std/mean':>8} {'points/s':>9}"
    )
    for s in samples:
        print(
            f"  {s.label:<{width}} {s.points:>9,} {len(s.times):>4} {s.median:>8.4f}s {min(s.times):>8.4f}s "
            f"{max(s.times):>8.4f}s {s.relative_stdev:>8.1%} {rate(s.points, s.median):>9}"
        )
    warn_unstable(samples)


def relative_difference(got: np.ndarray, expected: np.ndarray) -> float:
    """max |got - expected| / |expected| (0 where both are 0)."""
    scale = np.maximum(np.abs(expected), np.finfo(np.float64).tiny)
    return float((np.abs(got - expected) / scale).max())


# -- section 1: vectorised against the scalar loop -----------------------------------


def vectorised(params: Parameters, hosts: float) -> list[np.ndarray]:
    """P / (m p) of the five strategies by the vectorised model: what is timed."""
    return list(normalized_throughputs(params, hosts).values())


def evaluations(params: Parameters, hosts: float) -> list[np.ndarray]:
    """The same through the general path: a full :class:`Evaluation` per strategy."""
    return [item.evaluate(params, hosts).normalized_throughput for item in STRATEGIES.values()]


def as_rows(values: object, shape: tuple[int, ...]) -> np.ndarray:
    """Results as one row per point (C order of ``shape``) and one column per strategy, for comparing.

    ``values`` is the vectorised model's list of five arrays (broadcastable to ``shape``)
    or the scalar loop's list of five-tuples.
    """
    if isinstance(values, list) and values and isinstance(values[0], np.ndarray):
        return np.stack([np.broadcast_to(v, shape).reshape(-1) for v in values], axis=-1)
    return np.asarray(values, dtype=np.float64)


def compare(args: argparse.Namespace) -> int:
    """Section 1; returns 1 if the vectorised model and the scalar reference disagree."""
    base, hosts = load_preset(), float(args.hosts)
    grid = Grid.build(COMPARE_AXES, args.points)
    print(
        f"\n== 1. Vectorised model vs plain-Python scalar loop: the same {args.points:,} points, m = {args.hosts:,} =="
    )
    print(f"  grid: {grid.text}")
    print("  other parameters: kourai2008 preset; γ, γ', γ'_rc computed from Table 1")
    print(f"  each computes P / (m p) of all five strategies ({', '.join(KEYS)}) at every point;")
    print("  runs interleaved, warm-up untimed, grids and scalar points built outside the timings")

    flat, wide = grid.flat(base), grid.broadcast(base)
    points = scalar_points(flat)
    uncached_points = points[: args.uncached_points]
    vectorised(flat, hosts), vectorised(wide, hosts), evaluations(flat, hosts)  # warm-up
    ScalarModel.from_parameters(flat).evaluate_many(points[:1000], hosts)

    build_flat = Timing("build flat grid (iter_grid + checks)", args.points)
    build_wide = Timing("build broadcast grid (checks)", args.points)
    flat_run = Timing("vectorised, flat grid (1-D arrays)", args.points)
    wide_run = Timing(f"vectorised, broadcast grid ({len(grid.shape)}-D)", args.points)
    general_run = Timing("vectorised, flat grid, 5x evaluate()", args.points)
    scalar_run = Timing("scalar loop, γ memoised per (n, p)", args.points)
    uncached_run = Timing("scalar loop, γ summed at every point", len(uncached_points))
    results: dict[str, Any] = {}
    for run in range(max(args.repeats, args.scalar_repeats)):
        if run < args.repeats:
            build_flat.run(lambda: grid.flat(base))
            build_wide.run(lambda: grid.broadcast(base))
            results["flat"] = flat_run.run(lambda: vectorised(flat, hosts))
            results["wide"] = wide_run.run(lambda: vectorised(wide, hosts))
            results["general"] = general_run.run(lambda: evaluations(flat, hosts))
        if run < args.scalar_repeats:  # a fresh γ memo every run
            results["scalar"] = scalar_run.run(lambda: ScalarModel.from_parameters(flat).evaluate_many(points, hosts))
    results["uncached"] = uncached_run.run(
        lambda: ScalarModel.from_parameters(flat, memoise=False).evaluate_many(uncached_points, hosts)
    )
    print()
    print_timings([flat_run, wide_run, general_run, scalar_run, uncached_run, build_flat, build_wide])

    print(
        f"\n  speed-up: scalar time per point / vectorised time per point (medians; [extremes]; target {TARGET_SPEEDUP:g}x)"
    )
    pairs = ((flat_run, scalar_run), (wide_run, scalar_run), (flat_run, uncached_run), (general_run, scalar_run))
    for vector, scalar in pairs:
        ratio = (scalar.median / scalar.points) / (vector.median / vector.points)
        low = (min(scalar.times) / scalar.points) / (max(vector.times) / vector.points)
        high = (max(scalar.times) / scalar.points) / (min(vector.times) / vector.points)
        spread = f"[{low:,.0f}x .. {high:,.0f}x]"
        verdict = "met" if ratio >= TARGET_SPEEDUP else "NOT met"
        print(f"    {vector.label:<36} vs {scalar.label:<36} {ratio:>7,.0f}x  {spread:<20} {verdict}")
    computed = sum(int(np.size(v)) for v in results["wide"])
    print(
        f"  (broadcast grid: each strategy computes only over the axes it depends on, so its five results hold\n"
        f"   {computed:,} values for the {len(KEYS) * args.points:,} (point, strategy) pairs, read as broadcast views;\n"
        f"   the flat grid computes every pair, as for arbitrary points)"
    )

    expected = as_rows(results["scalar"], flat.shape)
    status = 0
    print(f"\n  agreement with the scalar reference (max relative difference, limit {AGREEMENT_LIMIT:g}):")
    compared = (
        ("flat", "flat grid"),
        ("wide", "broadcast grid"),
        ("general", "flat, 5x evaluate()"),
        ("uncached", "γ-every-point loop"),
    )
    for name, label in compared:
        got = as_rows(results[name], wide.shape if name == "wide" else flat.shape)
        worst = relative_difference(got, expected[: len(got)])
        verdict = "OK" if worst < AGREEMENT_LIMIT else "FAILED"
        print(f"    {label:<20} {worst:.2e} over {got.size:>9,} values  {verdict}")
        status |= worst >= AGREEMENT_LIMIT
    return int(status)


# -- section 2: 10^8 points in chunks --------------------------------------------------


def chunked(args: argparse.Namespace) -> int:
    """Section 2; returns 1 if the win counts do not add up to the number of points."""
    base, hosts = load_preset(), float(args.hosts)
    grid = Grid.build(CHUNKED_AXES, args.big_points)
    total, chunk = args.big_points, args.chunk
    print(
        f"\n== 2. Chunked: {total:,} points in chunks of {chunk:,} ({math.ceil(total / chunk):,} chunks), "
        f"m = {args.hosts:,} =="
    )
    print(f"  grid: {grid.text}")
    print("  iter_grid checks the whole grid once (in the first chunk's time), then builds a 1-D parameter set")
    print("  per chunk; best_strategy computes P / (m p) of all five strategies (normalized_throughputs) and")
    print("  picks the winner; np.bincount adds up the wins. Nothing else is kept.")
    print("  (timed with tracemalloc on; it traces numpy's buffers, a few large allocations per chunk)")
    rss_before = peak_rss()
    tracemalloc.start()
    wins = np.zeros(len(KEYS), dtype=np.int64)
    build_times: list[float] = []
    best_times: list[float] = []
    progress = sys.stderr.isatty()
    start = before = time.perf_counter()
    for positions, params in iter_grid(base, grid.axes, chunk_points=chunk):
        built = time.perf_counter()
        wins += np.bincount(best_strategy(params, hosts), minlength=len(KEYS))
        done = time.perf_counter()
        build_times.append(built - before)
        best_times.append(done - built)
        if progress and len(best_times) % 20 == 0:
            print(f"\r  {positions.stop / total:.0%}", end="", file=sys.stderr, flush=True)
        before = time.perf_counter()
    elapsed = time.perf_counter() - start
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_after = peak_rss()
    if progress:
        print("\r     \r", end="", file=sys.stderr)

    full = len(build_times) - (total % chunk != 0)  # per-chunk figures over full chunks only
    print(f"\n  {'':<30} {'total':>9} {'per chunk: median':>18} {'min':>8} {'max':>8} {'points/s':>9}")
    both = [b + e for b, e in zip(build_times, best_times, strict=True)]
    for label, times in (("iter_grid: check once, build", build_times), ("best_strategy + bincount", best_times)):
        per = times[:full] or times
        print(
            f"  {label:<30} {sum(times):>8.2f}s {statistics.median(per):>17.4f}s {min(per):>7.4f}s "
            f"{max(per):>7.4f}s {rate(total, sum(times)):>9}"
        )
    per = both[:full] or both
    print(
        f"  {'all (wall clock)':<30} {elapsed:>8.2f}s {statistics.median(per):>17.4f}s {min(per):>7.4f}s "
        f"{max(per):>7.4f}s {rate(total, elapsed):>9}"
    )

    print("\n  points won (highest P / (m p); ties go to the earlier strategy):")
    for key, won in zip(KEYS, wins.tolist(), strict=True):
        print(f"    {key:<18} {won:>13,}  {won / total:>7.2%}")
    print(f"    {'total':<18} {int(wins.sum()):>13,}")

    print("\n  memory:")
    lines = [
        ("tracemalloc peak during the loop (Python and numpy)", size_text(traced_peak), ""),
        ("peak RSS (getrusage ru_maxrss) before the loop", size_text(rss_before), ""),
        (
            "peak RSS (getrusage ru_maxrss) after the loop",
            size_text(rss_after),
            f"+{size_text(rss_after - rss_before)}",
        ),
        (
            f"unchunked: the {len(KEYS)} float64 result arrays",
            size_text(len(KEYS) * total * 8),
            f"{len(KEYS)} x {total:,} x 8 bytes",
        ),
        (
            f"unchunked: the {len(grid.axes)} parameter axes as float64 arrays",
            size_text(len(grid.axes) * total * 8),
            f"{len(grid.axes)} x {total:,} x 8 bytes",
        ),
    ]
    for label, value, note in lines:
        print(f"    {label:<58} {value:>10}  {note}".rstrip())
    if int(wins.sum()) != total:
        print(f"  error: the win counts add up to {int(wins.sum()):,}, not {total:,}")
        return 1
    return 0


# -- command line ------------------------------------------------------------------------


COMPARE_OPTIONS = ("points", "repeats", "scalar_repeats", "uncached_points", "hosts")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Points per second of the vectorised model, against a plain-Python loop and on 10^8 points."
    )
    parser.add_argument(
        "section",
        nargs="?",
        default="all",
        choices=("all", "compare", "chunked"),
        help="what to run (default: all, which runs 'compare' in a child process and then 'chunked')",
    )
    parser.add_argument("--points", type=count, default=10**6, help="points compared both ways (default 1e6)")
    parser.add_argument("--repeats", type=count, default=5, help="timed runs of the vectorised model (default 5)")
    parser.add_argument("--scalar-repeats", type=count, default=3, help="timed runs of the scalar loop (default 3)")
    parser.add_argument(
        "--uncached-points",
        type=count,
        default=20_000,
        help="first points timed once by the scalar loop that sums γ at every point (default 20,000)",
    )
    parser.add_argument("--big-points", type=count, default=10**8, help="points of the chunked grid (default 1e8)")
    parser.add_argument("--chunk", type=count, default=1 << 18, help="points per chunk (default 262,144)")
    parser.add_argument("--hosts", type=count, default=HOSTS, help=f"hosts m, >= 2 (default {HOSTS:,})")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # run by 'all': no metadata
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.hosts < 2:
        print("error: --hosts: must be >= 2 (the migration strategies hold one host back)", file=sys.stderr)
        return 2
    if not args.child:
        print_metadata("rejuv model benchmark (benchmarks/model_grid.py)")
    status = 0
    if args.section == "compare":
        status |= compare(args)
    elif args.section == "all":  # compare in a child, so that this process's peak RSS is the chunked run's
        sys.stdout.flush()
        forwarded = [f"--{name.replace('_', '-')}={getattr(args, name)}" for name in COMPARE_OPTIONS]
        child = subprocess.run([sys.executable, __file__, "compare", "--child", *forwarded], check=False)
        status |= 1 if child.returncode else 0
    if args.section in ("all", "chunked"):
        status |= chunked(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
