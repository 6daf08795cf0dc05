"""The .trace file: what is written is read back exactly, bad files are named errors, failed writes leave nothing."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from rejuv.errors import TraceError
from rejuv.trace import FORMAT_VERSION, Marker, MarkerKind, Trace, read_trace, write_trace
from rejuv.trace.events import event_markers
from rejuv.trace.store import FORMAT_NAME


def sample_trace() -> Trace:
    """Two VMs with a missing sample, a measured host series, markers of every subject and rich metadata."""
    values = np.array([[10.0, 11.5], [np.nan, 12.25], [0.0, 0.0], [9.75, 1e-300]])
    markers = (
        Marker(2.0, MarkerKind.SUSPEND_STARTED),
        Marker(3.0, MarkerKind.OS_REBOOT_STARTED, "vm b", note="kernel 6.1 → 6.2"),
    )
    metadata = {"host": "node7", "seed": 7, "load": 0.1, "tags": ["a", "b"], "nested": {"qemu": "8.2.0"}}
    host = np.array([21.5, np.nan, 0.0, 9.75])
    return Trace(0.5, ("vm0", "vm b"), values, host=host, markers=markers, metadata=metadata, source="sample")


def assert_same(read: Trace, written: Trace) -> None:
    assert read.step == written.step
    assert read.vm_names == written.vm_names
    np.testing.assert_array_equal(read.vm_throughput, written.vm_throughput)  # NaN == NaN here
    assert read.vm_throughput.dtype == np.float64
    if written.host is None:
        assert read.host is None
    else:
        assert read.host is not None
        np.testing.assert_array_equal(read.host, written.host)
    assert read.markers == written.markers
    assert read.metadata == written.metadata


def test_write_then_read_gives_back_data_markers_and_metadata_exactly(tmp_path: Path) -> None:
    """Every sample (NaN included), the host series, each marker and the metadata survive a round trip bit for bit."""
    trace = sample_trace()
    path = write_trace(trace, tmp_path / "run.trace")
    read = read_trace(path)
    assert_same(read, trace)
    assert read.source == str(path)


finite_or_missing = st.one_of(st.floats(0, 1e6, allow_nan=False), st.just(float("nan")))


@settings(derandomize=True, deadline=None, max_examples=40)
@given(
    values=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6), elements=finite_or_missing),
    step=st.floats(1e-3, 3600),
    times=st.lists(st.floats(0, 1e6), max_size=4),
)
def test_any_trace_round_trips(values: np.ndarray[Any, Any], step: float, times: list[float]) -> None:
    """For any shape, step, samples (NaN included) and marker times, read_trace(write_trace(t)) equals t."""
    names = tuple(f"vm{i}" for i in range(values.shape[1]))
    markers = tuple(Marker(t, MarkerKind.MIGRATION_STARTED, names[0]) for t in times)
    trace = Trace(step, names, values, markers=markers, metadata={"step_text": repr(step)})
    with tempfile.TemporaryDirectory() as folder:
        assert_same(read_trace(write_trace(trace, Path(folder) / "t.trace")), trace)


def write_archive(path: Path, meta: object, **arrays: np.ndarray[Any, Any]) -> Path:
    """A .trace-like archive with ``meta`` as given (JSON-encoded unless it is a str)."""
    text = meta if isinstance(meta, str) else json.dumps(meta)
    with path.open("wb") as stream:
        np.savez_compressed(stream, meta=np.array(text), vm_throughput=np.ones((3, 1)), **arrays)
    return path


def good_meta(**changes: object) -> dict[str, object]:
    meta: dict[str, object] = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "step": 1.0, "vm_names": ["vm0"]}
    meta.update(changes)
    return meta


def test_a_hand_written_archive_of_the_documented_layout_reads(tmp_path: Path) -> None:
    """The layout docs/trace-format.md describes (meta JSON + vm_throughput) is all a reader needs."""
    trace = read_trace(write_archive(tmp_path / "ok.trace", good_meta(markers=[{"time": 1, "kind": "all-booted"}])))
    assert trace.samples == 3
    assert trace.markers == (Marker(1.0, MarkerKind.ALL_BOOTED),)


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        (
            good_meta(version=FORMAT_VERSION + 1),
            "trace format version 3 is not supported (this rejuv reads versions 1, 2)",
        ),
        (good_meta(format="other"), "not a rejuv trace file (format 'other')"),
        ([1, 2], "not a rejuv trace file (format None)"),
    ],
    ids=["newer version", "other format", "meta not an object"],
)
def test_a_file_of_another_format_or_version_is_refused(tmp_path: Path, meta: object, message: str) -> None:
    """A newer version or another format is an error naming the file and what it holds."""
    path = write_archive(tmp_path / "x.trace", meta)
    with pytest.raises(TraceError) as caught:
        read_trace(path)
    assert str(caught.value) == f"{path}: {message}"


def test_an_unknown_marker_is_an_error_naming_the_marker(tmp_path: Path) -> None:
    """A marker kind rejuv does not know names the file, the marker's index and the known kinds."""
    path = write_archive(
        tmp_path / "m.trace", good_meta(markers=[{"time": 1, "kind": "all-booted"}, {"time": 2, "kind": "reboot"}])
    )
    with pytest.raises(TraceError) as caught:
        read_trace(path)
    assert str(caught.value).startswith(f"{path}: markers[1]: unknown marker 'reboot'; known markers: suspend-started,")


@pytest.mark.parametrize(
    ("meta", "what", "why"),
    [
        ("{not json", "meta", "not valid JSON"),
        (good_meta(step="fast"), "meta.step", "not a number: 'fast'"),
        ({k: v for k, v in good_meta().items() if k != "vm_names"}, "meta", "missing 'vm_names'"),
        (good_meta(markers=[{"time": 1}]), "markers[0]", "a marker needs 'time' and 'kind'"),
    ],
    ids=["invalid JSON", "step not a number", "no vm_names", "marker without kind"],
)
def test_a_malformed_meta_document_is_an_error_naming_the_field(
    tmp_path: Path, meta: object, what: str, why: str
) -> None:
    """Each problem in the meta document names the file, the field and the problem."""
    path = write_archive(tmp_path / "bad.trace", meta)
    with pytest.raises(TraceError) as caught:
        read_trace(path)
    assert str(caught.value).startswith(f"{path}: {what}: {why}")


def test_negative_throughput_in_a_trace_file_is_an_error(tmp_path: Path) -> None:
    """Negative throughput names the file, the series and the sample."""
    path = tmp_path / "neg.trace"
    with path.open("wb") as stream:
        meta = json.dumps(good_meta())
        np.savez_compressed(stream, meta=np.array(meta), vm_throughput=np.array([[1.0], [-2.0], [3.0]]))
    with pytest.raises(TraceError) as caught:
        read_trace(path)
    assert str(caught.value) == f"{path}: vm_throughput: throughput must be >= 0, got -2 at sample 1"


def test_a_file_that_is_not_an_archive_is_an_error(tmp_path: Path) -> None:
    """Any other file (here a CSV with a .trace name) is refused by name, as is a file that does not exist."""
    path = tmp_path / "x.trace"
    path.write_text("time,vm0\n0,1\n")
    with pytest.raises(TraceError, match=rf"^{path}: not a rejuv trace file"):
        read_trace(path)
    with pytest.raises(TraceError) as caught:
        read_trace(tmp_path / "absent.trace")
    assert str(caught.value) == f"{tmp_path / 'absent.trace'}: no such file"


def test_a_write_that_fails_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If compression fails after writing part of the archive, neither the trace nor a temporary file remains."""

    def half_then_fail(stream: Any, **arrays: Any) -> None:
        stream.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_trace(sample_trace(), tmp_path / "run.trace")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Overwriting is atomic: a failed write leaves the old file as it was, and no temporary file."""
    path = write_trace(sample_trace(), tmp_path / "run.trace")
    before = path.read_bytes()

    def fail(stream: Any, **arrays: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez_compressed", fail)
    with pytest.raises(KeyboardInterrupt):
        write_trace(sample_trace(), path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_the_format_document_lists_every_marker_kind_and_the_version() -> None:
    """docs/trace-format.md has a row for each marker kind, says which open events, and names the current version."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "trace-format.md").read_text()
    assert f"## The `.trace` file (format version {FORMAT_VERSION})" in text
    assert f'"format": "{FORMAT_NAME}", "version": {FORMAT_VERSION}' in text
    opens = {start: event for event, (start, _) in event_markers().items()}
    for kind in MarkerKind:
        row = re.search(rf"^\| `{kind.value}` \|\s*(\w*)\s*\|", text, flags=re.MULTILINE)
        assert row is not None, kind
        assert row.group(1) == opens.get(kind, ""), kind
