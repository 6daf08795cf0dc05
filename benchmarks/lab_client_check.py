"""The lab's open-loop client checked against httperf: same VM, same rate, same files.

One VM (128 MB, 100 files of 128 KB, a 512 KB/s disk, caches warmed first)
is loaded for 30 s at 10 req/s by rejuv's client and by httperf (``--wlog``
with the same files in the same order, one connection per request, as in the
paper), ROUNDS times, each client first in turn. Printed: replies/s,
connection time (from connect to the last byte: median, mean, max), errors,
and the CPU time each client used (medians over the rounds).

Run: ``python benchmarks/lab_client_check.py`` as root with QEMU and httperf installed (about 3 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

from _harness import load_average, print_metadata
from _lab import boot_vms, run_main, say
from rejuv.lab import ImageRecipe, LoadClient, VMConfig, build_image
from rejuv.lab.cleanup import die_with_parent
from rejuv.lab.guest import FILES_PATH, file_name
from rejuv.lab.host import Host
from rejuv.lab.image import GuestImage

RATE = 10.0  #: req/s
SECONDS = 30.0
FILES = 100
ROUNDS = 2
TIMEOUT = 3.0  #: s per request, both clients
DISK_BPS = 512 * 1024

#: What each figure is called in httperf's report, and the pattern that finds it.
HTTPERF_FIGURES = {
    "replies": r"Total: connections \d+ requests \d+ replies (\d+)",
    "duration": r"test-duration ([\d.]+) s",
    "min": r"Connection time \[ms\]: min ([\d.]+)",
    "mean": r"Connection time \[ms\]: min [\d.]+ avg ([\d.]+)",
    "max": r"Connection time \[ms\]: min [\d.]+ avg [\d.]+ max ([\d.]+)",
    "median": r"Connection time \[ms\]:.* median ([\d.]+)",
    "errors": r"Errors: total (\d+)",
    "user": r"CPU time \[s\]: user ([\d.]+)",
    "system": r"CPU time \[s\]: user [\d.]+ system ([\d.]+)",
}


async def _ours(host: Host, files: int) -> dict[str, float]:
    client = LoadClient(host, 1, RATE, files, timeout=TIMEOUT, duration=SECONDS)
    try:
        start = await client.start()
        await asyncio.sleep(start + SECONDS - time.monotonic())
        report = await client.stop()
    finally:
        await client.close()
    took = [1e3 * (r.end - r.start) for r in client.requests if r.ok]
    return {
        "replies/s": len(took) / SECONDS,
        "median ms": statistics.median(took),
        "mean ms": statistics.fmean(took),
        "max ms": max(took),
        "errors": len(client.requests) - len(took),
        "CPU s": report.cpu_seconds,
    }


async def _httperf(host: Host, wlog: Path) -> dict[str, float]:
    argv = ["httperf", "--server", host.address(0), "--port", "80", "--wlog", f"n,{wlog}"]
    argv += ["--rate", f"{RATE:g}", "--num-conns", str(int(RATE * SECONDS)), "--timeout", f"{TIMEOUT:g}"]
    say(f"    {' '.join(argv)}")
    process = await asyncio.create_subprocess_exec(
        *host.exec_argv(argv),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        preexec_fn=die_with_parent,
    )
    try:
        out = (await process.communicate())[0].decode()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    found = {key: re.search(pattern, out) for key, pattern in HTTPERF_FIGURES.items()}
    missing = [key for key, match in found.items() if match is None]
    if missing:
        raise RuntimeError(f"httperf's report lacks {', '.join(missing)}:\n{out}")
    value = {key: float(match.group(1)) for key, match in found.items() if match is not None}
    return {
        "replies/s": value["replies"] / value["duration"],
        "median ms": value["median"],
        "mean ms": value["mean"],
        "max ms": value["max"],
        "errors": value["errors"],
        "CPU s": value["user"] + value["system"],
    }


async def _compare(image: GuestImage, wlog: Path) -> dict[str, list[dict[str, float]]]:
    rounds: dict[str, list[dict[str, float]]] = {"rejuv client": [], "httperf": []}
    async with AsyncExitStack() as stack:
        host, _ = await boot_vms(stack, image, 1, VMConfig(disk_bps=DISK_BPS))
        warming = 1.5 * max(image.files / RATE, image.files * image.file_kb * 1024 / DISK_BPS)
        say(f"  warming the cache: {warming:.0f} s of load")
        warmup = LoadClient(host, 1, RATE, image.files, timeout=TIMEOUT, duration=warming)
        stack.push_async_callback(warmup.close)
        start = await warmup.start()
        await asyncio.sleep(start + warming - time.monotonic())
        await warmup.stop()
        for round_ in range(ROUNDS):
            names = list(rounds) if round_ % 2 == 0 else list(reversed(rounds))  # each goes first in turn
            for name in names:
                say(f"  round {round_ + 1}/{ROUNDS}: {name}, {RATE:g} req/s for {SECONDS:g} s (load {load_average()})")
                rounds[name].append(
                    await (_ours(host, image.files) if name == "rejuv client" else _httperf(host, wlog))
                )
    return rounds


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)  # --help, and no stray arguments
    if shutil.which("httperf") is None:
        sys.exit("httperf is not installed (Debian package httperf)")
    print_metadata("lab_client_check: rejuv's open-loop client against httperf, one VM, same rate and files")
    image = build_image(ImageRecipe(files=FILES), progress=say)
    with tempfile.TemporaryDirectory() as folder:
        wlog = Path(folder) / "files.wlog"
        count = int(RATE * SECONDS)
        wlog.write_bytes(b"".join(f"{FILES_PATH}{file_name(k % image.files)}\0".encode() for k in range(count)))
        rounds = asyncio.run(_compare(image, wlog))
    print(
        f"\n  {RATE:g} req/s for {SECONDS:g} s, {image.files} files of {image.file_kb} KB, medians of {ROUNDS} rounds"
    )
    keys = list(rounds["httperf"][0])
    print("  client          " + "".join(f"{key:>12}" for key in keys))
    for name, results in rounds.items():
        medians = [statistics.median(result[key] for result in results) for key in keys]
        print(f"  {name:<15} " + "".join(f"{value:12.2f}" for value in medians))
    print(f"  load average at the end: {load_average()}")


if __name__ == "__main__":
    run_main(main)
