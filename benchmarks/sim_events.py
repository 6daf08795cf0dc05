"""Benchmark of the cluster simulator against a straightforward SimPy implementation.

Run from the repository root (SimPy is in the ``bench`` extra)::

    .venv/bin/python benchmarks/sim_events.py                      # m = 100, 1,000, 10,000; then 100,000 alone
    .venv/bin/python benchmarks/sim_events.py --hosts 100,1000 --no-large

The scenario: the paper's parameters (kourai2008), Warm-VM Reboot, hosts staggered evenly,
13 whole T_vmm of 28 days (364 days, one year), deterministic. Both sides count the same
events: each state change of a host or VM (per VMM rejuvenation: down, degraded, normal;
per OS rejuvenation: down, degraded, normal).

- rejuv: ``rejuv.sim.simulate`` (per-host rows of state changes, sorted and summed with numpy).
- SimPy: one process per host (its VMM rejuvenations) and one per VM (its OS rejuvenations),
  each computing its own schedule with the same rules in plain Python (the OS clock stops
  during the VMM's downtime; phases spread as in rejuv.sim.schedule), and a shared monitor
  that integrates min(1, host loss) between events.

It runs the two interleaved (rejuv ``--repeats`` times; SimPy ``--simpy-repeats`` times up to
1,000 hosts and once above, as it takes minutes at 10,000) and prints the medians, events per
second, the cost per event of each, their ratio, the tracemalloc peak of rejuv, and checks that
both lose the same host-seconds to 1e-9 relative with equal event counts; exits 1 if not. Then a
fresh process simulates 100,000 hosts for a year with rejuv alone (once timed, once under
tracemalloc) and reports its time, tracemalloc peak and peak RSS against the issue's 4 GB.
Last, the verdicts: the ratio against the 30x target, and whether the cost per event stays
within 1.5x from the smallest m to the largest (time linear in m), with the fitted exponent.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Generator
from functools import partial
from typing import cast

import simpy

from _harness import Timing, count, peak_of, peak_rss, print_metadata, rate, size_text, warn_unstable
from rejuv.model import Parameters, load_preset
from rejuv.sim import SimConfig, SimResult, simulate

PERIODS = 13  #: 13 T_vmm of 28 days: one year
AGREEMENT = 1e-9  #: relative difference allowed between the two lost host-seconds
TARGET = 30.0  #: the issue's event-rate ratio over SimPy
LINEAR_FACTOR = 1.5  #: cost per event at the largest m over that at the smallest, for "linear"
MEMORY_LIMIT = 4 * 2**30  #: the issue's bound for 100,000 hosts over a year, bytes


class Monitor:
    """The cluster's capped loss, integrated over time; counts state changes."""

    def __init__(self, env: simpy.Environment, hosts: int) -> None:
        self.env = env
        self.loss = [0.0] * hosts
        self.capped_total = 0.0
        self.integral = 0.0
        self.last = 0.0
        self.events = 0

    def change(self, host: int, delta: float, counted: bool = True) -> None:
        now = self.env.now
        self.integral += self.capped_total * (now - self.last)
        self.last = now
        before = min(1.0, max(0.0, self.loss[host]))
        self.loss[host] += delta
        self.capped_total += min(1.0, max(0.0, self.loss[host])) - before
        self.events += counted


def _run(
    env: simpy.Environment, monitor: Monitor, host: int, changes: list[tuple[float, float, float]], horizon: float
) -> Generator[simpy.Timeout, None, None]:
    """A host's or VM's process: wrapped phases in force at 0, then each change at its time."""
    plan = []
    for begin, end, loss in changes:
        start, stop = begin % horizon, (begin % horizon) + (end - begin)
        if stop > horizon:
            monitor.change(host, loss, counted=False)  # in force since before 0 on the circle
            plan += [(start, loss), (stop - horizon, -loss)]
        else:
            plan += [(start, loss), (stop, -loss)]
    plan.sort()
    merged: list[tuple[float, float]] = []
    for at, delta in plan:  # a phase ending where the next starts is one state change
        if merged and merged[-1][0] == at:
            merged[-1] = (at, merged[-1][1] + delta)
        else:
            merged.append((at, delta))
    for at, delta in merged:
        yield env.timeout(at - env.now)
        monitor.change(host, delta)


def simpy_loss(params: Parameters, hosts: int) -> tuple[float, int, float]:
    """Lost host-seconds, events and seconds of the SimPy implementation."""
    began = time.perf_counter()
    n = int(params.vms_per_host)
    vmm, os_interval = float(params.vmm_interval), float(params.os_interval)
    down, omega, recover = (
        float(params.warm_reboot_downtime),
        float(params.warm_reboot_degradation),
        float(params.warm_reboot_degraded_period),
    )
    os_down, delta, os_recover = (
        float(params.os_downtime),
        float(params.os_degradation),
        float(params.os_degraded_period),
    )
    horizon = PERIODS * vmm
    env = simpy.Environment()
    monitor = Monitor(env, hosts)
    for h in range(hosts):
        offset = h * (vmm / hosts)
        phases = []
        for k in range(PERIODS):
            start = offset + k * vmm
            phases += [(start, start + down, 1.0), (start + down, start + down + recover, omega)]
        env.process(_run(env, monitor, h, phases, horizon))
        for j in range(n):
            phase = math.fmod(j / n + (h + 0.5) / hosts, 1.0) * os_interval
            running = PERIODS * (vmm - down)

            def at(clock: float, offset: float = offset) -> float:
                period = math.floor(clock / (vmm - down))
                return offset + period * vmm + (clock - period * (vmm - down)) + down

            events = []
            clock = phase
            while clock < running:
                begin, end = at(clock), at(clock + os_down)
                events += [(begin, end, 1.0 / n), (end, end + os_recover, delta / n)]
                clock += os_interval
            env.process(_run(env, monitor, h, events, horizon))
    env.run(until=horizon)
    monitor.change(0, 0.0, counted=False)
    return monitor.integral, monitor.events, time.perf_counter() - began


def _rejuv_large(hosts: int) -> dict[str, float]:
    """Simulate ``hosts`` for a year twice (timed, then under tracemalloc); what a fresh process measured."""
    params = load_preset()
    config = SimConfig(strategy="warm", hosts=hosts, periods=PERIODS)
    timing = Timing(f"rejuv m={hosts:,}")
    result = timing.run(partial(simulate, params, config))
    assert isinstance(result, SimResult)
    peak = peak_of(partial(simulate, params, config))
    return {
        "events": result.events,
        "seconds": timing.median,
        "throughput": result.normalized_throughput,
        "tracemalloc": peak,
        "rss": _own_peak_rss(),
    }


def _own_peak_rss() -> int:
    """This process's peak RSS, bytes: VmHWM on Linux (ru_maxrss keeps the parent's peak across fork and exec)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return peak_rss()


def _large_in_child(hosts: int) -> dict[str, float]:
    """:func:`_rejuv_large` in a fresh interpreter, so that its peak RSS is its own (not SimPy's)."""
    child = subprocess.run(
        [sys.executable, __file__, "--large-child", str(hosts)], check=True, capture_output=True, text=True
    )
    figures: dict[str, float] = json.loads(child.stdout)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="100,1000,10000", help="host counts to compare (default: %(default)s)")
    parser.add_argument("--repeats", type=count, default=5, help="rejuv runs per host count (default: %(default)s)")
    parser.add_argument(
        "--simpy-repeats", type=count, default=3, help="SimPy runs per host count up to 1,000 (default: %(default)s)"
    )
    parser.add_argument("--large", type=count, default=100_000, help="host count of the rejuv-only run (%(default)s)")
    parser.add_argument("--no-large", action="store_true", help="skip the rejuv-only run")
    parser.add_argument("--large-child", type=count, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.large_child:
        print(json.dumps(_rejuv_large(args.large_child)))
        return 0
    params = load_preset()
    print_metadata("cluster simulator: rejuv.sim against SimPy, Warm-VM Reboot, one year", ("numpy", "simpy"))
    print(
        f"  runs: rejuv {args.repeats} per m, SimPy {args.simpy_repeats} per m <= 1,000 and 1 above, interleaved;"
        " medians of wall-clock time around the whole simulation\n"
    )
    print(
        f"  {'m':>8}  {'events':>12}  {'rejuv s':>8}  {'rejuv ev/s':>11}  {'ns/ev':>6}  {'SimPy s':>8}"
        f"  {'SimPy ev/s':>11}  {'ns/ev':>6}  {'ratio':>6}  {'rejuv peak':>10}  {'rel. diff':>9}"
    )
    ok = True
    ratios: list[float] = []
    costs: dict[int, float] = {}
    timings: list[Timing] = []
    for hosts in (int(float(text)) for text in args.hosts.split(",")):
        config = SimConfig(strategy="warm", hosts=hosts, periods=PERIODS)
        ours, theirs = Timing(f"rejuv m={hosts:,}"), Timing(f"SimPy m={hosts:,}")
        simpy_runs = args.simpy_repeats if hosts <= 1000 else 1
        result: SimResult | None = None
        lost, events = math.nan, 0
        for repeat in range(max(args.repeats, simpy_runs)):
            if repeat < args.repeats:
                run = ours.run(partial(simulate, params, config))
                assert isinstance(run, SimResult)
                result = run
            if repeat < simpy_runs:
                lost, events, _ = cast(tuple[float, int, float], theirs.run(partial(simpy_loss, params, hosts)))
        assert result is not None
        timings += [ours, theirs]
        peak = peak_of(partial(simulate, params, config))
        difference = abs(lost - result.lost_host_seconds) / result.lost_host_seconds
        ok &= difference <= AGREEMENT and events == result.events
        ratio = theirs.median / ours.median  # same events on both sides: the ratio of event rates
        ratios.append(ratio)
        costs[hosts] = ours.median / result.events
        print(
            f"  {hosts:>8,}  {result.events:>12,}  {ours.median:>8.3f}  {rate(result.events, ours.median):>11}"
            f"  {1e9 * costs[hosts]:>6.0f}  {theirs.median:>8.2f}  {rate(events, theirs.median):>11}"
            f"  {1e9 * theirs.median / events:>6.0f}  {ratio:>5.1f}x  {size_text(peak):>10}  {difference:>9.1e}"
        )
        if events != result.events:
            print(f"    event counts differ: SimPy {events:,}, rejuv {result.events:,}")
    warn_unstable(timings)
    if not args.no_large:
        large = _large_in_child(args.large)
        costs[args.large] = large["seconds"] / large["events"]
        print(
            f"\n  {args.large:,} hosts, one year (rejuv alone, fresh process): {int(large['events']):,} events in"
            f" {large['seconds']:.1f} s ({rate(large['events'], large['seconds'])}events/s,"
            f" {1e9 * costs[args.large]:.0f} ns/event), P/(m p) = {large['throughput']:.6f};"
            f" tracemalloc peak {size_text(large['tracemalloc'])}, peak RSS {size_text(large['rss'])}"
            f" (limit {size_text(MEMORY_LIMIT)}: {'within' if large['rss'] <= MEMORY_LIMIT else 'EXCEEDED'})"
        )
    _print_verdicts(ratios, costs)
    print("\nagreement within 1e-9 and equal event counts:", "yes" if ok else "NO")
    return 0 if ok else 1


def _print_verdicts(ratios: list[float], costs: dict[int, float]) -> None:
    """The issue's targets: the event-rate ratio, and a cost per event that does not grow with m."""
    if ratios:
        print(f"\n  event rate vs SimPy: {min(ratios):.1f}x to {max(ratios):.1f}x (target {TARGET:.0f}x):", end=" ")
        print("met" if min(ratios) >= TARGET else "NOT met")
    if len(costs) > 1:
        sizes = sorted(costs)
        growth = costs[sizes[-1]] / costs[sizes[0]]
        slope = statistics.linear_regression(
            [math.log(m) for m in sizes], [math.log(costs[m] * m) for m in sizes]
        ).slope
        listing = ", ".join(f"m={m:,}: {1e9 * costs[m]:.0f} ns" for m in sizes)
        print(f"  cost per event: {listing}")
        print(
            f"  time ~ m^{slope:.2f}; cost per event at m={sizes[-1]:,} is {growth:.2f}x that at m={sizes[0]:,}"
            f" (linear if <= {LINEAR_FACTOR}x): {'linear' if growth <= LINEAR_FACTOR else 'NOT linear'}"
        )


if __name__ == "__main__":
    sys.exit(main())
