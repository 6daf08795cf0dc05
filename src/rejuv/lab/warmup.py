"""Fill every guest's page cache before the measured load begins.

A guest boots with an empty page cache, and its data disk is throttled
(``--disk-kbps``) so that a cold cache costs real throughput, as it does after
a Cold-VM Reboot. Loaded from the start, a guest would serve its first pass
over the files at the disk's rate (a 128 KB file from a 512 KB/s disk in
0.25 s) and only then at its own capacity, and the host's throughput p, which
every fit measures over the load before the procedure, would mix the two:
under a closed loop of 3 VMs with 20 s of load before the first move, p read
153 req/s with the first 5 s in it and 191 without, which took γ' from 0.10 to
-0.12 (docs/lab.md). So before the load starts each VM serves each of its
files once, one request at a time, from its disk with the throttle lifted
(:func:`fill_page_caches`): the paper's files were all cached too, as if
read long ago. Only the run's start is warmed: a guest that the procedure
reboots (cold, os) refills its cache under load from the throttled disk,
which is what those procedures measure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from rejuv.lab.errors import LabError
from rejuv.lab.load import LoadClient
from rejuv.lab.vmbase import VMBase, VMHost

__all__ = ["fill_limit", "fill_page_caches"]

FILL_SLACK = 60.0  #: s the fill may take beyond one per MB of files (unthrottled it takes about 0.5 s)


def fill_limit(files: int, file_kb: int) -> float:
    """Seconds :func:`fill_page_caches` waits for ``files`` of ``file_kb`` KB before it gives up."""
    return FILL_SLACK + files * file_kb / 1024


async def fill_page_caches(
    host: VMHost, vms: Sequence[VMBase], files: int, file_kb: int, disk_bps: int, timeout: float
) -> float:
    """Have each of ``vms`` (``host``'s first) serve each of its ``files`` once; the seconds it took.

    Their data disks are unthrottled meanwhile and throttled to ``disk_bps`` again after. Raises
    :class:`LabError` (``warm-up``) naming the VMs that had not served every file within :func:`fill_limit`.
    """
    limit = fill_limit(files, file_kb)
    await asyncio.gather(*(vm.set_disk_rate(0) for vm in vms))
    client = LoadClient(host, len(vms), 0.0, files, timeout, limit, one_pass=True)
    began = await client.start(delay=0.0)
    try:
        await client.finished()
    finally:
        await client.close()
    took = time.monotonic() - began
    served = [{r.file for r in client.requests if r.vm == vm and r.ok} for vm in range(len(vms))]
    short = [f"{vm.name} {len(done)}" for vm, done in zip(vms, served, strict=True) if len(done) < files]
    if short:  # the run ends here, its VMs with it: no throttle to restore
        why = f"not every file served within {limit:.0f} s ({', '.join(short)} of {files}); is a guest down?"
        raise LabError("warm-up", why)
    await asyncio.gather(*(vm.set_disk_rate(disk_bps) for vm in vms))
    return took
