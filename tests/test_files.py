"""Every file rejuv writes appears whole or not at all."""

from __future__ import annotations

import stat
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
