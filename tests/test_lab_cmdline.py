"""The QEMU command line of a VM, a pure function: checked without anything running."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from fake_qemu import FakeHost, FakeQEMU, fake_image
from rejuv.lab.cmdline import QEMU_BINARY, CprSockets, NetworkIdentity, VMConfig, VMPaths, qemu_argv
from rejuv.lab.errors import VMError
from rejuv.lab.vm import VM

IMAGE = fake_image(Path("/cache/image"))
PATHS = VMPaths(Path("/run/vm3.mem"), Path("/run/vm3.log"), Path("/run/vm3-1.qmp"))
NETWORK = NetworkIdentity("10.0.2.13", "10.0.2.1", "tap3", "52:54:00:2a:00:03")


def _option(argv: list[str], flag: str) -> list[str]:
    """Every value given to ``flag``."""
    return [argv[i + 1] for i, word in enumerate(argv) if word == flag]


def test_guest_ram_is_the_shared_memory_file_of_the_configured_size() -> None:
    """RAM is a share=on memory-backend-file at the VM's memory path, of memory_mb, used as the machine's memory."""
    argv = qemu_argv("vm3", VMConfig(memory_mb=256), IMAGE, PATHS, NETWORK)
    assert _option(argv, "-m") == ["256M"]
    assert _option(argv, "-object") == ["memory-backend-file,id=ram0,size=256M,mem-path=/run/vm3.mem,share=on"]
    assert _option(argv, "-machine") == ["memory-backend=ram0"]


def test_only_an_incoming_command_line_waits_for_a_guest() -> None:
    """incoming adds -incoming defer and changes nothing else: both sides of a migration have the same devices."""
    plain = qemu_argv("vm3", VMConfig(), IMAGE, PATHS, NETWORK)
    incoming = qemu_argv("vm3", VMConfig(), IMAGE, PATHS, NETWORK, incoming=True)
    assert "-incoming" not in plain
    assert incoming == [*plain, "-incoming", "defer"]


def test_the_guest_gets_its_address_gateway_tap_and_mac() -> None:
    """The kernel command line carries the address and gateway; the NIC is the VM's tap with its MAC."""
    argv = qemu_argv("vm3", VMConfig(), IMAGE, PATHS, NETWORK)
    assert _option(argv, "-append") == ["console=ttyS0 quiet vmip=10.0.2.13/24 vmgw=10.0.2.1"]
    assert _option(argv, "-netdev") == ["tap,id=net0,ifname=tap3,script=no,downscript=no"]
    assert _option(argv, "-device") == ["virtio-net-pci,netdev=net0,mac=52:54:00:2a:00:03"]


def test_the_data_disk_is_read_only_uncached_and_throttled() -> None:
    """cache=none and throttling.bps-total make a cold page cache cost throughput; readonly=on avoids image locks.

    Its id is the name QMP's ``block_set_io_throttle`` lifts the throttle by while the caches fill.
    """
    argv = qemu_argv("vm3", VMConfig(disk_bps=131072), IMAGE, PATHS, NETWORK)
    drive = "id=data,file=/cache/image/disk.img,if=virtio,format=raw,cache=none,readonly=on,throttling.bps-total=131072"
    assert _option(argv, "-drive") == [drive]


def test_the_console_and_qmp_go_to_the_vms_files() -> None:
    """The serial console is appended to the VM's log; QMP listens on this process's socket without waiting."""
    argv = qemu_argv("vm3", VMConfig(), IMAGE, PATHS, NETWORK)
    assert _option(argv, "-chardev") == ["file,id=serial0,path=/run/vm3.log,append=on"]
    assert _option(argv, "-qmp") == ["unix:/run/vm3-1.qmp,server=on,wait=off"]


@pytest.mark.parametrize(("accel", "cpu"), [("tcg", "max"), ("kvm", "host")])
def test_the_accelerator_chooses_its_cpu_model(accel: str, cpu: str) -> None:
    """TCG emulates the richest CPU (max); KVM passes the host's through."""
    argv = qemu_argv("vm3", VMConfig(accel=accel), IMAGE, PATHS, NETWORK)
    assert argv[0] == QEMU_BINARY
    assert (_option(argv, "-accel"), _option(argv, "-cpu")) == ([accel], [cpu])


@pytest.mark.parametrize(
    ("field", "value"), [("memory_mb", 32), ("accel", "hvf"), ("disk_bps", 100)], ids=["memory_mb", "accel", "disk"]
)
def test_a_bad_config_names_its_field(field: str, value: object) -> None:
    """VMConfig refuses a value it cannot run and names the field."""
    changes: dict[str, Any] = {field: value}
    with pytest.raises(VMError, match=f"^{field}: "):
        VMConfig(**changes)


def test_a_resume_restarts_the_boot_command_line_incoming_on_a_new_qmp_socket(tmp_path: Path) -> None:
    """The QEMU a resume starts has the boot's command line plus -incoming defer, and its own QMP socket."""
    fake = FakeQEMU("vm3")
    vm = VM(3, FakeHost(), IMAGE, tmp_path, VMConfig(), transport=fake)
    asyncio.run(vm.boot())
    asyncio.run(vm.suspend())
    asyncio.run(vm.resume())
    booted, resumed = fake.argvs
    assert _option(booted, "-qmp") != _option(resumed, "-qmp")
    assert [w for w in booted if "qmp" not in w] + ["-incoming", "defer"] == [w for w in resumed if "qmp" not in w]


def test_a_cpr_transfer_vm_shares_qemus_own_ram_and_only_it() -> None:
    """cpr-transfer adds aux-ram-share=on to the machine (QEMU's ROMs passed as descriptors too); the others do not."""
    cpr = qemu_argv("vm3", VMConfig(mechanism="cpr-transfer"), IMAGE, PATHS, NETWORK)
    assert _option(cpr, "-machine") == ["memory-backend=ram0,aux-ram-share=on"]
    for mechanism in ("cpr-reboot", "ignore-shared"):
        assert _option(qemu_argv("vm3", VMConfig(mechanism=mechanism), IMAGE, PATHS, NETWORK), "-machine") == [
            "memory-backend=ram0"
        ]


def test_a_cpr_transfer_destination_listens_on_its_main_and_cpr_sockets() -> None:
    """The new QEMU of a cpr-transfer: -incoming unix:<main> and a cpr channel on <cpr>, nothing else changed."""
    config = VMConfig(mechanism="cpr-transfer")
    sockets = CprSockets(Path("/run/vm3-2.main"), Path("/run/vm3-2.cpr"))
    plain = qemu_argv("vm3", config, IMAGE, PATHS, NETWORK)
    incoming = qemu_argv("vm3", config, IMAGE, PATHS, NETWORK, incoming=sockets)
    cpr = '{"channel-type":"cpr","addr":{"transport":"socket","type":"unix","path":"/run/vm3-2.cpr"}}'
    assert incoming == [*plain, "-incoming", "unix:/run/vm3-2.main", "-incoming", cpr]
    assert sockets.channels()[0] == {
        "channel-type": "main",
        "addr": {"transport": "socket", "type": "unix", "path": "/run/vm3-2.main"},
    }


def test_an_unknown_mechanism_is_refused_naming_the_field() -> None:
    """VMConfig(mechanism=...) outside the three raises VMError naming mechanism."""
    with pytest.raises(VMError, match="mechanism: must be one of cpr-transfer, cpr-reboot, ignore-shared"):
        VMConfig(mechanism="postcopy")
