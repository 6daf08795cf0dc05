"""Filling the guests' page caches before the load: on a real QEMU VM, and when a guest never answers."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from rejuv.lab import GuestImage, Host, ImageRecipe, LabError, build_image
from rejuv.lab.cleanup import run_directory
from rejuv.lab.vm import VM, VMConfig
from rejuv.lab.warmup import fill_page_caches

DISK_BPS = 256 * 1024  #: 20 files of 128 KB take 10 s through it


class _SilentVM:
    """A VM whose QMP accepts the throttle and whose address serves nothing (TEST-NET-1)."""

    name = "vm0"

    async def set_disk_rate(self, bps: int) -> None:
        pass


class _NowhereHost:
    gateway = "192.0.2.254"

    def address(self, index: int) -> str:
        return "192.0.2.1"

    def exec_argv(self, argv: list[str]) -> list[str]:
        return argv


def test_a_guest_that_never_serves_is_a_warm_up_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """No file served within the limit: LabError(warm-up) naming the VM and how many of its files it served."""
    monkeypatch.setattr("rejuv.lab.warmup.FILL_SLACK", 1.0)
    vms = [_SilentVM()]
    with pytest.raises(LabError) as caught:
        asyncio.run(fill_page_caches(_NowhereHost(), vms, 2, 1, DISK_BPS, timeout=0.5))  # type: ignore[arg-type]
    assert caught.value.what == "warm-up"
    assert "vm0 0 of 2" in caught.value.why


@pytest.mark.lab
@pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="qemu-system-x86_64 is not installed")
def test_the_fill_reads_every_file_unthrottled_and_throttles_the_disk_again() -> None:
    """On a booted guest: every file served, far faster than its throttled disk allows, and the throttle back after."""
    image: GuestImage = build_image(ImageRecipe(files=20))

    async def fill() -> tuple[float, object]:
        with run_directory() as folder, Host(1) as host:
            vm = VM(0, host, image, Path(folder), VMConfig(128, "tcg", DISK_BPS))
            try:
                await vm.boot()
                took = await fill_page_caches(host, [vm], image.files, image.file_kb, DISK_BPS, timeout=3.0)
                return took, await vm._execute("check", "query-block")  # QMP: no public reader of the throttle
            finally:
                await vm.close()

    took, blocks = asyncio.run(fill())
    throttled = image.files * image.file_kb * 1024 / DISK_BPS
    assert took < throttled / 2, (took, throttled)
    assert isinstance(blocks, list)
    assert [b["inserted"]["bps"] for b in blocks if "inserted" in b] == [DISK_BPS]
