"""The report functions draw what the model says, and write their files whole or not at all."""

from __future__ import annotations

import ast
import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.figure import Figure

import rejuv.report
from rejuv.errors import ParameterError
from rejuv.model import STRATEGIES, Axis, Parameters, crossovers, evaluate_all, phase_map
from rejuv.report import (
    FIGURE1,
    FIGURE2,
    STYLES,
    axis_unit,
    figure7_data,
    phase_map_table,
    plot_figure7,
    plot_phase_map,
    plot_timelines,
    strategy_style,
    timeline_data,
    write_csv,
    write_figure,
    write_json,
    write_phase_map,
    write_reproduction,
)
from rejuv.report.figure7 import zoom_range

SRC = Path(rejuv.report.__file__).resolve().parent.parent
DAY = 86400.0


@pytest.fixture(scope="module")
def small_map(paper: Parameters) -> Any:
    """A coarse D_w by D_c phase map at 1,000 hosts: quick to draw, and three strategies win on it."""
    return phase_map(paper, Axis.parse("D_w=0s:60min", 13), Axis.parse("D_c=0s:60min", 11), 1000)


# -- Figure 7 ----------------------------------------------------------------


def data_lines(path: Path) -> list[str]:
    """A CSV's lines after its ``#`` provenance comments."""
    return [line for line in path.read_text().splitlines(keepends=True) if not line.startswith("#")]


def test_figure7_data_has_the_five_strategies_and_the_models_crossovers(paper: Parameters) -> None:
    """Figure 7's data has a curve per strategy and exactly the crossovers rejuv.model.crossovers finds."""
    data = figure7_data(paper)
    assert list(data.curves) == list(STRATEGIES)
    assert list(data.crossovers) == crossovers(paper)
    marked = {(c.strategy, c.overtakes): c.hosts for c in data.marked}
    assert marked == {("migration", "cold"): 11_249, ("live", "cold"): 11_190, ("live_rate_control", "cold"): 25_332}


def test_figure7_curves_are_the_model_on_whole_host_counts_from_2_to_a_million(paper: Parameters) -> None:
    """The curves are P / (m p) from the model, on increasing whole m from 2 to 10^6."""
    data = figure7_data(paper)
    assert data.hosts[0] == 2 and data.hosts[-1] == 10**6
    assert np.all(np.diff(data.hosts) > 0) and np.all(data.hosts == np.round(data.hosts))
    for key, value in evaluate_all(paper, data.hosts).items():
        np.testing.assert_array_equal(data.curves[key], np.broadcast_to(value.normalized_throughput, data.hosts.shape))
    assert data.limits["warm"] == pytest.approx(0.99966, abs=5e-6)  # paper Section 4 (Figure 7)
    assert data.limits["cold"] == pytest.approx(0.99956, abs=5e-6)


def test_figure7_table_has_a_row_per_host_count_and_a_column_per_strategy(paper: Parameters) -> None:
    """The CSV table is m followed by each strategy's P / (m p), one row per grid point."""
    data = figure7_data(paper)
    header, rows = data.table()
    assert header == ["m", *STRATEGIES]
    assert len(rows) == len(data.hosts) and all(len(row) == len(header) for row in rows)
    assert rows[0][0] == 2.0 and rows[0][1] == pytest.approx(data.limits["warm"])


def test_figure7_inset_magnifies_the_two_crossovers_59_hosts_apart(paper: Parameters) -> None:
    """Live and stop-and-copy pass Cold-VM Reboot 59 hosts apart: the detail data spans both, for the inset."""
    data = figure7_data(paper)
    assert {c.hosts for c in data.close} == {11_190, 11_249}
    assert data.detail_hosts[0] < 11_190 and data.detail_hosts[-1] > 11_249
    assert set(data.detail_curves) == {"cold", "migration", "live"}


def test_figure7_plot_zooms_the_main_panel_and_labels_every_crossover(paper: Parameters) -> None:
    """The main panel's y range is the zoom; each crossover in range is labelled with its m."""
    data = figure7_data(paper)
    figure = plot_figure7(data)
    main = figure.axes[0]
    assert main.get_ylim() == pytest.approx(zoom_range(data))
    texts = " ".join(text.get_text() for text in main.texts)
    for hosts in ("11,249", "11,190", "25,332"):
        assert f"m = {hosts}" in texts
    assert "nothing overtakes Warm-VM Reboot" in texts


@pytest.mark.parametrize("vmm_days", [7.0, 28.0, 365.0])
def test_figure7_zoom_holds_every_limit_and_crossover(paper: Parameters, vmm_days: float) -> None:
    """Whatever T_vmm, the zoomed panel shows every strategy's limit and every crossover's P / (m p)."""
    data = figure7_data(paper.replace(T_vmm=vmm_days * DAY))
    bottom, top = zoom_range(data)
    assert all(bottom < value < top for value in data.limits.values())
    for item in data.marked:
        assert bottom < data.limits[item.overtakes] < top


def test_figure7_rejects_a_parameter_grid(paper: Parameters) -> None:
    """Figure 7 is drawn for one parameter set."""
    with pytest.raises(ParameterError, match="one parameter set"):
        figure7_data(paper.replace(T_vmm=np.array([14.0, 28.0]) * DAY))


# -- Figures 1 and 2 -----------------------------------------------------------


def test_timeline_figures_use_their_schematic_intervals_with_the_papers_downtimes(paper: Parameters) -> None:
    """Figure 1 has T_vmm > T_os, Figure 2 T_vmm <= T_os; downtimes stay the preset's."""
    assert FIGURE1.vmm_interval > FIGURE1.os_interval
    assert FIGURE2.vmm_interval <= FIGURE2.os_interval
    data = timeline_data(paper, FIGURE1)
    assert float(data.params.vmm_interval) == FIGURE1.vmm_interval
    assert float(data.params.warm_reboot_downtime) == float(paper.warm_reboot_downtime)
    assert list(data.timelines) == ["warm", "cold"]


def test_timeline_table_lists_the_cold_timer_resets_and_no_cold_os_rejuvenation_in_figure2(paper: Parameters) -> None:
    """Figure 2's table: cold has a timer reset per period and no OS interval; warm has OS intervals and no reset."""
    header, rows = timeline_data(paper, FIGURE2).table()
    assert header == ["strategy", "kind", "start_s", "end_s"]
    kinds = {(row[0], row[1]) for row in rows}
    assert sum(1 for row in rows if row[:2] == ["cold", "OS timer reset"]) == FIGURE2.periods
    assert ("cold", "OS downtime") not in kinds and ("warm", "OS downtime") in kinds
    assert ("warm", "OS timer reset") not in kinds


def test_timeline_figure_titles_state_the_models_os_counts(paper: Parameters) -> None:
    """Each panel of Figure 1 names its strategy and the model's N_w or ⌊N_c⌋."""
    figure = plot_timelines(timeline_data(paper, FIGURE1))
    titles = [axes.get_title(loc="left") for axes in figure.axes]
    assert any("Warm-VM Reboot" in t and "N_w = 2.80" in t for t in titles)
    assert any("Cold-VM Reboot" in t and "⌊N_c⌋ = 2" in t for t in titles)


# -- phase maps ----------------------------------------------------------------


def test_phase_map_table_has_a_row_per_grid_point_with_winner_and_lead(small_map: Any) -> None:
    """One row per (x, y): base-unit coordinates, a strategy key, and a lead >= 0."""
    header, rows = phase_map_table(small_map)
    assert header == ["D_w (s)", "D_c (s)", "winner", "lead"]
    assert len(rows) == small_map.x.values.size * small_map.y.values.size
    assert {row[2] for row in rows} <= set(STRATEGIES)
    assert all(float(row[3]) >= 0 for row in rows)  # type: ignore[arg-type]
    assert {row[2] for row in rows} == {"warm", "cold", "live"}


def test_axis_unit_reads_durations_in_the_largest_unit_the_axis_reaches_twice() -> None:
    """Days for 1 d to 90 d, minutes for 0 to 60 min, seconds below 2 min; rates have no unit."""
    assert axis_unit(Axis.parse("T_vmm=1d:90d")) == ("d", DAY)
    assert axis_unit(Axis.parse("D_w=0s:60min")) == ("min", 60.0)
    assert axis_unit(Axis.parse("D_w=0s:90s")) == ("s", 1.0)
    assert axis_unit(Axis.parse("omega=0:1")) == ("1", 1.0)


def test_phase_map_plot_marks_the_reference_and_gives_each_strategys_share(paper: Parameters, small_map: Any) -> None:
    """The reference point is labelled with its values, and the legend gives every strategy's share of the grid."""
    figure = plot_phase_map(small_map, paper, "kourai2008")
    texts = " ".join(text.get_text() for text in figure.axes[0].texts)
    assert "kourai2008" in texts and "D_c = 3.65 min" in texts
    legend = " ".join(text.get_text() for text in figure.legends[0].get_texts())
    for key in STRATEGIES:
        assert f"{STRATEGIES[key].label}: {100 * small_map.share(key):.1f}%" in legend


# -- writers -------------------------------------------------------------------


class InjectedError(RuntimeError):
    """The failure injected into a writer."""


def test_write_figure_leaves_no_partial_file_when_saving_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A save that fails half-way leaves neither the PNG nor a temporary file, and keeps an older PNG intact."""
    figure = Figure()
    target = tmp_path / "figure.png"
    target.write_bytes(b"old")

    def half_then_fail(stream: Any, **_: Any) -> None:
        stream.write(b"\x89PNG half a figure")
        raise InjectedError

    monkeypatch.setattr(figure, "savefig", half_then_fail)
    with pytest.raises(InjectedError):
        write_figure(figure, target)
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["figure.png"]


def test_write_csv_leaves_no_file_when_its_rows_fail(tmp_path: Path) -> None:
    """Rows that raise part-way through leave no CSV and no temporary file behind."""

    def rows() -> Any:
        yield [1.0, 2.0]
        raise InjectedError

    with pytest.raises(InjectedError):
        write_csv(tmp_path / "table.csv", ["a", "b"], rows())
    assert list(tmp_path.iterdir()) == []


def test_write_csv_floats_read_back_exactly(tmp_path: Path) -> None:
    """Floats (numpy ones too) are written so that they read back to the same number."""
    values = [0.1, 1 / 3, float(np.float64(2.0) / 3), 1e-17]
    path = write_csv(tmp_path / "t.csv", ["x"], [[np.float64(v)] for v in values])
    read = [float(row[0]) for row in list(csv.reader(data_lines(path)))[1:]]
    assert read == values


def test_write_json_is_strict_json_with_null_for_what_is_not_finite(tmp_path: Path) -> None:
    """JSON is strict: NaN and infinity are written as null (no reader accepts NaN), values as given."""
    path = write_json(tmp_path / "d.json", {"x": 1.5, "hosts": None, "nan": float("nan"), "inf": [float("inf")]})
    document = json.loads(path.read_text(), parse_constant=lambda constant: pytest.fail(f"{constant} in JSON"))
    assert {key: document[key] for key in ("x", "hosts", "nan", "inf")} == {
        "x": 1.5,
        "hosts": None,
        "nan": None,
        "inf": [None],
    }
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]


def test_write_reproduction_writes_exactly_the_files_it_returns(paper: Parameters, tmp_path: Path) -> None:
    """write_reproduction creates its folder and writes Figures 7, 1 and 2 with their data: the files it returns, no others."""
    out = tmp_path / "new" / "folder"
    written = write_reproduction(paper, out)
    assert sorted(written) == sorted(out.iterdir())
    assert [path.name for path in written] == [
        "figure7.png",
        "figure7.csv",
        "figure7-crossovers.json",
        "figure1.png",
        "figure1.csv",
        "figure2.png",
        "figure2.csv",
    ]


def test_write_phase_map_writes_the_png_and_the_csv_it_returns(small_map: Any, tmp_path: Path) -> None:
    """write_phase_map writes <stem>.png and <stem>.csv, and the CSV is the phase map's table."""
    written = write_phase_map(small_map, tmp_path / "maps", "phase-map-D_w-D_c")
    assert [path.name for path in written] == ["phase-map-D_w-D_c.png", "phase-map-D_w-D_c.csv"]
    assert sorted(written) == sorted((tmp_path / "maps").iterdir())
    rows = list(csv.reader(data_lines(written[1])))
    assert len(rows) == 1 + small_map.x.values.size * small_map.y.values.size


# -- style and layering --------------------------------------------------------


def test_every_strategy_has_one_distinct_style_labelled_as_the_model_labels_it() -> None:
    """Each strategy has its own colour and line style, and the model's label."""
    assert list(STYLES) == list(STRATEGIES)
    assert all(STYLES[key].label == STRATEGIES[key].label for key in STRATEGIES)
    assert len({s.color for s in STYLES.values()}) == len(STYLES)
    assert strategy_style("cold") is STYLES["cold"]
    with pytest.raises(ParameterError, match="unknown"):
        strategy_style("hot")


def test_report_all_names_exist() -> None:
    """Every name in rejuv.report.__all__ is defined, once."""
    assert len(set(rejuv.report.__all__)) == len(rejuv.report.__all__)
    assert all(hasattr(rejuv.report, name) for name in rejuv.report.__all__)


def test_model_never_imports_report_or_matplotlib() -> None:
    """No module of rejuv.model imports rejuv.report or matplotlib (the dependencies point one way)."""
    for path in (SRC / "model").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(("rejuv.report", "matplotlib")), (path, name)


def test_report_draws_without_pyplot() -> None:
    """Drawing every figure never loads matplotlib.pyplot (no global figure state), and importing the model loads no matplotlib."""
    code = (
        "import sys\n"
        "import rejuv.model\n"
        "assert 'matplotlib' not in sys.modules\n"
        "from rejuv.model import load_preset\n"
        "from rejuv.report import figure7_data, plot_figure7, timeline_data, plot_timelines, FIGURE1\n"
        "p = load_preset()\n"
        "plot_figure7(figure7_data(p)); plot_timelines(timeline_data(p, FIGURE1))\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_no_two_of_a_trace_s_vms_look_alike() -> None:
    """Per-VM series take colour-blind-safe colours, then line styles: no two of the first 28 share a look."""
    from rejuv.report.style import SERIES_COLORS, series_look

    looks = [series_look(index) for index in range(28)]
    assert len(set(looks)) == len(looks)
    assert {color for color, _ in looks} == set(SERIES_COLORS)


def test_a_trace_plot_s_vms_differ_and_its_legends_sit_off_the_data() -> None:
    """plot_trace draws 12 VMs in 12 distinct looks, and every legend lies right of its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from rejuv.report import plot_trace
    from rejuv.trace import synthesize

    figure = plot_trace(synthesize(60, vms=12, seed=0), max_vms=12)
    _, vm_axes = figure.axes
    assert len({(line.get_color(), line.get_linestyle()) for line in vm_axes.get_lines()[:12]}) == 12
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    for axes in figure.axes:
        legend = axes.get_legend()
        if legend is not None:
            assert legend.get_window_extent(renderer).x0 >= axes.get_window_extent(renderer).x1
