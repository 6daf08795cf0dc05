"""The open-loop load client's worker process, run inside the host's namespace.

``python -m rejuv.lab.loadgen CONFIG_JSON`` sends, to each target VM ``v``,
request ``k`` at ``start_at + (k + v / len(targets)) / rate`` (monotonic clock,
which the parent shares), for file ``k mod files`` in order, as httperf does:
each request is a new TCP connection carrying ``GET <path> HTTP/1.0``, and a
late or failing reply never delays the next request (open loop). It writes one
JSON line per finished request to stdout::

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
from typing import Any

__all__ = ["main"]


async def _request(host: str, path: str, timeout: float) -> tuple[int, int, str]:
    """(HTTP status or 0, body bytes, error text) of one GET on a new connection."""
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, 80)
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
    rate = float(config["rate"])
    files = int(config["files"])
    start_at = float(config["start_at"])
    deadline = start_at + float(config["duration"])
    timeout = float(config["timeout"])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    lateness: list[float] = []
    in_flight: set[asyncio.Task[None]] = set()

    async def one(vm: int, seq: int, scheduled: float) -> None:
        start = time.monotonic()
        lateness.append(start - scheduled)
        path = config["path"].format(file=seq % files)
        status, size, error = await _request(targets[vm], path, timeout)
        record = {"vm": vm, "seq": seq, "file": seq % files, "scheduled": scheduled, "start": start}
        _emit({**record, "end": time.monotonic(), "status": status, "bytes": size, "error": error})

    seq = 0
    while not stop.is_set():
        for vm in range(len(targets)):
            scheduled = start_at + (seq + vm / len(targets)) / rate
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


def main(argv: list[str]) -> int:
    """Run the worker with the JSON configuration in ``argv[1]``."""
    asyncio.run(_run(json.loads(argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
