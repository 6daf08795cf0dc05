"""Warm-VM Reboot against Cold-VM Reboot on real QEMU VMs, by each mechanism, idle and with a core kept busy.

Part 1, for n = 1, 2 and 4 VMs on one host (the same VMs for all): warm
reboots by each mechanism the installed QEMU has (cpr-transfer, cpr-reboot,
ignore-shared; ``--repeats`` each, in that order), then a cold reboot. For
each: the downtime the load client sees (the longest gap between replies,
median over the VMs), the guest pause of every VM (its old QEMU's STOP event
to its new QEMU's RESUME event), the procedure's own time, the ratio to cold
beside the paper's (59 s against 219 s for 11 VMs: 73% less), and the
post-reboot loss ωR (the seconds of full service lost after the downtime,
over 20 s). Targets: warm downtime at least 90% below cold at every n, by
every mechanism; warm ωR at most 5% of cold's; a pause under 100 ms per VM
with cpr-transfer at every n.

Part 2, one VM of 256 MB, 1 GB and 2 GB: on-memory suspend + resume (by the
best mechanism; with cpr-transfer: start of the new QEMU to the old one's
quit, and the guest pause within it) against the save-to-file baseline
(medians of 7; all on-memory rounds first). Targets: on-memory grows less
than 20% from 256 MB to 2 GB; the baseline at least 2x.

``--load idle|busy|both`` (default both): each part runs on the machine as
it is, then again with one core kept busy by a spinning process that the
benchmark starts before and stops after (a host being patched is rarely idle).

Run: ``python benchmarks/lab_reboot.py [--part reboot|memory] [--load ...] [--repeats N] [--counts 1,2,4]``
as root with QEMU installed (about 40 minutes under TCG for everything; the
load average is printed beside each figure). Ctrl-C or SIGTERM stops it and
removes every VM, namespace, run directory and the spinning process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import numpy as np

from _harness import load_average, print_metadata
from _lab import boot_vms, run_main, say
from rejuv.lab import ImageRecipe, LoadClient, VMConfig, build_image, reply_gap, throughput
from rejuv.lab.cleanup import CLEANUP
from rejuv.lab.image import GuestImage
from rejuv.lab.machine import machine_metadata, qemu_version
from rejuv.lab.mechanism import WARM_MECHANISMS, choose_mechanism
from rejuv.lab.procedures import ProcedureReport, cold_reboot, warm_reboot
from rejuv.lab.vm import VM
from rejuv.trace.markers import MarkerKind

HOST_COUNTS = (1, 2, 4)
TOTAL_RATE = 24.0  #: req/s over all VMs (under TCG, 2 cores carry about 40)
FILES = 100
DISK_BPS = 512 * 1024
SETTLE = 10.0  #: s of load before the first reboot, on top of 1.5 times the time to read every file (warm caches)
RECOVERY = 20.0  #: s after the downtime over which ωR is summed
WARM_REPEATS = 3
REPEATS = 7
MEMORY_MB = (256, 1024, 2048)
PAPER_WARM, PAPER_COLD = 59.0, 219.0
PAUSE_TARGET = 0.100  #: s, per VM, with cpr-transfer (Oracle's prototype of QEMU live update)

#: The marker that starts each procedure's downtime, and the one that ends the procedure.
EVENTS = {
    "warm": (MarkerKind.SUSPEND_STARTED, MarkerKind.ALL_RESUMED),
    "cold": (MarkerKind.SHUTDOWN_STARTED, MarkerKind.ALL_BOOTED),
}


@dataclass(frozen=True)
class Reboot:
    """One measured reboot: client-seen downtime (median over VMs), ωR, the procedure's time, guest pauses (s)."""

    downtime: float
    lost: float
    procedure: float
    pauses: tuple[float, ...] = ()  #: per VM whose pause QEMU's events gave

    def __str__(self) -> str:
        pauses = " ".join(f"{p * 1000:.0f}" for p in self.pauses)
        return f"downtime {self.downtime:.2f} s, ωR {self.lost:.2f} s, procedure {self.procedure:.2f} s" + (
            f", pauses {pauses} ms" if self.pauses else ""
        )


@contextlib.contextmanager
def busy_core(load: str) -> Iterator[None]:
    """With ``load == "busy"``, one process spinning on a core for the duration (removed however it ends)."""
    if load != "busy":
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    handle = CLEANUP.add(f"spinning process {spinner.pid}", spinner.kill)
    try:
        yield
    finally:
        CLEANUP.release(handle, run=True)
        spinner.wait()


async def _measure(
    name: str, machines: list[VM], client: LoadClient, rate: float, wait: float, load: list[float]
) -> Reboot:
    """Run the procedure ``name`` under load, wait ``wait`` s, and measure it from the client's records."""
    marks: dict[MarkerKind, float] = {}

    def mark(kind: MarkerKind, _subject: str | None, _note: str) -> None:
        marks.setdefault(kind, time.monotonic())

    procedure = warm_reboot if name == "warm" else cold_reboot
    report: ProcedureReport = await procedure(machines, mark)
    started, ended = (marks[kind] for kind in EVENTS[name])
    await asyncio.sleep(max(0.0, started + wait - time.monotonic()))
    load.append(os.getloadavg()[0])
    vms = len(machines)
    gaps = [reply_gap(client.requests, vm, started - 1.0, started + RECOVERY) for vm in range(vms)]
    downtime = statistics.median(gaps)
    series = throughput(client.requests, vms, started + downtime, RECOVERY).sum(axis=1)
    lost = float(np.clip(1.0 - series / (rate * vms), 0.0, None).sum())
    if report.lost:
        say(f"    warning: {report.lost}")
    pauses = tuple(p for p in report.pauses.values() if p is not None)
    return Reboot(downtime, lost, ended - started, pauses)


@dataclass(frozen=True)
class HostResult:
    warm: dict[str, list[Reboot]]  #: by mechanism
    cold: Reboot
    client: str
    load: float  #: median 1-min load average at the measurements


async def _reboots(image: GuestImage, vms: int, mechanisms: tuple[str, ...], repeats: int) -> HostResult:
    """Warm reboots (``repeats`` by each mechanism) then a cold one of ``vms`` VMs under load, on the same VMs.

    The VMs boot with the first mechanism's command line (cpr-transfer's shares QEMU's own RAM too), and
    each mechanism's reboots start QEMUs with its own.
    """
    rate = TOTAL_RATE / vms
    load: list[float] = []
    async with AsyncExitStack() as stack:
        say(f"  n={vms}:")
        config = VMConfig(disk_bps=DISK_BPS, mechanism=mechanisms[0])
        host, machines = await boot_vms(stack, image, vms, config)
        client = LoadClient(host, vms, rate, image.files, timeout=3.0)
        stack.push_async_callback(client.close)
        start = await client.start()
        warming = SETTLE + 1.5 * max(image.files / rate, image.files * image.file_kb * 1024 / DISK_BPS)
        say(f"  n={vms}: {rate:g} req/s per VM for {warming:.0f} s to warm the caches")
        await asyncio.sleep(start - time.monotonic() + warming)
        warm: dict[str, list[Reboot]] = {}
        for mechanism in mechanisms:
            for vm in machines:
                vm.config = dataclasses.replace(vm.config, mechanism=mechanism)
            for repeat in range(repeats):
                warm.setdefault(mechanism, []).append(
                    await _measure("warm", machines, client, rate, RECOVERY + 2, load)
                )
                say(f"  n={vms}: warm {mechanism} {repeat + 1}/{repeats}: {warm[mechanism][-1]} ({load_average()})")
        cold = await _measure("cold", machines, client, rate, RECOVERY + 10.0, load)
        say(f"  n={vms}: cold: {cold} (load average {load_average()})")
        report = await client.stop()
    return HostResult(warm, cold, report.describe(), statistics.median(load))


def _ms(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:5.0f} / {max(seconds) * 1000:5.0f}" if seconds else "    - /     -"


def _part_one(image: GuestImage, mechanisms: tuple[str, ...], repeats: int, counts: tuple[int, ...], load: str) -> None:
    paper = 1 - PAPER_WARM / PAPER_COLD
    with busy_core(load):
        rows = {vms: asyncio.run(_reboots(image, vms, mechanisms, repeats)) for vms in counts}
    print(f"\n  [{load}] warm against cold; downtime seen by the client, s (median of {repeats}; per reboot: median")
    print("  over the VMs); guest pause per VM, ms (median / max over VMs and reboots), STOP to RESUME events")
    print(
        "  n   mechanism       warm down  (procedure)   pause ms      cold down   warm less   paper less"
        "   warm ωR   cold ωR   ωR warm/cold   load"
    )
    met: dict[str, bool] = {}
    for vms, row in rows.items():
        cold, cold_lost = row.cold.downtime, row.cold.lost
        for mechanism, reboots in row.warm.items():
            warm = statistics.median(r.downtime for r in reboots)
            procedure = statistics.median(r.procedure for r in reboots)
            warm_lost = statistics.median(r.lost for r in reboots)
            pauses = [p for r in reboots for p in r.pauses]
            ratio = warm_lost / cold_lost if cold_lost else float("nan")
            paused_in_time = mechanism != "cpr-transfer" or (bool(pauses) and max(pauses) < PAUSE_TARGET)
            met[mechanism] = met.get(mechanism, True) and 1 - warm / cold >= 0.9 and paused_in_time
            print(
                f"  {vms}   {mechanism:13s}  {warm:7.2f} s  ({procedure:5.2f} s)  {_ms(pauses)}   {cold:7.2f} s"
                f"   {1 - warm / cold:8.1%}    {paper:8.1%}    {warm_lost:5.2f} s  {cold_lost:6.2f} s   {ratio:8.1%}"
                f"      {row.load:.2f}"
            )
    print(
        "  warm downtimes of each reboot: "
        + "; ".join(
            f"n={vms} {m}: " + ", ".join(f"{r.downtime:.2f}" for r in reboots)
            for vms, row in rows.items()
            for m, reboots in row.warm.items()
        )
    )
    for vms, row in rows.items():
        print(f"  n={vms} {row.client}")
    verdicts = ", ".join(f"{m} {'met' if ok else 'NOT met'}" for m, ok in met.items())
    print(
        "  targets: warm at least 90% less than cold at every n; warm ωR at most 5% of cold's (see the columns);"
        f" cpr-transfer pause < {PAUSE_TARGET * 1000:.0f} ms per VM. Downtime and pause: {verdicts}\n"
    )


async def _suspend_resume(image: GuestImage, memory_mb: int, mechanism: str) -> dict[str, float]:
    """{mode: median s} for one VM of ``memory_mb``: on-memory round, its guest pause, save-to-file round."""
    times: dict[str, list[float]] = {"on-memory": [], "pause": [], "save-to-file": []}
    async with AsyncExitStack() as stack:
        _, (vm,) = await boot_vms(stack, image, 1, VMConfig(memory_mb=memory_mb, mechanism=mechanism))
        # Not interleaved: after a save-to-file round (which loads every page of RAM into the memory
        # file), the on-memory round that followed was slower at 2 GB (1.37x-1.46x of 256 MB's
        # time, against no growth when on-memory rounds ran alone); see docs/lab.md.
        for mode in ("on-memory", "save-to-file"):
            for _ in range(REPEATS):
                began = time.monotonic()
                if mode == "on-memory" and mechanism == "cpr-transfer":
                    await vm.prepare_handover()
                    await vm.hand_over()
                    await vm.take_over()
                else:
                    await vm.suspend(save_ram=mode == "save-to-file")
                    await vm.resume()
                times[mode].append(time.monotonic() - began)
                if mode == "on-memory" and vm.last_pause is not None:
                    times["pause"].append(vm.last_pause)
    return {mode: statistics.median(values) if values else float("nan") for mode, values in times.items()}


def _part_two(image: GuestImage, mechanism: str, load: str) -> None:
    rows = {}
    with busy_core(load):
        for memory in MEMORY_MB:
            say(f"  [{load}] {memory} MB: on-memory ({mechanism}) and save-to-file, {REPEATS} times ({load_average()})")
            rows[memory] = asyncio.run(_suspend_resume(image, memory, mechanism))
        average = load_average()
    print(f"  [{load}] RAM      on-memory ({mechanism}: round / guest pause)   save-to-file   (median of {REPEATS};")
    print(f"  load average {average})")
    for memory, row in rows.items():
        print(
            f"  {memory:5d} MB  {row['on-memory']:7.3f} s / {row['pause'] * 1000:5.0f} ms"
            f"                        {row['save-to-file']:7.3f} s"
        )
    first, last = rows[MEMORY_MB[0]], rows[MEMORY_MB[-1]]
    print(
        f"  growth 256 MB -> 2 GB: on-memory {last['on-memory'] / first['on-memory']:.2f}x (target < 1.2x),"
        f" its pause {last['pause'] / first['pause']:.2f}x, save-to-file"
        f" {last['save-to-file'] / first['save-to-file']:.2f}x (target >= 2x)\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--part",
        choices=("both", "reboot", "memory"),
        default="both",
        help="part 1 (reboot: warm vs cold), part 2 (memory: suspend + resume vs RAM), or both (default)",
    )
    parser.add_argument("--load", choices=("both", "idle", "busy"), default="both", help="(default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=WARM_REPEATS, help="warm reboots per mechanism and n")
    parser.add_argument("--counts", default=",".join(map(str, HOST_COUNTS)), help="VM counts (default: 1,2,4)")
    args = parser.parse_args(argv)
    counts = tuple(int(n) for n in args.counts.split(","))
    best = choose_mechanism("auto", qemu_version()).name
    mechanisms = WARM_MECHANISMS[WARM_MECHANISMS.index(best) :]
    print_metadata("lab_reboot: Warm-VM Reboot vs Cold-VM Reboot on real QEMU VMs")
    print(f"  qemu          {machine_metadata()['qemu']}; accel tcg; load {TOTAL_RATE:g} req/s over all VMs")
    print(f"  mechanisms    {', '.join(mechanisms)}; repeats {args.repeats}; n = {args.counts}; runs {args.load}")
    image = build_image(ImageRecipe(files=FILES), progress=say)
    print(f"  guest         {image.kernel_release}, {image.files} files of {image.file_kb} KB, disk 512 KB/s, 128 MB")
    sys.stdout.flush()
    for load in ("idle", "busy") if args.load == "both" else (args.load,):
        if args.part in ("both", "reboot"):
            _part_one(image, mechanisms, args.repeats, counts, load)
            sys.stdout.flush()
        if args.part in ("both", "memory"):
            _part_two(image, best, load)
            sys.stdout.flush()


if __name__ == "__main__":
    run_main(main)
