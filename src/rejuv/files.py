"""Writing files atomically: an output appears whole or not at all, and nothing else is harmed.

:func:`atomic_write` writes a regular file through a temporary file in the
destination's folder and renames it over the destination (:func:`os.replace`,
atomic on POSIX), so a failure half-way leaves neither a partial file nor a
stray temporary one, and an existing file is kept until the new one is
complete. Every part of rejuv that writes a user's file goes through it.

The rename applies to regular files only. A destination that is something
else is never replaced:

- a symbolic link is followed, as the shell's ``>`` would: its target is
  replaced (or created), and the link stays a link;
- a device or a FIFO (``--out /dev/null``, ``--out /dev/stdout``) is written
  through, without a temporary file;
- a folder or a socket is refused with the reason.

The temporary file is named ``.NAME.rejuv-PID-XXXXXXXX.tmp``. It goes when
the write fails, is interrupted, or the process gets SIGTERM (the command line
turns SIGTERM into an exception); a SIGKILL leaves it, and the next write of
the same file removes every such file whose process is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_write", "FIGURE_FORMATS"]

#: The formats a figure file is written in, named by its suffix (here, so that the CLI needs no matplotlib to list them).
FIGURE_FORMATS = ("png", "pdf", "svg")

_MODE = 0o644  # what a plain open() would give under the usual umask


@contextlib.contextmanager
def atomic_write(path: Path | str, mode: str = "w") -> Iterator[IO[Any]]:
    """A stream that becomes ``path`` when the block ends, and vanishes if it raises.

    ``mode`` is ``"w"`` (UTF-8 text, newlines untranslated) or ``"wb"``. The
    folder must exist. Every :class:`OSError` raised here, or raised without a
    file name inside the block, names ``path`` (never the temporary file).
    """
    target = Path(path)
    binary = "b" in mode
    options: dict[str, Any] = {"newline": None, "encoding": None} if binary else {"newline": "", "encoding": "utf-8"}
    try:
        destination = _destination(target)
    except OSError as err:
        raise _naming(err, target) from err
    if destination.exists() and not destination.is_file():  # a device or a FIFO: write through
        try:
            stream = open(destination, mode, **options)  # noqa: SIM115 (closed below, errors renamed)
        except OSError as err:
            raise _naming(err, target) from err
        try:
            with stream:
                yield stream
        except OSError as err:  # a full device says so when the stream is flushed
            if err.filename is None:
                raise _naming(err, target) from err
            raise
        return
    try:
        _remove_stale_temporaries(destination)
        handle, temporary = tempfile.mkstemp(
            dir=destination.parent, prefix=f".{destination.name}.rejuv-{os.getpid()}-", suffix=".tmp"
        )
    except OSError as err:
        raise _naming(err, target) from err
    try:
        os.fchmod(handle, _MODE)  # mkstemp's 0o600 would be kept by the rename
        with os.fdopen(handle, mode, **options) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, destination)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(err, OSError) and (err.filename is None or err.filename == temporary):
            raise _naming(err, target) from err
        raise


def _destination(target: Path) -> Path:
    """The file that writing ``target`` changes: a link's target; refuses what cannot be written."""
    destination = Path(os.path.realpath(target)) if target.is_symlink() else target
    try:
        kind = destination.stat().st_mode
    except FileNotFoundError:
        if not destination.parent.is_dir():
            raise OSError(errno.ENOENT, "its folder does not exist", str(target)) from None
        return destination
    if stat.S_ISDIR(kind):
        raise OSError(errno.EISDIR, "is a folder, not a file", str(target))
    if stat.S_ISSOCK(kind):
        raise OSError(errno.EINVAL, "is a socket, not a file", str(target))
    return destination


def _remove_stale_temporaries(destination: Path) -> None:
    """Remove ``.NAME.rejuv-PID-*.tmp`` files of ``destination`` whose process no longer exists."""
    pattern = re.compile(rf"\.{re.escape(destination.name)}\.rejuv-(\d+)-[^/]*\.tmp")
    with contextlib.suppress(OSError):
        for entry in os.scandir(destination.parent):
            found = pattern.fullmatch(entry.name)
            if found and not _process_exists(int(found.group(1))):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _naming(err: OSError, target: Path) -> OSError:
    """``err`` again, naming ``target`` and always with a reason."""
    if err.strerror:
        reason = err.strerror
    elif err.errno:
        reason = os.strerror(err.errno)
    else:
        reason = str(err) or type(err).__name__
    return OSError(err.errno, reason, str(target))
