"""Where a result came from: one collector for every file rejuv writes (as pyperf records its runs).

A :class:`Provenance` says how to make a result again: rejuv's version, the
command line, the parameters (their label and a digest of their values), the
seed where one applies, the date and the machine. The command line sets it
once per command (:func:`recording`, then :func:`note` as it learns the
parameters); every writer asks :func:`current` and stores it in its own way:
comment lines at the top of a CSV or TOML file
(:meth:`Provenance.comment_lines`), a ``provenance`` object in JSON and in a
trace's meta document (:func:`stamp`), a text chunk in a PNG, key-value
metadata in Parquet (:meth:`Provenance.as_json`).

Outside :func:`recording` (a figure script, a notebook) the command is the
process's own command line.
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

__all__ = ["Provenance", "current", "recording", "note", "stamp", "machine", "parameters_digest"]


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


def parameters_digest(params: object) -> str:
    """A short SHA-256 of a parameter set's values (every field, arrays in full): equal digests, equal values."""
    fields = {
        name: value.tolist() if hasattr(value, "tolist") else repr(value)
        for name, value in sorted(vars(params).items())
    }
    text = json.dumps(fields, sort_keys=True, default=repr, allow_nan=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Provenance:
    """How a result was made: ``command`` is the whole command line (``rejuv compare --json``)."""

    command: tuple[str, ...] = field(default_factory=lambda: ("python", *sys.argv))
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
            "command": shlex.join(self.command),
            "parameters": self.parameters,
            "parameters_digest": self.parameters_digest,
            "seed": self.seed,
            "machine": machine(),
        }

    def comment_lines(self, prefix: str = "# ") -> list[str]:
        """Lines for the top of a CSV or TOML file, each starting ``prefix``."""
        made = self.as_dict()
        lines = [f"made by rejuv {self.rejuv} on {self.created}", f"command: {made['command']}"]
        if self.parameters is not None:
            lines.append(f"parameters: {self.parameters} (digest {self.parameters_digest})")
        if self.seed is not None:
            lines.append(f"seed: {self.seed}")
        lines.append("machine: " + json.dumps(machine(), sort_keys=True))
        return [prefix + line for line in lines]

    def as_json(self) -> str:
        """:meth:`as_dict` as one line of JSON (a PNG text chunk, Parquet metadata)."""
        return json.dumps(self.as_dict(), sort_keys=True)


_CURRENT: contextvars.ContextVar[Provenance | None] = contextvars.ContextVar("rejuv_provenance", default=None)


def current() -> Provenance:
    """The provenance of what is being made now (a fresh one, dated now, outside :func:`recording`)."""
    found = _CURRENT.get()
    return Provenance() if found is None else found


@contextlib.contextmanager
def recording(command: Sequence[str]) -> Iterator[Provenance]:
    """Within the block, :func:`current` is the provenance of ``command`` (the whole command line), dated now."""
    token = _CURRENT.set(Provenance(command=tuple(command)))
    try:
        yield current()
    finally:
        _CURRENT.reset(token)


def note(**fields: Any) -> None:
    """Add what a command has learned (``parameters=``, ``parameters_digest=``, ``seed=``) to the current provenance.

    Does nothing outside :func:`recording`; the block's end forgets it.
    """
    found = _CURRENT.get()
    if found is not None:
        _CURRENT.set(replace(found, **fields))


def stamp(document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` with a ``provenance`` object added (the current provenance)."""
    return {**document, "provenance": current().as_dict()}
