"""Writing files atomically: an output appears whole or not at all.

:func:`atomic_write` writes to a temporary file in the destination's folder
and renames it over the destination (:func:`os.replace`, atomic on POSIX), so
a failure half-way leaves neither a partial file nor a stray temporary one, and
an existing file is kept until the new one is complete. Every part of rejuv
that writes a user's file goes through it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write"]

_MODE = 0o644  # what a plain open() would give under the usual umask


@contextlib.contextmanager
def atomic_write(path: Path | str, mode: str = "w") -> Iterator[IO[Any]]:
    """A stream that becomes ``path`` when the block ends, and vanishes if it raises.

    ``mode`` is ``"w"`` (UTF-8 text, newlines untranslated) or ``"wb"``. The
    folder must exist; if it does not, the :class:`OSError` names ``path``,
    not the temporary file.
    """
    target = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise OSError(err.errno, err.strerror, str(target)) from err
    try:
        os.fchmod(handle, _MODE)  # mkstemp's 0o600 would be kept by the rename
        binary = "b" in mode
        with os.fdopen(handle, mode, newline=None if binary else "", encoding=None if binary else "utf-8") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
