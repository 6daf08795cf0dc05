"""The load client's worker process, run inside the host's namespace.

``python -m rejuv.lab.loadgen CONFIG_JSON`` loads each target VM in one of three ways,
for file ``k mod files`` in order with request ``k``, each request a new TCP
connection carrying ``GET <path> HTTP/1.0``:

- open loop (``rate``, as httperf does): request ``k`` to VM ``v`` goes at
  ``start_at + (k + v / len(targets)) / rate`` (monotonic clock, which the
  parent shares); a late or failing reply never delays the next request.
- closed loop (``concurrency`` C): C slots per VM, each sending its next request
  as soon as its last one ended, so a VM always has C requests in flight and its
  replies per second are its capacity. After a failed request a slot waits
  ``retry_delay`` s before the next (no spinning on a VM that is down), and a
  connection not made within ``connect_timeout`` s fails (a SYN lost to a VM that
  is moving is retransmitted only after 1 s: the slot tries a new one sooner).
- one pass (``one_pass``): each VM is asked for each of its files once, in
  order, one request at a time, a failed one sent again after ``retry_delay``
  s, and the worker ends once every VM has served them all (or at
  ``duration``): it fills the guests' page caches before a measured load.

Each VM listens on port 80 (``port`` in the configuration: a test's local server).
It writes one JSON line per finished request to stdout (``scheduled``: when the
schedule, or the slot, sent it)::

    {"vm": 0, "seq": 12, "file": 12, "scheduled": ..., "start": ..., "end": ..., "status": 200, "bytes": 131072,
     "error": ""}

and, when SIGTERM or SIGINT asks it to stop (or ``duration`` runs out), waits
for the requests in flight and writes a last line ``{"summary": {...}}`` with
its own CPU time and send lateness, from which the parent derives the
client's limit. It imports nothing from rejuv, to start fast.
"""

from __future__ import annotations

import asyncio
import json
import resource
import signal
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["main"]

_Send = Callable[[int, int, float], Coroutine[Any, Any, bool]]  #: (vm, seq, scheduled): send, record, whether served


async def _request(host: str, port: int, path: str, timeout: float, connect_timeout: float) -> tuple[int, int, str]:
    """(HTTP status or 0, body bytes, error text) of one GET on a new connection."""
    writer = None
    try:
        async with asyncio.timeout(timeout):
            async with asyncio.timeout(connect_timeout):
                reader, writer = await asyncio.open_connection(host, port)
            writer.write(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            body = await reader.read()
        status_line = head.split(b"\r\n", 1)[0].split()
        status = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
        return status, len(body), "" if status else "bad status line"
    except TimeoutError:
        return 0, 0, "timeout"
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as err:
        return 0, 0, type(err).__name__
    finally:
        if writer is not None:
            writer.close()


def _emit(record: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


async def _run(config: dict[str, Any]) -> None:
    targets: list[str] = config["targets"]
    files = int(config["files"])
    start_at = float(config["start_at"])
    deadline = start_at + float(config["duration"])
    timeout = float(config["timeout"])
    connect_timeout = float(config.get("connect_timeout", timeout))
    port = int(config.get("port", 80))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    lateness: list[float] = []

    async def one(vm: int, seq: int, scheduled: float) -> bool:
        """Send request ``seq`` to ``vm``, write its record; whether it succeeded."""
        start = time.monotonic()
        lateness.append(start - scheduled)
        path = config["path"].format(file=seq % files)
        status, size, error = await _request(targets[vm], port, path, timeout, connect_timeout)
        record = {"vm": vm, "seq": seq, "file": seq % files, "scheduled": scheduled, "start": start}
        _emit({**record, "end": time.monotonic(), "status": status, "bytes": size, "error": error})
        return status == 200

    if config.get("one_pass"):
        await _one_pass(len(targets), files, float(config["retry_delay"]), one, start_at, deadline, stop)
    elif config.get("concurrency") is not None:
        await _closed_loop(
            len(targets), int(config["concurrency"]), float(config["retry_delay"]), one, start_at, deadline, stop
        )
    else:
        await _open_loop(len(targets), float(config["rate"]), one, start_at, deadline, stop)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    lateness.sort()
    summary = {
        "requests": len(lateness),
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "lateness_median": lateness[len(lateness) // 2] if lateness else 0.0,
        "lateness_p99": lateness[int(len(lateness) * 0.99)] if lateness else 0.0,
        "lateness_max": lateness[-1] if lateness else 0.0,
    }
    _emit({"summary": summary})


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep ``seconds`` unless ``stop`` is set first; whether it was."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def _closed_loop(
    vms: int,
    concurrency: int,
    retry_delay: float,
    one: _Send,
    start_at: float,
    deadline: float,
    stop: asyncio.Event,
) -> None:
    """``concurrency`` slots per VM, each sending the VM's next file as soon as its last request ended."""
    next_seq = [0] * vms  # shared by a VM's slots: its files stay in order

    async def slot(vm: int) -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            seq, next_seq[vm] = next_seq[vm], next_seq[vm] + 1
            if not await one(vm, seq, time.monotonic()) and await _sleep_unless(stop, retry_delay):
                return

    if await _sleep_unless(stop, max(0.0, start_at - time.monotonic())):
        return
    await asyncio.gather(*(slot(vm) for vm in range(vms) for _ in range(concurrency)))


async def _one_pass(
    vms: int,
    files: int,
    retry_delay: float,
    one: _Send,
    start_at: float,
    deadline: float,
    stop: asyncio.Event,
) -> None:
    """Each VM's files once, in order, one at a time, each sent again until it is served."""

    async def pass_over(vm: int) -> None:
        for seq in range(files):
            while not stop.is_set() and time.monotonic() < deadline:
                if await one(vm, seq, time.monotonic()):
                    break
                if await _sleep_unless(stop, retry_delay):
                    return

    if await _sleep_unless(stop, max(0.0, start_at - time.monotonic())):
        return
    await asyncio.gather(*(pass_over(vm) for vm in range(vms)))


async def _open_loop(
    vms: int,
    rate: float,
    one: _Send,
    start_at: float,
    deadline: float,
    stop: asyncio.Event,
) -> None:
    """Request ``k`` to VM ``v`` at ``start_at + (k + v / vms) / rate``, whatever became of the earlier ones."""
    in_flight: set[asyncio.Task[bool]] = set()
    seq = 0
    while not stop.is_set():
        for vm in range(vms):
            scheduled = start_at + (seq + vm / vms) / rate
            if scheduled >= deadline:
                stop.set()
                break
            delay = scheduled - time.monotonic()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    break
                except TimeoutError:
                    pass
            task = asyncio.create_task(one(vm, seq, scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        seq += 1
    if in_flight:
        await asyncio.gather(*in_flight)


def main(argv: list[str]) -> int:
    """Run the worker with the JSON configuration in ``argv[1]``."""
    asyncio.run(_run(json.loads(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
