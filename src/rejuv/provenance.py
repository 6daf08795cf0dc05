"""Where a result came from: one collector for every file rejuv writes (as pyperf records its runs).

A :class:`Provenance` says how to make a result again: rejuv's version, the
command line, the parameters (their label and a hash of their values), the
seed where one applies, the date and the machine. The command line sets it
once per command (:func:`recording`); every writer asks :func:`current` and
stores it in its own way: comment lines at the top of a CSV or TOML file
(:meth:`Provenance.comment_lines`), a ``provenance`` object in JSON and in a
trace's metadata, text chunks in a PNG, key-value metadata in Parquet
(:meth:`Provenance.as_dict`).

A library caller that never calls :func:`recording` still gets the version,
the date, the machine and ``command = null``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import functools
import hashlib
import json
import os
import platform
import shlex
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rejuv import __version__

__all__ = ["Provenance", "current", "recording", "machine", "parameters_digest"]


@functools.cache
def machine() -> dict[str, str | int]:
    """The machine a result was made on: host name, CPU model, cores, memory, kernel, OS and Python."""
    return {
        "host": platform.node(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "memory_bytes": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def parameters_digest(values: Mapping[str, Any]) -> str:
    """A short SHA-256 of a parameter set's values (JSON, keys sorted): equal digests, equal parameters."""
    text = json.dumps(values, sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Provenance:
    """How a result was made. ``command`` is the argv after ``rejuv`` (None from a library call)."""

    command: tuple[str, ...] | None = None
    parameters: str | None = None  #: where the parameters came from (``kourai2008 + mine.toml + D_w=60s``)
    parameters_digest: str | None = None  #: :func:`parameters_digest` of their values
    seed: int | None = None
    created: str = field(default_factory=lambda: datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    rejuv: str = __version__

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready object: the fields above and the :func:`machine`."""
        return {
            "rejuv": self.rejuv,
            "created": self.created,
            "command": None if self.command is None else shlex.join(["rejuv", *self.command]),
            "parameters": self.parameters,
            "parameters_digest": self.parameters_digest,
            "seed": self.seed,
            "machine": machine(),
        }

    def comment_lines(self, prefix: str = "# ") -> list[str]:
        """Lines for the top of a CSV or TOML file, each starting ``prefix``."""
        made = self.as_dict()
        lines = [f"made by rejuv {self.rejuv} on {self.created}"]
        if made["command"] is not None:
            lines.append(f"command: {made['command']}")
        if self.parameters is not None:
            lines.append(f"parameters: {self.parameters} (digest {self.parameters_digest})")
        if self.seed is not None:
            lines.append(f"seed: {self.seed}")
        lines.append("machine: " + json.dumps(machine(), sort_keys=True))
        return [prefix + line for line in lines]


_CURRENT: contextvars.ContextVar[Provenance | None] = contextvars.ContextVar("rejuv_provenance", default=None)


def current() -> Provenance:
    """The provenance of what is being made now (a fresh one, with the date, outside :func:`recording`)."""
    found = _CURRENT.get()
    return Provenance() if found is None else found


@contextlib.contextmanager
def recording(command: Sequence[str] | None = None, **fields: Any) -> Iterator[Provenance]:
    """Within the block, :func:`current` is this provenance; nested blocks add fields (parameters, seed).

    ``command`` defaults to the process's own arguments.
    """
    outer = _CURRENT.get()
    if outer is None:
        argv = tuple(sys.argv[1:] if command is None else command)
        made = replace(Provenance(command=argv), **fields)
    else:
        made = replace(outer, **fields) if command is None else replace(outer, command=tuple(command), **fields)
    token = _CURRENT.set(made)
    try:
        yield made
    finally:
        _CURRENT.reset(token)
