"""Warm-VM Reboot against Cold-VM Reboot on real QEMU VMs, and on-memory suspend against save-to-file.

Part 1, for n = 1, 2 and 4 VMs on one host (the same VMs for both): the
downtime the load client sees (the longest gap between replies, median over
the VMs) of a warm and then a cold reboot, their ratio beside the paper's
(59 s against 219 s for 11 VMs: 73% less), and the post-reboot loss ωR (the
seconds of full service lost after the downtime, over 20 s). Targets: warm
downtime at least 90% below cold at every n; warm ωR at most 5% of cold's.

Part 2, one VM of 256 MB, 1 GB and 2 GB: on-memory suspend + resume time
against the save-to-file baseline (medians of 3, interleaved). Targets:
on-memory grows less than 20% from 256 MB to 2 GB; the baseline at least 2x.

Run: ``python benchmarks/lab_reboot.py`` as root with QEMU installed (about 8 minutes under TCG).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from contextlib import AsyncExitStack

import numpy as np

from _harness import print_metadata
from rejuv.lab import Host, ImageRecipe, LoadClient, VMConfig, build_image, reply_gap, throughput
from rejuv.lab.cleanup import run_directory
from rejuv.lab.image import GuestImage
from rejuv.lab.machine import machine_metadata
from rejuv.lab.procedures import cold_reboot, warm_reboot
from rejuv.lab.vm import VM
from rejuv.trace.markers import MarkerKind

HOST_COUNTS = (1, 2, 4)
TOTAL_RATE = 24.0  #: req/s over all VMs (under TCG, 2 cores carry about 40)
SETTLE = 15.0  #: s of load before each reboot
RECOVERY = 20.0  #: s after the downtime over which ωR is summed
REPEATS = 3
MEMORY_MB = (256, 1024, 2048)
PAPER_WARM, PAPER_COLD = 59.0, 219.0


async def _reboots(image: GuestImage, vms: int) -> dict[str, tuple[float, float]]:
    """{procedure: (median client-seen downtime s, ωR s)} for a warm then a cold reboot of ``vms`` VMs."""
    rate = TOTAL_RATE / vms
    results: dict[str, tuple[float, float]] = {}
    async with AsyncExitStack() as stack:
        run_dir = stack.enter_context(run_directory())
        host = stack.enter_context(Host(vms))
        machines = [VM(i, host, image, run_dir, VMConfig(disk_bps=512 * 1024)) for i in range(vms)]
        for vm in machines:
            stack.push_async_callback(vm.close)
        await asyncio.gather(*(vm.boot() for vm in machines))
        client = LoadClient(host, vms, rate, image.files, timeout=3.0)
        stack.push_async_callback(client.close)
        start = await client.start()
        await asyncio.sleep(start - time.monotonic() + SETTLE + image.files / rate)  # caches warm
        for name, procedure in (("warm", warm_reboot), ("cold", cold_reboot)):
            marks: dict[MarkerKind, float] = {}
            await procedure(machines, lambda kind, _s, _n, m=marks: m.setdefault(kind, time.monotonic()))
            event = marks[MarkerKind.SUSPEND_STARTED if name == "warm" else MarkerKind.SHUTDOWN_STARTED]
            await asyncio.sleep(RECOVERY + 10.0)
            gaps = [reply_gap(client.requests, vm, event - 1.0, event + RECOVERY) for vm in range(vms)]
            downtime = statistics.median(gaps)
            begin = event + downtime
            series = throughput(client.requests, vms, begin, RECOVERY).sum(axis=1)
            lost = float(np.clip(1.0 - series / (rate * vms), 0.0, None).sum())
            results[name] = (downtime, lost)
            await asyncio.sleep(SETTLE)
        await client.stop()
    return results


async def _suspend_resume(image: GuestImage, memory_mb: int) -> dict[str, float]:
    """{mode: median suspend + resume time s} for one VM of ``memory_mb``."""
    times: dict[str, list[float]] = {"on-memory": [], "save-to-file": []}
    async with AsyncExitStack() as stack:
        run_dir = stack.enter_context(run_directory())
        host = stack.enter_context(Host(1))
        vm = VM(0, host, image, run_dir, VMConfig(memory_mb=memory_mb))
        stack.push_async_callback(vm.close)
        await vm.boot()
        for _ in range(REPEATS):
            for mode in times:
                began = time.monotonic()
                await vm.suspend(save_ram=mode == "save-to-file")
                await vm.resume()
                times[mode].append(time.monotonic() - began)
    return {mode: statistics.median(values) for mode, values in times.items()}


def main() -> None:
    print_metadata("lab_reboot: Warm-VM Reboot vs Cold-VM Reboot on real QEMU VMs")
    print(f"qemu: {machine_metadata()['qemu']}; accel: tcg; load {TOTAL_RATE:g} req/s over all VMs")
    image = build_image(ImageRecipe(files=100))
    print(f"guest: {image.kernel_release}, {image.files} files of {image.file_kb} KB, disk 512 KB/s, 128 MB RAM\n")
    paper = 1 - PAPER_WARM / PAPER_COLD
    print("  n   warm down   cold down   warm less   paper less   warm ωR   cold ωR   ωR warm/cold")
    for vms in HOST_COUNTS:
        found = asyncio.run(_reboots(image, vms))
        (warm, warm_lost), (cold, cold_lost) = found["warm"], found["cold"]
        print(
            f"  {vms}   {warm:8.2f} s  {cold:8.2f} s   {1 - warm / cold:8.1%}    {paper:8.1%}    {warm_lost:6.2f} s  "
            f"{cold_lost:6.2f} s   {warm_lost / cold_lost if cold_lost else float('nan'):8.1%}"
        )
    print("  targets: warm at least 90% less than cold; warm ωR at most 5% of cold's\n")
    print("  RAM      on-memory   save-to-file   (suspend + resume, median of 3)")
    rows = {memory: asyncio.run(_suspend_resume(image, memory)) for memory in MEMORY_MB}
    for memory, row in rows.items():
        print(f"  {memory:5d} MB  {row['on-memory']:7.3f} s   {row['save-to-file']:7.3f} s")
    first, last = rows[MEMORY_MB[0]], rows[MEMORY_MB[-1]]
    print(
        f"  growth 256 MB -> 2 GB: on-memory {last['on-memory'] / first['on-memory']:.2f}x (target < 1.2x), "
        f"save-to-file {last['save-to-file'] / first['save-to-file']:.2f}x (target >= 2x)"
    )


if __name__ == "__main__":
    main()
