"""What the lab benchmarks share: VMs booted in a fresh host, and a main that Ctrl-C or SIGTERM stops cleanly."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack

from _harness import load_average
from rejuv.lab import Host, VMConfig
from rejuv.lab.cleanup import CLEANUP, run_directory
from rejuv.lab.image import GuestImage
from rejuv.lab.vm import VM
from rejuv.signals import interrupt_on_sigterm


def say(line: str) -> None:
    """A progress line, on stderr so that stdout holds only the figures."""
    print(line, file=sys.stderr, flush=True)


async def boot_vms(stack: AsyncExitStack, image: GuestImage, vms: int, config: VMConfig) -> tuple[Host, list[VM]]:
    """A host of ``vms`` VMs, booted; ``stack`` removes the VMs, the host and the run directory."""
    run_dir = stack.enter_context(run_directory())
    host = stack.enter_context(Host(vms))
    machines = [VM(i, host, image, run_dir, config) for i in range(vms)]
    for vm in machines:
        stack.push_async_callback(vm.close)
    say(f"  booting {vms} VM(s) of {config.memory_mb} MB (load average {load_average()})")
    await asyncio.gather(*(vm.boot() for vm in machines))
    return host, machines


def run_main(main: Callable[[], None]) -> None:
    """Run ``main``; on Ctrl-C or SIGTERM remove whatever the lab still holds, say so, and exit 130."""
    with interrupt_on_sigterm():
        try:
            main()
        except KeyboardInterrupt:
            failed = CLEANUP.run_all()
            say("interrupted: " + ("; ".join(failed) if failed else "every VM, namespace and run directory removed"))
            sys.exit(130)
