"""Real QEMU VMs under TCG: what Warm-VM Reboot, Cold-VM Reboot and OS rejuvenation do to the guests.

Each module-scoped fixture runs one scaled-down experiment (small RAM, 20
files of 128 KB, a 256 KB/s disk, 5 req/s per VM); the tests read its
result; one more migrates a VM within one namespace, the step the migration
procedures will use (its every rollback is tested against a fake QEMU in
test_lab_vm_states.py). These tests need qemu-system-x86_64, root (network namespaces) and
Debian's apt (the guest kernel); .ci/run installs them.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from lab_runs import leftovers, run_leaving_nothing
from rejuv.cli.main import main
from rejuv.lab import (
    Experiment,
    ExperimentResult,
    GuestImage,
    Host,
    ImageRecipe,
    build_image,
    reply_gap,
    run_experiment,
    throughput,
)
from rejuv.lab.cleanup import run_directory
from rejuv.lab.errors import VMError
from rejuv.lab.vm import VM, GuestStatus, VMConfig, VMState
from rejuv.model import check_value
from rejuv.trace import Settings, measure
from rejuv.trace.markers import MarkerKind
from rejuv.trace.store import write_trace

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed"),
]

RATE = 5.0
SMALL = {"rate": RATE, "memory_mb": 128, "disk_bps": 256 * 1024, "accel": "tcg", "timeout": 3.0}


@pytest.fixture(scope="module")
def image() -> GuestImage:
    return build_image(ImageRecipe(files=20))


def _run(image: GuestImage, progress: Callable[[str], None] = lambda _: None, **changes: object) -> ExperimentResult:
    return run_leaving_nothing(Experiment(**{**SMALL, **changes}), image, progress)  # type: ignore[arg-type]


def _mean(result: ExperimentResult, vm: int, start: float, seconds: float) -> float:
    """Mean throughput of VM ``vm`` (req/s) over the whole samples in [start, start + seconds)."""
    first = int(np.ceil(start))
    return float(result.trace.vm_throughput[first : first + int(seconds), vm].mean())


@pytest.fixture(scope="module")
def warm(image: GuestImage) -> ExperimentResult:
    return _run(image, procedure="warm", vms=2, before=12.0, after=8.0)


@pytest.fixture(scope="module")
def cold(image: GuestImage) -> ExperimentResult:
    # A 128 KB/s disk serves one 128 KB file per second from a cold cache: far below the 5 req/s offered.
    # The caches are filled before the load starts (rejuv.lab.warmup), so all 8 s before the reboot are baseline.
    return _run(image, procedure="cold", vms=2, before=8.0, after=30.0, disk_bps=128 * 1024)


@pytest.fixture(scope="module")
def os_reboot(image: GuestImage) -> ExperimentResult:
    return _run(image, procedure="os", vms=2, before=12.0, after=6.0, os_vm=0)


def test_warm_reboot_keeps_every_boot_token(warm: ExperimentResult) -> None:
    """After Warm-VM Reboot every guest answers with the token it drew at boot: its memory survived."""
    assert {n: s.token for n, s in warm.status_after.items()} == {n: s.token for n, s in warm.status_before.items()}


def test_warm_reboot_continues_uptime(warm: ExperimentResult) -> None:
    """After Warm-VM Reboot every guest's uptime goes on from where it was."""
    for name, before in warm.status_before.items():
        assert warm.status_after[name].uptime > before.uptime + 5.0


def test_warm_reboot_has_no_cache_miss_dip(warm: ExperimentResult) -> None:
    """The first full seconds after all VMs resumed serve the offered rate: the page caches are warm."""
    resumed = warm.marker_time(MarkerKind.ALL_RESUMED)
    for vm in range(2):
        assert _mean(warm, vm, resumed, 3.0) >= 0.9 * RATE


def test_warm_reboot_downtime_seen_by_the_client_is_under_a_second(warm: ExperimentResult) -> None:
    """No VM goes a second without a reply across the warm reboot."""
    event = warm.start + warm.marker_time(MarkerKind.SUSPEND_STARTED)
    for vm in range(2):
        assert reply_gap(warm.requests, vm, event - 1.0, event + 3.0) < 1.0


def test_the_load_starts_on_full_page_caches(cold: ExperimentResult) -> None:
    """From the first second the guests serve the offered rate, though a cold cache would give 1 of 5 req/s."""
    assert cold.trace.metadata["cache_fill_s"] > 0
    started = cold.marker_time(MarkerKind.LOAD_STARTED)
    for vm in range(2):
        assert _mean(cold, vm, started, 3.0) >= 0.9 * RATE


def test_cold_reboot_draws_new_boot_tokens(cold: ExperimentResult) -> None:
    """After Cold-VM Reboot every guest has a new token: its OS booted again."""
    for name, before in cold.status_before.items():
        assert cold.status_after[name].token != before.token


def test_cold_reboot_degrades_throughput_until_the_cache_refills(cold: ExperimentResult) -> None:
    """Right after a cold boot the disk-bound guests serve under 70% of the load; at the end, over 90% again."""
    booted = cold.marker_time(MarkerKind.ALL_BOOTED)
    end = cold.marker_time(MarkerKind.LOAD_ENDED)
    for vm in range(2):
        assert _mean(cold, vm, booted, 3.0) < 0.7 * RATE
        assert _mean(cold, vm, end - 5.0, 4.0) >= 0.9 * RATE


def test_a_cold_run_trace_feeds_rejuv_fit_and_plot_trace(
    cold: ExperimentResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`rejuv fit` reads the written trace: D_c the time the client saw both VMs out, and a degradation; it plots."""
    path = write_trace(cold.trace, tmp_path / "cold.trace")
    assert main(["fit", str(path), "--baseline", "5", "--out", str(tmp_path / "cold.toml")]) == 0
    fitted = tomllib.loads((tmp_path / "cold.toml").read_text())
    stopped = cold.start + cold.marker_time(MarkerKind.ALL_STOPPED)
    ends = [sorted(r.end for r in cold.requests if r.ok and r.vm == vm) for vm in range(2)]
    last = max(max(e for e in mine if e <= stopped) for mine in ends)  # the VMs' last replies before they stopped
    first = min(min(e for e in mine if e > stopped) for mine in ends)  # and their first after
    assert abs(fitted["D_c"] - (first - last)) <= 0.2  # the downtime from the outages, to a reply spacing
    assert 0.1 < fitted["omega_c"] < 1.0
    assert fitted["R_vmm_c"] > 0
    assert main(["plot-trace", str(path), "--baseline", "5", "--out", str(tmp_path / "cold.png")]) == 0
    assert (tmp_path / "cold.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "1 cold" in capsys.readouterr().out


def test_cold_reboot_guests_power_off_cleanly(cold: ExperimentResult) -> None:
    """system_powerdown makes every guest power off by itself, well within the shutdown timeout."""
    assert cold.report.timings["shutdown"] < 10.0


def test_os_rejuvenation_renews_only_that_vms_token(os_reboot: ExperimentResult) -> None:
    """After OS rejuvenation of vm0, vm0 has a new token and vm1 the old one."""
    assert os_reboot.status_after["vm0"].token != os_reboot.status_before["vm0"].token
    assert os_reboot.status_after["vm1"].token == os_reboot.status_before["vm1"].token


def test_os_rejuvenation_never_stops_the_other_vm(os_reboot: ExperimentResult) -> None:
    """While vm0's OS reboots, vm1 never goes a second without a reply."""
    start = os_reboot.start + os_reboot.marker_time(MarkerKind.OS_REBOOT_STARTED)
    end = os_reboot.start + os_reboot.marker_time(MarkerKind.OS_REBOOT_ENDED)
    assert end - start > 2.0
    assert reply_gap(os_reboot.requests, 1, start, end) < 1.0


def test_trace_of_a_run_carries_its_metadata(warm: ExperimentResult) -> None:
    """The trace records host, CPU, kernel, QEMU version, accelerator, offered load, seed and the run's niceness."""
    metadata = warm.trace.metadata
    for key in ("host", "cpu", "kernel", "qemu", "accel", "offered_load", "seed", "nice"):
        assert key in metadata
    assert metadata["qemu"].startswith("QEMU emulator version")
    assert metadata["accel"] == "tcg"
    assert metadata["nice"] == os.getpriority(os.PRIO_PROCESS, 0)  # the run's, unchanged: this process's


def test_host_holds_each_vms_address_and_mac_as_a_permanent_neighbour() -> None:
    """No ARP is needed to reach a VM, so none can be lost while its QEMU restarts."""
    with Host(2) as host:
        table = subprocess.run(
            ["ip", "-n", host.namespace, "neigh", "show", "dev", "br0"], capture_output=True, text=True, check=True
        ).stdout
    entries = {line.split()[0]: line.split()[1:] for line in table.splitlines()}
    for vm in range(2):
        assert entries[host.address(vm)] == ["lladdr", host.mac(vm), "PERMANENT"]


# -- faults ------------------------------------------------------------------------------------


def _kill_once_at(stage: str) -> Callable[[VM, str], None]:
    fired: list[bool] = []

    def hook(vm: VM, now: str) -> None:
        if now == stage and not fired:
            fired.append(True)
            vm.kill()

    return hook


@pytest.fixture(scope="module")
def faulty(image: GuestImage) -> ExperimentResult:
    faults = {0: _kill_once_at("suspend"), 1: _kill_once_at("saved"), 2: _kill_once_at("resume")}
    before = leftovers()
    settings = {**SMALL, "rate": 3.0, "procedure": "warm", "vms": 3, "before": 8.0, "after": 8.0}
    experiment = Experiment(**{**settings, "mechanism": "ignore-shared"})  # type: ignore[arg-type]
    try:
        return asyncio.run(run_experiment(experiment, image, faults=faults))
    finally:
        assert leftovers() - before == set()


def test_qemu_killed_during_suspend_loses_memory_and_says_so(faulty: ExperimentResult) -> None:
    """Killed before its device state was saved, vm0 boots afresh (new token) and the report names the loss."""
    assert "device state was never saved" in faulty.report.lost["vm0"]
    assert faulty.status_after["vm0"].token != faulty.status_before["vm0"].token


def test_qemu_killed_between_save_and_restart_is_recovered(faulty: ExperimentResult) -> None:
    """Killed after saving its state, vm1 resumes from its memory file: same token."""
    assert faulty.status_after["vm1"].token == faulty.status_before["vm1"].token
    assert "vm1" not in faulty.report.lost


def test_qemu_killed_during_resume_is_recovered_on_retry(faulty: ExperimentResult) -> None:
    """The new QEMU of vm2 dies while resuming; a second resume from the kept files brings the same guest back."""
    assert faulty.status_after["vm2"].token == faulty.status_before["vm2"].token
    assert "attempt 2" in faulty.report.outcomes["vm2"]


def test_a_lost_vm_does_not_stop_the_others(faulty: ExperimentResult) -> None:
    """While vm0 boots afresh, vm1 and vm2 serve again within a second of the warm reboot."""
    event = faulty.start + faulty.marker_time(MarkerKind.SUSPEND_STARTED)
    resumed = faulty.start + faulty.marker_time(MarkerKind.ALL_RESUMED)
    assert resumed - event > 2.0  # vm0's fresh boot takes seconds
    for vm in (1, 2):
        ends = [r.end for r in faulty.requests if r.vm == vm and r.ok and event + 1.5 < r.end < resumed]
        assert ends, f"vm{vm} served nothing while vm0 rebooted"


# -- failures and interruptions leave nothing behind ---------------------------------------------


def _raise_at(text: str, error: BaseException) -> Callable[[str], None]:
    def progress(line: str) -> None:
        if text in line:
            raise error

    return progress


def test_a_run_failing_with_every_vm_suspended_leaves_nothing_behind(image: GuestImage) -> None:
    """An error while the VMs are suspended (memory and state files on disk) still removes everything."""
    with pytest.raises(RuntimeError, match="injected"):
        _run(image, _raise_at("all-suspended", RuntimeError("injected")), procedure="warm", vms=1, before=1, after=1)


def test_ctrl_c_during_a_run_leaves_nothing_behind(image: GuestImage) -> None:
    """KeyboardInterrupt (Ctrl-C, or SIGTERM) after boot stops the run and removes everything."""
    with pytest.raises(KeyboardInterrupt):
        _run(image, _raise_at("booted", KeyboardInterrupt()), procedure="warm", vms=1, before=1, after=1)


# -- migration (the step the migration procedures will use) ---------------------------------------


class _SecondTap:
    """The host as a migration's destination sees it: the same address and MAC, on another tap (as on a second host)."""

    def __init__(self, host: Host, tap_of: int) -> None:
        self._host, self._tap_of = host, tap_of
        self.gateway = host.gateway

    def address(self, index: int) -> str:
        return self._host.address(index)

    def mac(self, index: int) -> str:
        return self._host.mac(index)

    def tap(self, index: int, spare: bool = False) -> str:
        return self._host.tap(self._tap_of)

    def exec_argv(self, argv: list[str]) -> list[str]:
        return self._host.exec_argv(argv)

    async def http_get(self, url: str, timeout: float = 5.0) -> str:
        return await self._host.http_get(url, timeout)


@dataclass
class Migrated:
    """What two migrations of vm0 did: one whose destination was killed, then a stop-and-copy."""

    before: GuestStatus
    failure: str = ""
    after_failure: tuple[VMState, VMState, int | None] = (
        VMState.CREATED,
        VMState.CREATED,
        None,
    )  #: source, destination, its pid
    status_after_failure: GuestStatus | None = None
    after: tuple[VMState, int | None, VMState] = (
        VMState.CREATED,
        None,
        VMState.CREATED,
    )  #: source, its pid, destination
    status_after: GuestStatus | None = None


@pytest.fixture(scope="module")
def migrated(image: GuestImage) -> Migrated:
    """vm0 migrates inside one namespace: first its destination is killed mid-way, then stop-and-copy succeeds."""
    uri = "tcp:127.0.0.1:4444"

    async def scenario(run_dir: Path, host: Host) -> Migrated:
        (run_dir / "a").mkdir()
        (run_dir / "b").mkdir()
        source = VM(0, host, image, run_dir / "a", VMConfig())
        destination = VM(0, _SecondTap(host, 1), image, run_dir / "b", VMConfig())
        try:
            await source.boot()
            seen = Migrated(await source.status())
            await destination.receive(uri)
            moving = asyncio.create_task(source.migrate(destination, uri, max_bandwidth=2_000_000))
            await asyncio.sleep(1.0)  # about 2 MB of the guest's RAM sent
            destination.kill()
            with pytest.raises(VMError) as failed:
                await moving
            seen.failure = str(failed.value)
            seen.after_failure = (source.state, destination.state, destination.pid)
            seen.status_after_failure = await source.status()
            await destination.receive(uri)
            await source.migrate(destination, uri, live=False)
            seen.after = (source.state, source.pid, destination.state)
            seen.status_after = await destination.status()
            return seen
        finally:
            await source.close()
            await destination.close()

    before = leftovers()
    try:
        with run_directory() as run_dir, Host(2) as host:
            return asyncio.run(scenario(run_dir, host))
    finally:
        assert leftovers() - before == set()


def test_a_migration_whose_destination_dies_leaves_the_guest_running_on_the_source(migrated: Migrated) -> None:
    """Destination killed mid-migration: VMError, the source serves the same guest, no QEMU left at the destination."""
    assert "migration failed" in migrated.failure
    assert migrated.after_failure == (VMState.RUNNING, VMState.STOPPED, None)
    assert migrated.status_after_failure is not None
    assert migrated.status_after_failure.token == migrated.before.token


def test_a_stop_and_copy_migration_moves_the_guest_to_the_destination(migrated: Migrated) -> None:
    """After stop-and-copy the destination serves the same guest (same token) and the source's QEMU is gone."""
    assert migrated.after == (VMState.STOPPED, None, VMState.RUNNING)
    assert migrated.status_after is not None and migrated.status_after.token == migrated.before.token


def test_a_warm_run_records_its_mechanism_and_every_guests_pause(warm: ExperimentResult) -> None:
    """The trace names the warm reboot mechanism that ran, and each VM's guest pause (STOP to RESUME) in seconds."""
    metadata = warm.trace.metadata
    assert metadata["mechanism"] in ("cpr-transfer", "cpr-reboot", "ignore-shared")
    assert set(metadata["procedure_pauses"]) == {"vm0", "vm1"}
    assert all(pause is not None and 0 < pause < 5.0 for pause in metadata["procedure_pauses"].values())


def _host_gap(result: ExperimentResult) -> float:
    """The client's own warm downtime: the longest time no VM replied, among the gaps within the warm reboot."""
    began = result.start + result.marker_time(MarkerKind.SUSPEND_STARTED)
    resumed = result.start + result.marker_time(MarkerKind.ALL_RESUMED)
    ends = sorted(r.end for r in result.requests if r.ok)
    return max(b - a for a, b in itertools.pairwise(ends) if a < resumed and b > began)


def _fit_rebinned(result: ExperimentResult, step: float, folder: Path) -> dict[str, float]:
    """The run's own requests binned at ``step``, written, fitted with `rejuv fit`; the parameters it wrote."""
    vms = len(result.trace.vm_names)
    series = throughput(result.requests, vms, result.start, result.trace.duration, step)
    path = write_trace(replace(result.trace, step=step, vm_throughput=series), folder / f"run-{step:g}.trace")
    out = folder / f"run-{step:g}.toml"
    assert main(["fit", str(path), "--baseline", "5", "--out", str(out)]) == 0
    fitted = tomllib.loads(out.read_text())
    assert main(["compare", "--params", str(out)]) == 0
    return fitted


@pytest.mark.parametrize("step", [0.1, 1.0])
@pytest.mark.parametrize(
    ("run", "measured"),
    [
        ("warm", ("D_w", "omega", "R_vmm")),
        ("cold", ("D_c", "omega_c", "R_vmm_c")),
        ("os_reboot", ("D_os", "delta", "R_os")),
    ],
)
def test_a_lab_trace_fits_to_valid_parameters_that_compare_reads_at_any_step(
    request: pytest.FixtureRequest, run: str, measured: tuple[str, ...], step: float, tmp_path: Path
) -> None:
    """Warm, cold and os runs binned at 0.1 s and 1 s fit to n, p and their three symbols, each within its range."""
    result: ExperimentResult = request.getfixturevalue(run)
    fitted = _fit_rebinned(result, step, tmp_path)
    assert set(fitted) == {"n", "p", *measured}
    assert fitted["n"] == 2 and fitted["p"] == pytest.approx(2 * RATE, rel=0.2)
    for symbol, value in fitted.items():
        check_value(symbol, value)  # raises naming the symbol if the fit wrote a value out of its range


@pytest.mark.parametrize("step", [0.1, 1.0])
def test_a_lab_warm_downtime_is_the_clients_own_to_a_tenth_of_a_second(
    warm: ExperimentResult, step: float, tmp_path: Path
) -> None:
    """D_w fitted at 0.1 s and 1 s lies within 0.1 s of the longest time the client got no reply from any VM in it."""
    fitted = _fit_rebinned(warm, step, tmp_path)
    client = _host_gap(warm)
    assert client > 0.1  # a warm reboot the client saw, not 0
    assert abs(fitted["D_w"] - client) <= 0.1


def test_a_lab_os_rejuvenation_measures_r_os_as_the_other_vms_slowed_time_summed(os_reboot: ExperimentResult) -> None:
    """R_os is the slowed period of the other VM (n - 1 = 1 of them) summed; D_os is vm0's own gap in replies."""
    [event] = measure(os_reboot.trace, "os", Settings(baseline_window=5.0))
    assert event.period.value == 1 * event.segment.degraded_period.value
    start = os_reboot.start + os_reboot.marker_time(MarkerKind.OS_REBOOT_STARTED)
    end = os_reboot.start + os_reboot.marker_time(MarkerKind.OS_REBOOT_ENDED)
    assert abs(event.downtime.value - reply_gap(os_reboot.requests, 0, start - 1.0, end + 3.0)) <= 0.1
