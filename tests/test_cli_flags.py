"""One meaning per flag: renamed options keep their old spelling with a warning, and every drawing command takes --format."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from rejuv.cli.main import build_parser, main
from rejuv.cli.sweep import settle_formats

#: (command, arguments it needs, old spelling, new spelling, value, destination): an old spelling of a renamed option.
RENAMED = [
    ("reproduce", [], "--out", "--out-dir", "somewhere", "out"),
    ("phase-map", ["--x", "T_vmm=1d:9d", "--y", "T_os=1d:9d"], "--out", "--out-dir", "somewhere", "out"),
    ("sweep", [], "--out", "--out-dir", "somewhere", "out"),
    ("sweep", [], "--spare-counts", "--spares", "1,2", "spare_counts"),
    ("synth", ["--out", "x.trace"], "--load", "--rate", "5", "rate"),
    ("validate", [], "--load", "--load-fraction", "0.5", "load_fraction"),
    ("validate", [], "--tolerance", "--loss-tolerance", "0.1", "tolerance"),
    ("fit", ["x.trace"], "--tolerance", "--recovery-tolerance", "0.1", "tolerance"),
]


def _parse(command: str, argv: list[str]) -> argparse.Namespace:
    return build_parser([command]).parse_args([command, *argv])


@pytest.mark.parametrize(("command", "needed", "old", "new", "value", "dest"), RENAMED)
def test_an_old_spelling_still_works_and_warns_naming_the_new_one(
    command: str, needed: list[str], old: str, new: str, value: str, dest: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A renamed option's old spelling sets the same value as the new one, with one warning on stderr naming it."""
    with_new = _parse(command, [*needed, new, value])
    assert capsys.readouterr().err == ""
    with_old = _parse(command, [*needed, old, value])
    assert capsys.readouterr().err == f"warning: {old} is deprecated; use {new} (same value)\n"
    assert getattr(with_old, dest) == getattr(with_new, dest)
    assert str(getattr(with_new, dest)) != str(getattr(_parse(command, needed), dest))  # the option was not ignored


def test_sweep_has_one_spares_option_and_no_other_is_ignored() -> None:
    """rejuv sweep takes its spare counts from --spares (one or several), not from a second flag it would ignore."""
    assert _parse("sweep", ["--spares", "3"]).spare_counts == "3"
    assert "spares" not in vars(_parse("sweep", []))


def test_sweep_format_is_the_figure_s_and_an_old_table_format_warns(capsys: pytest.CaptureFixture[str]) -> None:
    """sweep --format is the figure format as elsewhere; --format csv|parquet (its old meaning) sets --table-format."""
    args = _parse("sweep", ["--format", "svg"])
    settle_formats(args)
    assert (args.figure_format, args.table_format) == ("svg", "csv")
    assert capsys.readouterr().err == ""
    args = _parse("sweep", ["--format", "parquet"])
    settle_formats(args)
    assert (args.figure_format, args.table_format) == ("png", "parquet")
    assert capsys.readouterr().err == "warning: --format parquet is deprecated; use --table-format parquet\n"


@pytest.mark.parametrize("command", ["reproduce", "phase-map", "plot-trace", "sweep"])
def test_every_drawing_command_takes_a_figure_format(command: str) -> None:
    """Each command that draws takes --format png|pdf|svg."""
    parser = build_parser([command])
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    (option,) = [a for a in sub.choices[command]._actions if "--format" in a.option_strings]
    assert {"png", "pdf", "svg"} <= set(option.choices or ())


@pytest.mark.parametrize(
    ("text", "seconds"), [("30", 30.0), ("30s", 30.0), ("5min", 300.0), ("15m", 900.0), ("1h30m", 5400.0)]
)
def test_fit_baseline_takes_any_duration(text: str, seconds: float) -> None:
    """fit --baseline reads every duration form: a plain number, a unit, Prometheus' 15m and compounds."""
    assert _parse("fit", ["x.trace", "--baseline", text]).baseline == seconds


@pytest.mark.parametrize(
    ("option", "text", "seconds"), [("--spare-reboot", "1h30m", 5400.0), ("--spare-reboot", "15m", 900.0)]
)
def test_simulator_durations_take_prometheus_compounds(option: str, text: str, seconds: float) -> None:
    """validate's durations read Prometheus-style compounds like every other duration."""
    assert _parse("validate", [option, text]).spare_reboot == seconds


def test_fit_json_is_one_object_and_notes_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """fit --json prints only a JSON object on stdout (the estimates with units); the account of the fit is on stderr."""
    trace = tmp_path / "cold.trace"
    assert main(["synth", "--kind", "cold", "--out", str(trace)]) == 0
    capsys.readouterr()
    assert main(["fit", str(trace), "--json"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert document["estimates"]["D_c"]["unit"] == "s" and document["estimates"]["D_c"]["value"] > 0
    assert "provenance" in document and "events:" in err


def test_plot_trace_refuses_a_format_that_its_out_contradicts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """plot-trace --format pdf --out x.png is an error naming --format, and writes nothing; --out x.svg alone is SVG."""
    trace = tmp_path / "w.trace"
    assert main(["synth", "--kind", "warm", "--out", str(trace)]) == 0
    assert main(["plot-trace", str(trace), "--format", "pdf", "--out", str(tmp_path / "x.png")]) == 2
    assert "error: --format: pdf, but --out" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
    assert main(["plot-trace", str(trace), "--out", str(tmp_path / "x.svg")]) == 0
    assert (tmp_path / "x.svg").read_text().startswith("<?xml")
    assert main(["plot-trace", str(trace), "--format", "pdf"]) == 0
    assert trace.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
