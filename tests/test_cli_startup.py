"""Start-up: each command imports only what it uses, and a missing extra is named, not a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rejuv.cli.main import COMMANDS, EXTRAS, main

SRC = Path(__file__).resolve().parents[1] / "src"
HEAVY = ("matplotlib", "scipy", "dask", "distributed", "qemu.qmp", "pyarrow", "pandas", "tqdm")


def _imported_by(*argv: str) -> set[str]:
    """The modules in sys.modules after ``rejuv argv`` ran in a fresh interpreter."""
    script = (
        "import json, sys\nfrom rejuv.cli.main import main\n"
        f"main({list(argv)!r})\nsys.stderr.write(json.dumps(sorted(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    return set(json.loads(done.stderr.splitlines()[-1]))


def test_help_imports_no_command_and_not_numpy() -> None:
    """rejuv --help lists every command without importing any command's module, nor numpy."""
    modules = _imported_by("--help")
    assert not {f"{spec.module}" for spec in COMMANDS.values()} & modules
    assert "numpy" not in modules


def test_compare_imports_none_of_the_heavy_libraries() -> None:
    """rejuv compare --json imports no plotting, fitting, cluster, QEMU or Parquet library."""
    modules = _imported_by("compare", "--json", "--hosts", "2")
    assert not [name for name in HEAVY if name in modules]


def test_params_and_synth_import_only_what_they_use(tmp_path: Path) -> None:
    """rejuv params imports none of the heavy libraries, and rejuv synth none but numpy (no scipy, no plotting)."""
    assert not [name for name in HEAVY if name in _imported_by("params", "--json")]
    synth = _imported_by("synth", "--out", str(tmp_path / "w.trace"))
    assert not [name for name in HEAVY if name in synth]


@pytest.mark.parametrize("command", sorted(EXTRAS))
def test_a_missing_extra_is_named_with_its_install_command(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A command whose extra is not installed says which one and how to install it, exit 2, no traceback."""
    extra, modules = EXTRAS[command]
    for module in modules:
        monkeypatch.setitem(sys.modules, module.split(".")[0], None)
        monkeypatch.setitem(sys.modules, module, None)
    assert main([command, "--help"]) == 2
    assert capsys.readouterr().err == f"error: {command}: needs rejuv[{extra}]: pip install 'rejuv[{extra}]'\n"


def test_every_extra_is_declared_in_pyproject_and_installed_by_make_test() -> None:
    """Each command's extra is an optional dependency, and the Makefile's install line installs it."""
    root = SRC.parent
    pyproject = (root / "pyproject.toml").read_text()
    makefile = (root / "Makefile").read_text()
    for extra, _ in EXTRAS.values():
        assert f"\n{extra} = [" in pyproject
        assert extra in makefile.split("pip install --quiet -e '.[", 1)[1].split("]", 1)[0].split(",")
