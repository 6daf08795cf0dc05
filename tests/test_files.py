"""Every file rejuv writes appears whole or not at all."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rejuv.files import atomic_write


def test_a_completed_write_gives_the_file_with_ordinary_permissions(tmp_path: Path) -> None:
    """The file has the written text, mode 0644, and no temporary file stays beside it."""
    with atomic_write(tmp_path / "out.txt") as stream:
        stream.write("a\nb\n")
    assert (tmp_path / "out.txt").read_text() == "a\nb\n"
    assert stat.S_IMODE((tmp_path / "out.txt").stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_write_that_raises_leaves_the_old_file_and_nothing_else(tmp_path: Path) -> None:
    """An exception inside the block removes the temporary file and keeps the previous content."""
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target, "wb") as stream:
        stream.write(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_missing_folder_is_an_error_naming_the_destination(tmp_path: Path) -> None:
    """The error names the file the user asked for, not rejuv's temporary file."""
    target = tmp_path / "absent" / "out.txt"
    with pytest.raises(FileNotFoundError) as caught, atomic_write(target):
        pass
    assert caught.value.filename == str(target)


def test_a_device_is_written_through_and_stays_a_device(tmp_path: Path) -> None:
    """--out naming a character device (a null device made with mknod) writes into it and never replaces it."""
    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    with atomic_write(device, "wb") as stream:
        stream.write(b"discarded")
    assert stat.S_ISCHR(device.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


def test_a_fifo_is_written_through_to_its_reader(tmp_path: Path) -> None:
    """A FIFO gets the bytes in order and stays a FIFO; no temporary file appears beside it."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    with atomic_write(fifo) as stream:
        stream.write("through the pipe\n")
    reader.join(timeout=10)
    assert received == [b"through the pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_a_symbolic_link_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    """Writing through a link replaces the file it points to; the link itself is kept."""
    real = tmp_path / "data" / "real.txt"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    with atomic_write(link) as stream:
        stream.write("new")
    assert link.is_symlink()
    assert real.read_text() == "new"
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.txt"]


def test_a_dangling_link_creates_its_target(tmp_path: Path) -> None:
    """As the shell's `>` does, a link to a file not yet made makes that file and keeps the link."""
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "made.txt")
    with atomic_write(link) as stream:
        stream.write("made")
    assert link.is_symlink()
    assert (tmp_path / "made.txt").read_text() == "made"


def test_a_folder_is_refused_with_its_name_and_the_reason(tmp_path: Path) -> None:
    """A destination that is a folder is an OSError naming it, and the folder is untouched."""
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(OSError, match="is a folder") as caught, atomic_write(folder):
        pass
    assert caught.value.filename == str(folder)
    assert folder.is_dir()
    assert list(folder.iterdir()) == []


def test_an_error_while_writing_names_the_destination_not_the_temporary_file(tmp_path: Path) -> None:
    """An OSError without a file name (a full disk) raised in the block is reported against the destination."""
    target = tmp_path / "out.txt"
    with pytest.raises(OSError) as caught, atomic_write(target):
        raise OSError(28, "No space left on device")
    assert caught.value.filename == str(target)
    assert caught.value.strerror == "No space left on device"
    assert list(tmp_path.iterdir()) == []


def test_the_next_write_removes_temporary_files_left_by_killed_processes(tmp_path: Path) -> None:
    """A temporary file of a process that is gone is removed; one of a live process and other files are kept."""
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    stale = tmp_path / f".out.txt.rejuv-{dead_pid}-abcd1234.tmp"
    live = tmp_path / f".out.txt.rejuv-{os.getpid()}-efgh5678.tmp"
    other = tmp_path / f".other.txt.rejuv-{dead_pid}-abcd1234.tmp"
    for path in (stale, live, other):
        path.write_text("left over")
    with atomic_write(tmp_path / "out.txt") as stream:
        stream.write("done")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.txt", live.name, other.name])


_SLOW_WRITER = """
import sys, time
import rejuv.cli.params
from rejuv.cli.main import main
from rejuv.files import atomic_write

def slow(args):
    with atomic_write(sys.argv[1]) as stream:
        stream.write("half")
        stream.flush()
        print("writing", flush=True)
        time.sleep(60)
    return 0

rejuv.cli.params.run = slow
sys.exit(main(["params"]))
"""


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """A command killed with SIGTERM while writing exits 130 saying so, and no file or temporary file remains."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(tmp_path / "out.txt")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "writing\n"
    assert any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert err == "error: interrupted\n"
    assert list(tmp_path.iterdir()) == []


def test_a_full_device_is_an_error_naming_it() -> None:
    """Writing into /dev/full fails with the device's name and the reason, and /dev/full stays a device."""
    if not Path("/dev/full").exists():
        pytest.skip("this system has no /dev/full")
    with pytest.raises(OSError) as caught, atomic_write("/dev/full") as stream:
        stream.write("x" * 100_000)
    assert caught.value.filename == "/dev/full"
    assert caught.value.strerror == "No space left on device"
    assert stat.S_ISCHR(Path("/dev/full").stat().st_mode)
