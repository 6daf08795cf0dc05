"""Stop-and-copy, live and rate-controlled live migration on real QEMU VMs, beside the pre-copy model.

Part 1, one VM per run, for guest RAM 256 MB, 512 MB and 1 GB and links of
1 Gbit/s and 100 Mbit/s: each of ``migration`` (stop-and-copy), ``live`` and
``live_rate_control`` (the paper's 100, +50, 500 Mbit/s), ``--repeats``
times. The guest fills a buffer of 3/4 of its RAM less 48 MiB with random
bytes at boot and rewrites it at ``--dirty`` MiB/s (8: 67 Mbit/s) while 10
req/s of web load run, so RAM size matters (untouched pages cross as zero
flags) and pre-copy has pages to chase. Per procedure (medians): the VM's
downtime and total migration time by QEMU's own figures
(``total-time``; the downtime by QEMU's events, source ``STOP`` to spare ``RESUME``), the rounds, and the
pre-copy model's prediction (:mod:`rejuv.model.precopy`) from measured
inputs: the bytes of the first round, the guest's dirtying rate measured by
the round watcher (weighted by round length), the buffer as writable working
set, and the bandwidth QEMU achieved in the run's own first round (under TCG
the CPU, not the link, bounds it, and it moves with the machine's load from
run to run; for rate control, whose first round is held at 100 Mbit/s, the
live run's, as the cap on the rule's rates). For stop-and-copy that makes
the prediction nearly its own measurement (it checks only that the passes
after the first and the completion are small); for the live procedures the
model predicts the rounds and their sizes, and its downtime is printed beside the measured one.
Live runs under QEMU's downtime limit ``--downtime-limit`` (default QEMU's 300 ms), which the
unlimited prediction also takes; a line per live cell sets its final round (QEMU's
``ram.downtime-bytes``) against the limit's worth (the limit x the measured bandwidth), as the
fraction of it the switch-over used. Targets: predicted total within 20% of the measured one; live
downtime under 1 s at 256 MB on 1 Gbit/s; stop-and-copy's downtime grows with
RAM (1 GB over 256 MB >= 2x) while live's does not (< 1.5x).

Part 2, three VMs of 128 MB moved one by one over 1 Gbit/s, unlimited and
rate-controlled, under a closed-loop load (``--concurrency 2``: each VM serves
as fast as it can, as the paper's were loaded near their capacity, so the CPU
the migration takes shows as lost throughput; an open loop far below a TCG
guest's capacity only delayed replies), ``--repeats`` runs each: γ' and M_l fitted from their
traces' Table 1 together (:func:`rejuv.trace.migration_fit.fit_migration`), side by side with the
paper's (0.58 and 181 s unlimited, 0.24 and 950 s with rate control), and the
moving VM's throughput during its move over its own in the 4 s before the
evacuation (median of the moves). Target: rate control lowers γ' at least 2x, judged
at rate control's γ' plus 2 standard errors (a γ' of 0 ± σ has no finite ratio of its own).
Stop-and-copy (``migration``) is fitted the same way for γ and D_m (paper 0.60 and 15 s),
its VMs at 512 MB so that each move holds enough samples (see :func:`gamma`); with it part 2
takes about 7 minutes for 2 repeats (beside two busy loops, load average 4 to 11).

``--nice N`` (-20 to 19; default -10 as root, else 0) sets the niceness of this process at
its start, so QEMU and the load client inherit it (:mod:`rejuv.lab.priority`): other jobs on
the machine then take less of the CPU the measurement shares; printed under the header.

``--quick``: part 1 at 256 MB only (both links), one repeat, and part 2.
Run: ``python benchmarks/lab_migrate.py [--quick] [--repeats N] [--part precopy|gamma] [--ram 256,1024]
[--links 1gbit] [--downtime-limit 100ms]`` as root with
QEMU installed (under TCG on 2 cores: part 1 about 30 minutes per repeat, 1.5 hours at the default 3;
part 2 about 7 minutes for 3 repeats; about 20 minutes quick at a load average of 10; the
load average is printed beside each figure). Ctrl-C or SIGTERM stops it and
removes every VM, namespace and run directory.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from _harness import count, load_average, print_metadata
from _lab import run_main, say
from rejuv.errors import RejuvError
from rejuv.lab.cluster import parse_link_rate
from rejuv.lab.cmdline import max_dirty_buffer
from rejuv.lab.errors import LabError
from rejuv.lab.experiment import Experiment, ExperimentResult, run_experiment
from rejuv.lab.image import GuestImage, ImageRecipe, build_image
from rejuv.lab.kept import kept_throughput
from rejuv.lab.priority import current_nice, set_nice
from rejuv.lab.vm import DEFAULT_DOWNTIME_LIMIT
from rejuv.model import STRATEGIES, MigrationStrategy
from rejuv.model.precopy import MBIT, PreCopyPrediction, RateRule, predict_precopy, predict_stop_and_copy
from rejuv.model.units import parse_duration
from rejuv.trace.migration_fit import fit_migration, migration_parameters
from rejuv.trace.segment import Estimate

MEMORY_MB = (256, 512, 1024)
LINKS = ("1gbit", "100mbit")
PROCEDURES = ("migration", "live", "live_rate_control")
DIRTY = 8.0  #: MiB/s the guest rewrites
RATE = 10.0  #: req/s per VM
FILES = 20
GAMMA_VMS, GAMMA_MEMORY = 3, 128
GAMMA_COPY_MEMORY = 512  #: MB of part 2's stop-and-copy VMs: moves of about 4 s (see gamma)
GAMMA_STEP = 0.5  #: s: an unlimited move of 128 MB lasts about 2 s, and Table 1 needs samples inside each move
GAMMA_CONCURRENCY = 2  #: part 2's closed loop: requests in flight per VM (a TCG guest is saturated by 2)
GAMMA_BEFORE = 20.0  #: s of load before part 2's evacuation, all of it p's baseline (the caches are filled first)
BASELINE = 4.0  #: s before the evacuation each moving VM's own throughput is measured over
PAPER = {
    "live": (0.58, 181.0),
    "live_rate_control": (0.24, 950.0),
    "migration": (0.60, 15.0),
}  #: γ' or γ; M_l or D_m (s)
TOLERANCE = 0.20
DEFAULT_NICE = -10 if os.geteuid() == 0 else 0  #: ~9x a nice-0 job's CPU weight (lowering needs root)


@dataclass(frozen=True)
class Move:
    """One measured move: QEMU's downtime and total time (s), its rounds, bytes and measured rates (bytes/s)."""

    downtime: float
    total: float
    rounds: int
    first_round_bytes: float
    first_round_rate: float | None  #: bytes/s achieved in round 1 (None: one round only)
    throughput: float  #: bytes sent over the total time
    dirtying: float  #: bytes/s, over the rounds measured, weighted by their length (0 with none)


def _dirtying(rounds: Sequence[dict[str, Any]]) -> float:
    """bytes/s the guest dirtied over the rounds it was measured in, weighted by each round's length.

    Round k's record holds the rate of round k-1, which lasted from its start to round k's. A
    plain median would be ruled by the last rounds, a few tens of ms long, where one 2 MiB write
    of the dirtier (one every 0.25 s) reads as hundreds of Mbit/s.
    """
    spans = [
        (later["dirtying_mbit"] * MBIT, later["began"] - earlier["began"])
        for earlier, later in itertools.pairwise(rounds)
        if later["dirtying_mbit"] is not None
    ]
    length = sum(span for _, span in spans)
    return sum(rate * span for rate, span in spans) / length if length > 0 else 0.0


def _move(result: ExperimentResult) -> Move:
    """The move of vm0: downtime by QEMU's events (source STOP to spare RESUME), the rest by QEMU's figures.

    QEMU's own ``downtime`` counts from its switch-over, so it misses a stop-and-copy's copy
    (the guest was stopped before ``migrate``); the events do not.
    """
    figures = result.trace.metadata["procedure_migrations"]["vm0"]
    qemu, rounds = figures["qemu"], figures["rounds"]
    total, sent = qemu["total-time"] / 1000, float(qemu["ram"]["transferred"])
    first = float(rounds[1]["sent"]) if len(rounds) > 1 and rounds[1]["sent"] else sent
    rate = first / (rounds[1]["began"] - rounds[0]["began"]) if first < sent else None
    pause = result.report.pauses.get("vm0")
    downtime = pause if pause is not None else qemu["downtime"] / 1000
    return Move(downtime, total, len(rounds), first, rate, sent / total, _dirtying(rounds))


def _final_round(result: ExperimentResult) -> float:
    """Bytes vm0's move sent with the guest stopped: QEMU's ``ram.downtime-bytes`` (QEMU 7.0 on)."""
    return float(result.trace.metadata["procedure_migrations"]["vm0"]["qemu"]["ram"]["downtime-bytes"])


def _run(
    image: GuestImage,
    procedure: str,
    memory: int,
    link: str,
    vms: int = 1,
    step: float = 1.0,
    concurrency: int | None = None,
    before: float = 6.0,
    downtime_limit: float | None = None,
) -> ExperimentResult:
    """One run; ``downtime_limit`` (s) is QEMU's for a ``live`` run (None: QEMU's default)."""
    experiment = Experiment(
        procedure=procedure,
        vms=vms,
        rate=RATE,
        concurrency=concurrency,
        before=before,
        after=4.0,
        memory_mb=memory,
        accel="tcg",
        timeout=5.0,
        link=link,
        dirty=DIRTY,
        dirty_buffer=max_dirty_buffer(memory),
        step=step,
        downtime_limit=downtime_limit if procedure == "live" else None,
    )
    return asyncio.run(run_experiment(experiment, image))


def _predict(procedure: str, move: Move, link_rate: float, buffer: float, downtime_limit: float) -> PreCopyPrediction:
    """The model's move for ``procedure``; unlimited live stops once the rest fits in ``downtime_limit`` s."""
    if procedure == "migration":  # all of it in one round
        return predict_stop_and_copy(move.throughput * move.total, link_rate)
    rule = RateRule() if procedure == "live_rate_control" else None
    return predict_precopy(
        move.first_round_bytes, move.dirtying, link_rate, rule, max_downtime=downtime_limit, working_set=buffer
    )


def _median_move(moves: Sequence[Move]) -> Move:
    def middle(values: Sequence[float | None]) -> float:
        return statistics.median(v for v in values if v is not None) if any(v is not None for v in values) else 0.0

    return Move(
        middle([m.downtime for m in moves]),
        middle([m.total for m in moves]),
        round(middle([m.rounds for m in moves])),
        middle([m.first_round_bytes for m in moves]),
        middle([m.first_round_rate for m in moves]) or None,
        middle([m.throughput for m in moves]),
        middle([m.dirtying for m in moves]),
    )


def precopy(
    image: GuestImage,
    memories: Sequence[int],
    links: Sequence[str],
    repeats: int,
    downtime_limit: float = DEFAULT_DOWNTIME_LIMIT / 1000,
) -> dict[tuple[int, str, str], Move]:
    """Part 1: every cell's median move, printed with the model's prediction; live under ``downtime_limit`` s."""
    print(f"\nPart 1: one VM, guest rewriting {DIRTY:g} MiB/s; medians of {repeats}; times in s")
    default = " (QEMU's default)" if round(downtime_limit * 1000) == DEFAULT_DOWNTIME_LIMIT else ""
    print(f"live's downtime limit: {downtime_limit * 1000:g} ms{default}, in its runs and its prediction")
    header = f"{'RAM':>5} {'link':>7} {'procedure':<18} {'down':>7} {'pred down':>9} {'total':>7} {'rounds':>6}"
    print(header + f" {'dirty Mb/s':>10} {'BW Mb/s':>7} {'predicted':>9} {'pred/meas':>9}  load")
    found: dict[tuple[int, str, str], Move] = {}
    for memory in memories:
        for link in links:
            final_rounds: list[float] = []  # live's, bytes
            for procedure in PROCEDURES:
                moves = []
                for repeat in range(repeats):
                    say(f"  {memory} MB, {link}, {procedure}, run {repeat + 1} (load average {load_average()})")
                    try:
                        result = _run(image, procedure, memory, link, downtime_limit=downtime_limit)
                    except LabError as err:  # a guest too slow to boot on a loaded machine: said, not hidden
                        print(f"{memory:>5} {link:>7} {procedure:<18} run {repeat + 1} FAILED: {err}")
                        continue
                    moves.append(_move(result))
                    if procedure == "live":
                        final_rounds.append(_final_round(result))
                if moves:
                    found[(memory, link, procedure)] = _median_move(moves)
            buffer = max_dirty_buffer(memory) * 2**20
            live = found.get((memory, link, "live"))
            for procedure in PROCEDURES:
                move = found.get((memory, link, procedure))
                # the link as the guest's QEMU drove it: its own first round, or (rate control) the live run's
                source = live if procedure == "live_rate_control" else move
                link_rate = source.first_round_rate if source is not None else None
                if move is None or link_rate is None:
                    print(f"{memory:>5} {link:>7} {procedure:<18} not measured (its run, or the link's, failed)")
                    continue
                prediction = _predict(procedure, move, link_rate, buffer, downtime_limit)
                predicted = prediction.total_time
                ratio = predicted / move.total
                verdict = "ok" if abs(ratio - 1) <= TOLERANCE else "MISS"
                print(
                    f"{memory:>5} {link:>7} {procedure:<18} {move.downtime:7.3f} {prediction.downtime:9.3f}"
                    f" {move.total:7.2f} {move.rounds:>6} {move.dirtying / MBIT:10.1f} {link_rate / MBIT:7.0f}"
                    f" {predicted:9.2f} {ratio:8.2f} {verdict:<4} {load_average()}"
                )
            if final_rounds and live is not None and live.first_round_rate is not None:
                _print_cap(memory, link, statistics.median(final_rounds), downtime_limit, live.first_round_rate)
    return found


def _print_cap(memory: int, link: str, final_round: float, downtime_limit: float, bandwidth: float) -> None:
    """Live's final round (bytes, median) against the limit's worth: ``downtime_limit`` s at ``bandwidth`` bytes/s.

    QEMU switches over once its estimate of the rest fits in that worth, so the final round is at
    most about that; the printed fraction is how much of the limit the switch-over used (measured
    on 1 Gbit/s: 0.60 and 0.62 of 300 ms at 256 and 512 MB, 0.90 at 1 GB; 0.79 to 0.86 of 100 ms).
    """
    worth = downtime_limit * bandwidth
    print(
        f"{memory:>5} {link:>7} live: final round {final_round / 2**20:.1f} MiB against the limit's worth "
        f"{worth / 2**20:.1f} MiB ({downtime_limit * 1000:g} ms x {bandwidth / MBIT:.0f} Mbit/s): "
        f"{final_round / worth:.2f} of it"
    )


def _targets(found: dict[tuple[int, str, str], Move], memories: Sequence[int], links: Sequence[str]) -> None:
    live = found.get((min(memories), "1gbit", "live"))
    if live is not None:
        verdict = "holds" if live.downtime < 1.0 else "MISSED"
        where = f"{min(memories)} MB on 1 Gbit/s"
        print(f"target: live downtime at {where} < 1 s (the target is at 256 MB): {live.downtime:.3f} s ({verdict})")
    if len(memories) < 2:
        print("target: downtime against RAM: not measured (needs two RAM sizes; run without --quick)")
        return
    small, large = min(memories), max(memories)
    for link in links:
        if not all((size, link, p) in found for size in (small, large) for p in ("migration", "live")):
            print(f"target: on {link}, downtime against RAM: not measured (a run failed)")
            continue
        grow = {p: found[(large, link, p)].downtime / found[(small, link, p)].downtime for p in ("migration", "live")}
        ok = grow["migration"] >= 2.0 and grow["live"] < 1.5
        print(
            f"target: on {link}, downtime {large} MB / {small} MB: stop-and-copy {grow['migration']:.2f}x (>= 2), "
            f"live {grow['live']:.2f}x (< 1.5): {'holds' if ok else 'MISSED'}"
        )


def _kept(result: ExperimentResult) -> float:
    """Median over the moves of the moving VM's replies/s during its move over its own in the BASELINE s before."""
    return statistics.median(kept_throughput(result, BASELINE).values())


def _gamma_run(image: GuestImage, procedure: str) -> ExperimentResult:
    """One part-2 run: stop-and-copy at GAMMA_COPY_MEMORY, the live procedures at GAMMA_MEMORY."""
    memory = GAMMA_COPY_MEMORY if procedure == "migration" else GAMMA_MEMORY
    return _run(
        image,
        procedure,
        memory,
        "1gbit",
        vms=GAMMA_VMS,
        step=GAMMA_STEP,
        concurrency=GAMMA_CONCURRENCY,
        before=GAMMA_BEFORE,
    )


def gamma(image: GuestImage, repeats: int) -> None:
    """Part 2: γ' and M_l of unlimited and rate-controlled live migration, and γ and D_m of stop-and-copy.

    Each procedure's Table 1 is fitted from ``repeats`` runs' traces together. Stop-and-copy's
    VMs have GAMMA_COPY_MEMORY of RAM, not GAMMA_MEMORY: the fit takes V_c (the VMs still on the
    source, and those already moved) as the mean over the samples *wholly inside* each move. A
    128 MB stop-and-copy move lasts about 1.3 s, so a 0.5 s step leaves one or two whole samples
    (0.5 to 1 s of each move) and a few dozen replies behind each row: γ read 0.04 ± 0.08 in one
    run and 0.44 ± 0.08 in the next. At 512 MB (about 350 MB of it the guest's random buffer,
    which crosses as data) a move lasts about 5 s (4.8 to 6.2 measured), so 8 or more whole samples: 5x the replies
    behind each row, and a window whose edges (the partial samples left out) matter less. γ is
    the share of the others' throughput lost while the moving VM's pages are copied, a rate, so a
    longer copy measures it longer without changing it. A finer step instead would only split
    the same few replies into noisier samples. Live migration stays at 128 MB: its moves last
    tens of seconds with rate control, and its γ' is compared with the earlier runs'. Since the
    lab fills the guests' page caches before the load (:mod:`rejuv.lab.warmup`), three runs gave
    γ = 0 within 0.05 to 0.14 and a fourth 0.062 ± 0.054: the running guests take the stopped
    one's share of the cores (docs/lab.md).
    """
    print(
        f"\nPart 2: {GAMMA_VMS} VMs over 1 Gbit/s, one by one, closed loop ({GAMMA_CONCURRENCY} in flight per VM), "
        f"{GAMMA_MEMORY} MB live, {GAMMA_COPY_MEMORY} MB stop-and-copy; Table 1 fitted from {repeats} run(s) per "
        "procedure together; gamma of stop-and-copy, gamma_prime of live; M_l, or D_m for stop-and-copy"
    )
    print(
        f"{'procedure':<18} {'gamma(_prime)':>15} {'M_l|D_m (s)':>12}   {'paper gamma':>17} {'paper M':>9}  kept  load"
    )
    rates: dict[str, Estimate] = {}
    for procedure in ("live", "live_rate_control", "migration"):
        results = []
        for repeat in range(repeats):
            say(f"  {GAMMA_VMS} VMs, {procedure}, run {repeat + 1} (load average {load_average()})")
            try:
                results.append(_gamma_run(image, procedure))
            except RejuvError as err:
                print(f"{procedure:<18} run {repeat + 1} FAILED: {err}")
        live = procedure != "migration"
        try:
            fitted = fit_migration([result.trace for result in results], live=live)
        except RejuvError as err:
            print(f"{procedure:<18} FAILED: {err}")
            continue
        measured = fitted.degradation
        rate = "not measured" if measured is None else f"{measured.value:.3f} ± {measured.uncertainty:.3f}"
        if measured is not None:
            rates[procedure] = measured
        paper_rate, paper_time = PAPER[procedure]
        strategy = STRATEGIES[procedure]
        assert isinstance(strategy, MigrationStrategy)
        time = migration_parameters(fitted, strategy)[strategy.time_symbol]
        kept = statistics.median(_kept(result) for result in results)
        print(
            f"{procedure:<18} {rate:>15} {time.value:6.1f} ± {time.uncertainty:3.1f}   {paper_rate:17.2f} "
            f"{paper_time:9.0f}  {kept:4.2f}  {load_average()}"
        )
        for note in fitted.notes:
            print(f"  ({procedure}: {note})")
    target = "target: gamma_prime unlimited / rate-controlled >= 2 (paper 2.4)"
    if "live" not in rates or "live_rate_control" not in rates:
        print(f"{target}: not measured (see above)")
        return
    unlimited, controlled = rates["live"], rates["live_rate_control"]
    # Judged at rate control's upper bound (2 standard errors): a γ' of 0 ± σ gives no finite ratio of its own.
    upper = controlled.value + 2 * controlled.uncertainty
    central = (
        f"{unlimited.value / controlled.value:.2f}x" if controlled.value > 0 else "unbounded (rate control's is 0)"
    )
    bound = unlimited.value / upper if upper > 0 else math.inf
    verdict = "holds" if bound >= 2.0 else "MISSED"
    print(f"{target}: {central}; at rate control's upper bound {upper:.3f}: {bound:.2f}x ({verdict})")


def _sizes(text: str) -> tuple[int, ...]:
    """``--ram``: MB sizes, comma-separated, each at least 128."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 128:
        raise argparse.ArgumentTypeError(f"must be MB sizes of at least 128, comma-separated, got {text!r}")
    return sizes


def _links(text: str) -> tuple[str, ...]:
    """``--links``: link rates in tc's units, comma-separated."""
    links = tuple(text.split(","))
    try:
        for link in links:
            parse_link_rate(link)
    except LabError as err:
        raise argparse.ArgumentTypeError(err.why) from None
    return links


def _downtime_limit(text: str) -> float:
    """``--downtime-limit``: a duration (``100ms``, ``0.3s``) that live's runs take (whole ms, 1 ms to 2000 s), in s."""
    try:
        seconds = parse_duration(text)
        Experiment(procedure="live", downtime_limit=seconds)  # its checks, by QEMU's range
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    except LabError as err:
        raise argparse.ArgumentTypeError(err.why) from None
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 MB only, one repeat, and part 2")
    parser.add_argument("--repeats", type=count, default=3, help="runs per cell (default: 3; 1 with --quick)")
    parser.add_argument("--part", choices=("precopy", "gamma", "both"), default="both")
    parser.add_argument("--ram", type=_sizes, help="guest RAM sizes of part 1, MB (default: 256,512,1024)")
    parser.add_argument("--links", type=_links, help="links of part 1 (default: 1gbit,100mbit)")
    parser.add_argument(
        "--downtime-limit",
        type=_downtime_limit,
        default=DEFAULT_DOWNTIME_LIMIT / 1000,
        help=f"QEMU's downtime limit of part 1's live runs and their prediction (default: {DEFAULT_DOWNTIME_LIMIT}ms)",
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=DEFAULT_NICE,
        help=f"niceness of every lab process, -20 to 19 (default: {DEFAULT_NICE}: -10 as root, else 0)",
    )
    args = parser.parse_args()
    memories = args.ram or ((256,) if args.quick else MEMORY_MB)
    links = args.links or LINKS
    repeats = 1 if args.quick else args.repeats
    try:  # before the image and every VM: all the lab's processes inherit it
        set_nice(args.nice, "--nice")
    except LabError as err:
        parser.error(f"{err.what}: {err.why}")
    print_metadata("lab_migrate: stop-and-copy, live and rate-controlled live migration against the pre-copy model")
    print(f"niceness {current_nice()} (--nice) for the lab's processes: QEMU, the load client, this process")
    image = build_image(ImageRecipe(files=FILES), progress=say)
    if args.part in ("precopy", "both"):
        _targets(precopy(image, memories, links, repeats, args.downtime_limit), memories, links)
    if args.part in ("gamma", "both"):
        gamma(image, repeats)


if __name__ == "__main__":
    run_main(main)
