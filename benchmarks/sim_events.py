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

It prints events per second of each (one run each: SimPy is slow), their ratio, the
tracemalloc peak of rejuv, and checks that both lose the same host-seconds to 1e-9
relative; exits 1 if not. Then it simulates 100,000 hosts for a year with rejuv alone and
reports its time and peak memory (tracemalloc and the process's peak RSS).
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import simpy

from _harness import peak_of, peak_rss, print_metadata, rate, size_text
from rejuv.model import Parameters, load_preset
from rejuv.sim import SimConfig, simulate

PERIODS = 13  #: 13 T_vmm of 28 days: one year
AGREEMENT = 1e-9


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


def _run(env: simpy.Environment, monitor: Monitor, host: int, changes: list[tuple[float, float]], horizon: float):  # type: ignore[no-untyped-def]
    """A host's or VM's process: wrapped phases in force at 0, then each change at its time."""
    plan = []
    for begin, end, loss in changes:  # type: ignore[misc]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="100,1000,10000", help="host counts to compare (default: %(default)s)")
    parser.add_argument("--no-large", action="store_true", help="skip the 100,000-host run")
    args = parser.parse_args(argv)
    params = load_preset()
    print_metadata("cluster simulator: rejuv.sim against SimPy, Warm-VM Reboot, one year", ("numpy", "simpy"))
    print()
    print(
        f"  {'m':>8}  {'events':>12}  {'rejuv s':>8}  {'rejuv ev/s':>11}  {'SimPy s':>8}  {'SimPy ev/s':>11}  {'ratio':>6}  {'rejuv peak':>10}  {'rel. diff':>9}"
    )
    ok = True
    for hosts in (int(float(text)) for text in args.hosts.split(",")):
        config = SimConfig(strategy="warm", hosts=hosts, periods=PERIODS)
        result = simulate(params, config)
        peak = peak_of(lambda config=config: simulate(params, config))
        lost, events, seconds = simpy_loss(params, hosts)
        difference = abs(lost - result.lost_host_seconds) / result.lost_host_seconds
        ok &= difference <= AGREEMENT and events == result.events
        ratio = (result.events / result.elapsed) / (events / seconds)
        print(
            f"  {hosts:>8,}  {result.events:>12,}  {result.elapsed:>8.2f}  {rate(result.events, result.elapsed):>11}"
            f"  {seconds:>8.2f}  {rate(events, seconds):>11}  {ratio:>5.1f}x  {size_text(peak):>10}  {difference:>9.1e}"
        )
        if events != result.events:
            print(f"    event counts differ: SimPy {events:,}, rejuv {result.events:,}")
    if not args.no_large:
        result = simulate(params, SimConfig(strategy="warm", hosts=100_000, periods=PERIODS))
        print(
            f"\n  100,000 hosts, one year: {result.events:,} events in {result.elapsed:.1f} s "
            f"({rate(result.events, result.elapsed)}events/s), P/(m p) = {result.normalized_throughput:.6f}; "
            f"peak RSS of this process {size_text(peak_rss())}"
        )
    print("\nagreement within 1e-9 and equal event counts:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
