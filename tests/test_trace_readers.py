"""CSV and Prometheus inputs: good files read as they mean, bad ones give an error naming file, row or field, and problem."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rejuv.errors import TraceError
from rejuv.trace import Marker, MarkerKind
from rejuv.trace.readers import read_any, read_csv, read_markers_csv, read_prometheus

NAN = float("nan")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def error_of(read: object, *args: object) -> str:
    """The message of the TraceError that ``read(*args)`` raises."""
    with pytest.raises(TraceError) as caught:
        read(*args)  # type: ignore[operator]
    return str(caught.value)


# --- CSV -------------------------------------------------------------------------------------


def test_csv_columns_are_vms_and_a_skipped_time_or_empty_cell_is_missing(tmp_path: Path) -> None:
    """Unix-time rows every 5 s: the step is 5 s, a skipped time is a NaN row, an empty cell a NaN sample."""
    path = write(
        tmp_path,
        "run.csv",
        "timestamp,web1,web2\n1700000000,10,20\n1700000005,11,\n1700000015,12.5,22\n\n1700000020,0,0\n",
    )
    trace = read_csv(path)
    assert trace.step == 5.0
    assert trace.vm_names == ("web1", "web2")
    np.testing.assert_array_equal(trace.vm_throughput, [[10, 20], [11, NAN], [NAN, NAN], [12.5, 22], [0, 0]])
    assert trace.host is None
    assert trace.metadata == {"source_file": "run.csv", "time_origin": 1700000000.0}
    assert trace.source == str(path)


def test_a_single_host_or_total_column_is_the_host_series(tmp_path: Path) -> None:
    """A CSV whose only throughput column is named host (or total) gives a host series and no VMs."""
    for name in ("host", "Total"):
        trace = read_csv(write(tmp_path, f"{name}.csv", f"time,{name}\n0,100\n1,90\n3,80\n"))
        assert trace.vm_names == ()
        np.testing.assert_array_equal(trace.host_throughput, [100, 90, NAN, 80])


def test_markers_csv_shares_the_trace_time_origin(tmp_path: Path) -> None:
    """Marker times are on the trace's clock; the optional subject names a VM."""
    trace_path = write(tmp_path, "run.csv", "t,vm0,vm1\n1000,1,1\n1001,1,1\n1002,1,1\n")
    markers = write(tmp_path, "m.csv", "time,kind,subject\n1001,suspend-started,\n1002,os-reboot-started,vm1\n")
    trace = read_any(trace_path, markers)
    assert trace.markers == (
        Marker(1.0, MarkerKind.SUSPEND_STARTED),
        Marker(2.0, MarkerKind.OS_REBOOT_STARTED, "vm1"),
    )


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        ("time,vm0,vm1\n0,1,2\n1,3\n", "row 3", "has 2 columns, the header has 3"),
        ("time,vm0\n0,1\n1,fast\n", "row 3, column 'vm0'", "not a number: 'fast'"),
        ("time,vm0\n0,1\nnoon,2\n", "row 3", "time is not a number: 'noon'"),
        ("time,vm0\n0,1\n2,1\n1,1\n", "row 4", "time 1 is not after the previous 2: times must increase"),
        ("time,vm0\n0,1\n1,1\n1,1\n", "row 4", "time 1 is not after the previous 1: times must increase"),
        (
            "time,vm0\n0,1\n1,nan\n",
            "row 3, column 'vm0'",
            "throughput is NaN; leave the cell empty for a missing sample",
        ),
        ("time,vm0\n0,1\n1,-3\n", "row 3, column 'vm0'", "throughput must be >= 0, got -3"),
        ("time,vm0\n0,1\n1,inf\n", "row 3, column 'vm0'", "throughput is infinite"),
        ("time,vm0\n0,1\n1,1\n2,1\n3.5,1\n", "row 5", "time 3.5 is not on the 1 s sampling grid"),
        ("vm0,vm1\n1,2\n", "row 1", "the first column must be the time (time, t, timestamp, seconds), got 'vm0'"),
    ],
    ids=[
        "wrong column count",
        "non-numeric cell",
        "non-numeric time",
        "time going back",
        "time repeated",
        "NaN throughput",
        "negative throughput",
        "infinite throughput",
        "off the grid",
        "no time column",
    ],
)
def test_a_malformed_csv_names_the_file_the_row_and_the_problem(
    tmp_path: Path, text: str, where: str, why: str
) -> None:
    """str(err) is '<file>, <row[, column]>: <problem>'."""
    path = write(tmp_path, "bad.csv", text)
    assert error_of(read_csv, path) == f"{path}, {where}: {why}"


def test_a_csv_with_too_few_rows_or_none_is_an_error(tmp_path: Path) -> None:
    """A trace needs at least two samples to have a step; an empty file says so."""
    one = write(tmp_path, "one.csv", "time,vm0\n0,1\n")
    assert error_of(read_csv, one) == f"{one}: needs at least 2 samples, got 1"
    empty = write(tmp_path, "empty.csv", "")
    assert error_of(read_csv, empty) == f"{empty}: empty file"
    assert error_of(read_csv, tmp_path / "absent.csv") == f"{tmp_path / 'absent.csv'}: no such file"


def test_an_unknown_marker_names_the_markers_file_and_row(tmp_path: Path) -> None:
    """A marker kind rejuv does not know is an error listing the known ones."""
    markers = write(tmp_path, "m.csv", "time,kind\n1,suspend-started\n2,vmm-crashed\n")
    message = error_of(read_markers_csv, markers)
    assert message.startswith(f"{markers}, row 3: unknown marker 'vmm-crashed'; known markers: suspend-started, ")
    assert all(kind.value in message for kind in MarkerKind)


def test_a_marker_for_an_unknown_vm_is_an_error(tmp_path: Path) -> None:
    """A marker's subject must be one of the trace's VMs."""
    trace_path = write(tmp_path, "run.csv", "time,vm0\n0,1\n1,1\n")
    markers = write(tmp_path, "m.csv", "time,kind,subject\n1,os-reboot-started,vm9\n")
    assert (
        error_of(read_any, trace_path, markers)
        == f"{trace_path}: marker os-reboot-started at 1 s names unknown VM 'vm9'"
    )


# --- Prometheus -------------------------------------------------------------------------------


def prometheus(result: list[dict[str, object]], result_type: str = "matrix") -> str:
    return json.dumps({"status": "success", "data": {"resultType": result_type, "result": result}})


def series(labels: dict[str, str], points: list[tuple[float, str]]) -> dict[str, object]:
    return {"metric": labels, "values": [[t, v] for t, v in points]}


def test_a_prometheus_range_query_reads_one_vm_per_series(tmp_path: Path) -> None:
    """Each matrix series is a VM named by its vm (else instance, pod, job) label; a missing timestamp is NaN.

    A value at time t is the sample of the step that ends at t (rate() looks back), so the origin is a step earlier.
    """
    text = prometheus(
        [
            series(
                {"__name__": "rate", "vm": "db", "instance": "10.0.0.1:9100"}, [(1700000000, "5"), (1700000015, "6")]
            ),
            series({"instance": "10.0.0.2:9100"}, [(1700000000, "7"), (1700000030, "8.5")]),
            series({"job": "web"}, [(1700000015, "0")]),
        ]
    )
    trace = read_prometheus(write(tmp_path, "q.json", text))
    assert trace.step == 15.0
    assert trace.vm_names == ("db", "10.0.0.2:9100", "web")
    np.testing.assert_array_equal(trace.vm_throughput, [[5, 7, NAN], [6, NAN, 0], [NAN, 8.5, NAN]])
    assert trace.metadata == {"source_file": "q.json", "time_origin": 1700000000.0 - 15}


def test_a_prometheus_nan_sample_is_a_missing_sample(tmp_path: Path) -> None:
    """Prometheus's "NaN" (a rate with too few points, a 0/0) reads as NaN, the trace format's missing sample."""
    text = prometheus([series({"vm": "a"}, [(0, "1"), (1, "NaN"), (2, "3")])])
    trace = read_prometheus(write(tmp_path, "q.json", text))
    np.testing.assert_array_equal(trace.vm_throughput[:, 0], [1, NAN, 3])


def test_prometheus_series_with_the_same_name_are_numbered(tmp_path: Path) -> None:
    """Two series that a label cannot tell apart keep both, as name#0 and name#1."""
    text = prometheus([series({"job": "web"}, [(0, "1"), (1, "2")]), series({"job": "web"}, [(0, "3"), (1, "4")])])
    assert read_any(write(tmp_path, "q.json", text)).vm_names == ("web#0", "web#1")


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        (prometheus([], "vector"), ": data.resultType", "must be 'matrix' (a range query), got 'vector'"),
        ('{"data": {"resultType": "matrix", ', ", line 1", "not valid JSON (Expecting property name enclosed"),
        ('{"status": "error"}', "", "no 'data' object: not a Prometheus query response"),
        (prometheus([]), ": data.result", "holds no series"),
        (prometheus([{"metric": {}}]), ": data.result[0]", "has no 'values' list"),
        (
            prometheus([series({"vm": "a"}, [(0, "1"), (1, "-1")])]),
            ", series 'a' at 1",
            "throughput must be >= 0, got -1",
        ),
        (prometheus([series({"vm": "a"}, [(0, "1"), (1, "+Inf")])]), ", series 'a' at 1", "throughput is infinite"),
        (prometheus([series({"vm": "a"}, [(0, "1"), (1, "x")])]), ", series 'a' at 1", "not a number: 'x'"),
        (
            prometheus([series({"vm": "a"}, [("noon", "1")])]),
            ", series 'a' at noon",
            "timestamp is not a number: 'noon'",
        ),
        (
            prometheus([{"metric": {}, "values": [[0]]}]),
            ", series 'series0' at 0",
            'each value must be [timestamp, "value"]',
        ),
    ],
    ids=[
        "vector",
        "invalid JSON",
        "no data",
        "no series",
        "no values",
        "negative",
        "infinite",
        "non-numeric value",
        "non-numeric timestamp",
        "not a pair",
    ],
)
def test_a_bad_prometheus_file_names_the_file_the_field_and_the_problem(
    tmp_path: Path, text: str, where: str, why: str
) -> None:
    """str(err) is '<file>[: field or , series at time]: <problem>'."""
    path = write(tmp_path, "bad.json", text)
    assert error_of(read_prometheus, path).startswith(f"{path}{where}: {why}")


def test_read_any_chooses_the_reader_by_suffix(tmp_path: Path) -> None:
    """.csv reads as CSV, .json as Prometheus, anything else as a .trace; markers go with CSV only."""
    csv_path = write(tmp_path, "a.CSV", "time,vm0\n0,1\n1,2\n")
    assert read_any(csv_path).vm_names == ("vm0",)
    json_path = write(tmp_path, "a.json", prometheus([series({"vm": "x"}, [(0, "1"), (1, "2")])]))
    assert read_any(json_path).vm_names == ("x",)
    markers = write(tmp_path, "m.csv", "time,kind\n")
    assert error_of(read_any, json_path, markers) == f"{markers}: separate markers go with CSV traces only"


def test_read_any_refuses_a_file_of_unknown_kind_by_its_suffix(tmp_path: Path) -> None:
    """A file that is not .trace, .npz, .csv or .json is an error naming it and the expected kinds."""
    path = write(tmp_path, "passwd", "root:x:0:0\n")
    assert error_of(read_any, path) == f"{path}: unknown kind of file '(no suffix)': expected .trace, .csv or .json"
