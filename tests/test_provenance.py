"""Every result rejuv writes says how to make it again: version, command, parameters, seed, date, machine.

The sweep's CSV and Parquet tables are checked in test_sim_sweep.py (they need a Dask cluster).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
from PIL import Image

from rejuv.cli.main import main
from rejuv.provenance import Provenance, current, machine, note, parameters_digest, recording


def run(*argv: str) -> str:
    """``rejuv ARGV`` in this process; its stdout (the command must succeed)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(list(argv)) == 0
    return out.getvalue()


def check(made: dict[str, Any], command: str) -> None:
    """A provenance object names rejuv's version, the whole command, a date and the machine."""
    assert made["rejuv"] == Provenance().rejuv
    assert made["command"] == command
    assert made["created"].startswith("20") and "T" in made["created"]
    assert made["machine"] == machine()


def comments(path: Path) -> list[str]:
    """The ``#`` lines at the top of a CSV or TOML file."""
    return [line for line in path.read_text().splitlines() if line.startswith("#")]


def test_json_printed_by_compare_params_and_validate_carries_the_command_and_parameters() -> None:
    """compare, params and validate --json hold a provenance object with the parameters' label and digest."""
    commands = [
        ["compare", "--json", "--hosts", "2,10"],
        ["params", "--json", "--set", "D_w=60s"],
        ["validate", "--json", "--hosts", "2", "--strategies", "warm", "--periods", "1"],
    ]
    for argv in commands:
        made = json.loads(run(*argv))["provenance"]
        check(made, "rejuv " + " ".join(argv))
        assert made["parameters"] == ("kourai2008 + D_w=60s" if "D_w=60s" in argv else "kourai2008")
        assert len(made["parameters_digest"]) == 16
    assert json.loads(run(*commands[2]))["provenance"]["seed"] == 0


def test_the_parameters_digest_tells_parameter_sets_apart() -> None:
    """The same values give the same digest, from a preset or a --set that changes nothing; another value another."""
    digest = [
        json.loads(run("params", "--json", *extra))["provenance"]["parameters_digest"]
        for extra in (
            [],
            ["--set", "D_w=59s"],
            ["--set", "D_w=60s"],
        )
    ]
    assert digest[0] == digest[1] != digest[2]


def test_reproduce_writes_provenance_into_every_csv_json_and_png(tmp_path: Path) -> None:
    """Each CSV opens with comment lines naming the command and parameters, each JSON and PNG holds the object."""
    run("reproduce", "--out-dir", str(tmp_path))
    command = f"rejuv reproduce --out-dir {tmp_path}"
    for path in sorted(tmp_path.iterdir()):
        if path.suffix == ".csv":
            lines = comments(path)
            assert lines[:2] == [lines[0], f"# command: {command}"] and lines[0].startswith("# made by rejuv ")
            assert "# parameters: kourai2008 (digest " in lines[2]
            assert lines[-1] == "# machine: " + json.dumps(machine(), sort_keys=True)
        elif path.suffix == ".json":
            check(json.loads(path.read_text())["provenance"], command)
        else:
            with Image.open(path) as image:
                text = dict(image.text)
            check(json.loads(text["Comment"]), command)
            assert text["Source"].startswith("rejuv ")


def test_synth_and_plot_trace_and_fit_say_how_their_files_were_made(tmp_path: Path) -> None:
    """A synthetic trace holds its seed and parameters, its plot the plot command, a fitted file its command."""
    trace, figure, fitted = tmp_path / "w.trace", tmp_path / "w.png", tmp_path / "mine.toml"
    run("synth", "--kind", "warm", "--seed", "7", "--out", str(trace))
    with zipfile.ZipFile(trace) as archive, archive.open("meta.npy") as member:
        meta = json.loads(str(np.lib.format.read_array(member)))
    check(meta["provenance"], f"rejuv synth --kind warm --seed 7 --out {trace}")
    assert meta["provenance"]["seed"] == 7 and meta["provenance"]["parameters"] == "kourai2008"
    run("plot-trace", str(trace), "--out", str(figure))
    with Image.open(figure) as image:
        check(json.loads(image.text["Comment"]), f"rejuv plot-trace {trace} --out {figure}")
    run("fit", str(trace), "--out", str(fitted))
    assert f"# command: rejuv fit {trace} --out {fitted}" in comments(fitted)
    assert run("compare", "--params", str(fitted))  # the comments leave the file readable


def test_phase_map_csv_names_its_grid_command(tmp_path: Path) -> None:
    """A phase map's CSV says which axes and points made it."""
    argv = ["phase-map", "--x", "T_vmm=1d:90d", "--y", "T_os=1d:90d", "--points", "3", "--out-dir", str(tmp_path)]
    run(*argv)
    (table,) = tmp_path.glob("*.csv")
    assert f"# command: rejuv {' '.join(argv)}" in comments(table)


def _pdf_subject(path: Path) -> str:
    """The ``/Subject`` string of a PDF's information dictionary, unescaped."""
    found = re.search(rb"/Subject \((.*?)(?<!\\)\)", path.read_bytes(), re.DOTALL)
    assert found is not None, f"{path} has no /Subject"
    return re.sub(rb"\\(.)", rb"\1", found.group(1)).decode()


def _svg_metadata(path: Path) -> dict[str, str]:
    """The Dublin Core fields of an SVG's ``<metadata>``, by name."""
    fields = {}
    for element in ElementTree.parse(path).iter():
        namespace, _, name = element.tag.rpartition("}")
        if namespace == "{http://purl.org/dc/elements/1.1/" and element.text:
            fields[name] = element.text
    return fields


def test_pdf_and_svg_figures_carry_the_provenance_in_their_metadata(tmp_path: Path) -> None:
    """--format pdf puts the provenance in the PDF's Subject and rejuv's version in its Keywords; svg in its metadata."""
    for kind in ("pdf", "svg"):
        out = tmp_path / kind
        argv = ["phase-map", "--x", "T_vmm=1d:90d", "--y", "T_os=1d:90d", "--points", "3", "--out-dir", str(out)]
        run(*argv, "--format", kind)
        (figure,) = out.glob(f"*.{kind}")
        command = f"rejuv {' '.join(argv)} --format {kind}"
        if kind == "pdf":
            check(json.loads(_pdf_subject(figure)), command)
            assert f"/Keywords (rejuv {Provenance().rejuv})".encode() in figure.read_bytes()
        else:
            fields = _svg_metadata(figure)
            check(json.loads(fields["description"]), command)
            assert fields["source"] == f"rejuv {Provenance().rejuv}"


def test_outside_a_command_the_provenance_is_the_process_and_notes_are_ignored() -> None:
    """A library caller gets the process's command line and no parameters; note() outside recording changes nothing."""
    note(seed=3)
    assert current().seed is None and current().command[0] == "python"
    with recording(["rejuv", "x"]):
        note(seed=3)
        assert current().seed == 3
    assert current().seed is None


def test_a_digest_covers_every_field_of_a_parameter_set(paper: Any) -> None:
    """Changing a Table 1 curve, not only a number, changes the digest."""
    from rejuv.model import load_preset

    other = load_preset().replace(live_migration_profile=paper.stop_and_copy_profile)
    assert parameters_digest(paper) == parameters_digest(load_preset())
    assert parameters_digest(other) != parameters_digest(paper)


def test_comment_lines_are_comments_in_csv_and_toml() -> None:
    """Every provenance line starts with '#', so CSV and TOML readers skip it."""
    with recording(["rejuv", "compare"]):
        note(parameters="kourai2008", parameters_digest="0" * 16, seed=1)
        lines = current().comment_lines()
    assert all(line.startswith("# ") and "\n" not in line for line in lines)
    assert "# seed: 1" in lines
