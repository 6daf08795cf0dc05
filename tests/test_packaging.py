"""Packaging: one source for the version, a licence, and an sdist from which the tests run."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path

import pytest

import rejuv

ROOT = Path(__file__).resolve().parents[1]
#: Fast test files run from the unpacked sdist: the units, the docs' tables and the CLI's start-up.
SDIST_TESTS = ("tests/test_units.py", "tests/test_docs.py", "tests/test_cli_startup.py")


def test_the_version_has_one_source() -> None:
    """pyproject.toml reads the version from rejuv.__version__ and states none of its own."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "rejuv.__version__"}


def test_the_licence_file_is_the_declared_licence() -> None:
    """LICENSE holds the MIT licence that pyproject.toml declares, and the sdist ships it."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert "LICENSE" in project["license-files"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


@pytest.mark.slow
def test_the_tests_run_from_the_sdist(tmp_path: Path) -> None:
    """python -m build --sdist makes an archive with the tests, and a few of them pass from the unpacked archive."""
    if importlib.util.find_spec("build") is None:
        pytest.skip("the 'build' package is missing: pip install 'rejuv[test]'")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (archive,) = tmp_path.glob("rejuv-*.tar.gz")
    assert archive.name == f"rejuv-{rejuv.__version__}.tar.gz"
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path, filter="data")
    unpacked = tmp_path / archive.name.removesuffix(".tar.gz")
    assert (unpacked / "LICENSE").is_file()
    assert all((unpacked / name).is_file() for name in SDIST_TESTS)
    env = {**os.environ, "PYTHONPATH": str(unpacked / "src")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *SDIST_TESTS],
        cwd=unpacked,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:]
