"""Every script in figures/ reproduces its committed numbers, and writes exactly the files committed."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

FIGURES = Path(__file__).resolve().parent.parent / "figures"
#: Each script and the files it writes beside itself.
SCRIPTS = {
    "figure7.py": ("figure7.png", "figure7.csv", "figure7-crossovers.json"),
    "timelines.py": ("figure1.png", "figure1.csv", "figure2.png", "figure2.csv"),
    "phase_map_intervals.py": ("phase_map_intervals.png", "phase_map_intervals.csv"),
    "phase_map_downtimes.py": ("phase_map_downtimes.png", "phase_map_downtimes.csv", "phase_map_downtimes.json"),
    "traces.py": (
        "figure3-warm.png",
        "figure3-cold.png",
        "figure4-os.png",
        "figure5-stop-and-copy.png",
        "figure5-live.png",
        "figure6-live-rate-control.png",
        "traces.json",
    ),
    "sim_timeline.py": ("sim_timeline.png", "sim_timeline.csv", "sim_timeline.json"),
    "sim_figure7.py": ("sim_figure7.png", "sim_figure7.csv"),
}
RTOL = 1e-9  # numbers may differ in the last bits between machines, never more
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_LIMIT = 300_000  # bytes: small enough to commit


def load(script: str) -> ModuleType:
    """Import figures/<script> as a module, without running its __main__ block."""
    spec = importlib.util.spec_from_file_location(f"figure_script_{Path(script).stem}", FIGURES / script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def same_cell(committed: str, rerun: str) -> bool:
    """Numbers agree to RTOL; any other text exactly."""
    try:
        a, b = float(committed), float(rerun)
    except ValueError:
        return committed == rerun
    return math.isclose(a, b, rel_tol=RTOL, abs_tol=1e-300)


def same_json(committed: Any, rerun: Any) -> bool:
    """Floats agree to RTOL; everything else (keys, text, whole numbers, null) exactly."""
    if isinstance(committed, dict) and isinstance(rerun, dict):
        return committed.keys() == rerun.keys() and all(same_json(committed[k], rerun[k]) for k in committed)
    if isinstance(committed, list) and isinstance(rerun, list):
        return len(committed) == len(rerun) and all(same_json(a, b) for a, b in zip(committed, rerun, strict=True))
    if isinstance(committed, float) or isinstance(rerun, float):
        return isinstance(committed, int | float) and math.isclose(committed, rerun, rel_tol=RTOL, abs_tol=1e-300)
    return bool(committed == rerun) and type(committed) is type(rerun)


def data_lines(path: Path) -> list[str]:
    """A CSV's lines after its ``#`` provenance comments (which hold the date and the machine)."""
    lines = path.read_text().splitlines(keepends=True)
    return [line for line in lines if not line.startswith("#")]


def without_provenance(document: dict[str, Any]) -> dict[str, Any]:
    """A JSON document without its ``provenance`` object (the date and the machine change)."""
    return {key: value for key, value in document.items() if key != "provenance"}


@pytest.fixture(scope="module")
def reruns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each script run once into its own fresh folder."""
    folders = {}
    for script in SCRIPTS:
        out = tmp_path_factory.mktemp(Path(script).stem)
        assert load(script).main(["--out", str(out)]) == 0
        folders[script] = out
    return folders


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_figure_script_writes_exactly_its_committed_files(script: str, reruns: dict[str, Path]) -> None:
    """A script writes the files listed for it, nothing else, and each of them is committed in figures/."""
    assert sorted(path.name for path in reruns[script].iterdir()) == sorted(SCRIPTS[script])
    for name in SCRIPTS[script]:
        assert (FIGURES / name).is_file(), f"figures/{name} is not committed; run figures/{script}"


@pytest.mark.parametrize(
    ("script", "name"), [(s, n) for s, names in SCRIPTS.items() for n in names if n.endswith(".csv")]
)
def test_figure_csv_matches_the_committed_one(script: str, name: str, reruns: dict[str, Path]) -> None:
    """Rerunning the script gives the committed CSV: same rows and text, numbers to a relative 1e-9."""
    committed = list(csv.reader(data_lines(FIGURES / name)))
    rerun = list(csv.reader(data_lines(reruns[script] / name)))
    assert committed[0] == rerun[0]
    assert len(committed) == len(rerun)
    for row, (old, new) in enumerate(zip(committed, rerun, strict=True)):
        assert len(old) == len(new) and all(same_cell(a, b) for a, b in zip(old, new, strict=True)), (name, row)


@pytest.mark.parametrize(
    ("script", "name"), [(s, n) for s, names in SCRIPTS.items() for n in names if n.endswith(".json")]
)
def test_figure_json_matches_the_committed_one(script: str, name: str, reruns: dict[str, Path]) -> None:
    """Rerunning the script gives the committed JSON: same keys, text and counts, numbers to a relative 1e-9."""
    committed = json.loads((FIGURES / name).read_text())
    rerun = json.loads((reruns[script] / name).read_text())
    assert same_json(without_provenance(committed), without_provenance(rerun))


@pytest.mark.parametrize(
    ("script", "name"), [(s, n) for s, names in SCRIPTS.items() for n in names if n.endswith(".png")]
)
def test_figure_png_is_a_small_png(script: str, name: str, reruns: dict[str, Path]) -> None:
    """Each figure is a PNG, committed and rerun, under 300 kB."""
    for folder in (FIGURES, reruns[script]):
        data = (folder / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) < PNG_LIMIT, (folder, name, len(data))


def test_figure7_committed_crossovers_are_the_papers() -> None:
    """figures/figure7-crossovers.json holds the paper's crossovers: 11,249, 11,190 and 25,332 hosts past Cold-VM Reboot."""
    document = json.loads((FIGURES / "figure7-crossovers.json").read_text())
    found = {(c["strategy"], c["overtakes"]): c["hosts"] for c in document["crossovers"]}
    assert found[("migration", "cold")] == 11_249
    assert found[("live", "cold")] == 11_190
    assert found[("live_rate_control", "cold")] == 25_332
    assert all(hosts is None for (_, beaten), hosts in found.items() if beaten == "warm")


def test_figures_3_to_6_measure_back_the_preset_they_were_made_from() -> None:
    """figures/traces.json: downtimes within 2 s, periods and rates within 10%, γ and γ' within 0.02 of the preset."""
    document = json.loads((FIGURES / "traces.json").read_text())
    for stem in ("figure3-warm", "figure3-cold", "figure4-os"):
        downtime, rate, period = document[stem].values()
        assert abs(downtime["measured"] - downtime["preset"]) <= 2.0, stem
        assert abs(rate["measured"] - rate["preset"]) <= 0.1 * rate["preset"], stem
        assert abs(period["measured"] - period["preset"]) <= 0.1 * period["preset"], stem
    for stem in ("figure5-stop-and-copy", "figure5-live", "figure6-live-rate-control"):
        gamma = document[stem]["degradation_rate"]
        assert abs(gamma["measured"] - gamma["preset"]) <= 0.02, stem


@pytest.mark.parametrize(
    ("script", "name"), [(s, n) for s, names in SCRIPTS.items() for n in names if not n.endswith(".png")]
)
def test_each_committed_figure_file_says_which_script_made_it(script: str, name: str) -> None:
    """A committed CSV's comments or JSON's provenance name rejuv's version, the date, the machine and figures/<script>."""
    path = FIGURES / name
    if name.endswith(".csv"):
        comments = [line for line in path.read_text().splitlines() if line.startswith("#")]
        assert comments[0].startswith("# made by rejuv ")
        assert f"# command: python figures/{script}" in comments
        assert any(line.startswith("# machine: {") for line in comments)
    else:
        made = json.loads(path.read_text())["provenance"]
        assert made["command"] == f"python figures/{script}"
        assert made["rejuv"] and made["created"] and made["machine"]["cpu"]
