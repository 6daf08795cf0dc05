"""Which accelerator to use: KVM if a real guest boots under it in time, else TCG, and why.

Opening ``/dev/kvm`` is not proof that KVM works: on some machines it is a
software nested-virtualisation module (``kvm_pvm``) on which a stock guest
crawls and then stops with an internal error. So ``auto`` boots the real guest
under KVM with a timeout, and falls back to TCG if it does not serve in time.
The verdict is cached per (kernel, QEMU version, KVM modules) under the cache
directory, so only the first run on a machine pays for the probe.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from rejuv.lab.errors import LabError
from rejuv.lab.image import GuestImage, cache_dir
from rejuv.lab.machine import qemu_version
from rejuv.lab.vm import VM, VMConfig, VMHost

__all__ = ["Accelerator", "choose_accelerator", "ACCELERATORS"]

ACCELERATORS = ("auto", "kvm", "tcg")


@dataclass(frozen=True)
class Accelerator:
    """The accelerator chosen (``kvm`` or ``tcg``) and why."""

    name: str
    reason: str


def _kvm_modules() -> list[str]:
    modules = Path("/sys/module")
    return sorted(p.name for p in modules.glob("kvm*")) if modules.is_dir() else []


def _verdict_file(cache: Path | None) -> Path:
    facts = json.dumps([platform.release(), qemu_version(), _kvm_modules()])
    return (cache or cache_dir()) / "lab" / f"accel-{hashlib.sha256(facts.encode()).hexdigest()[:16]}.json"


async def _probe(image: GuestImage, host: VMHost, run_dir: Path, timeout: float) -> str | None:
    """None if a guest boots and serves under KVM within ``timeout`` s, else why not."""
    vm = VM(0, host, image, run_dir, VMConfig(accel="kvm", boot_timeout=timeout))
    try:
        await vm.boot()
        return None
    except LabError as err:
        return str(err)
    finally:
        await vm.close()
        vm.serial_log.unlink(missing_ok=True)


async def choose_accelerator(
    requested: str, image: GuestImage, host: VMHost, run_dir: Path, timeout: float = 20.0, cache: Path | None = None
) -> Accelerator:
    """``tcg``, ``kvm`` (probed; LabError if it fails) or ``auto`` (probed, cached, TCG fallback)."""
    if requested not in ACCELERATORS:
        raise LabError("accel", f"must be one of {', '.join(ACCELERATORS)}, got {requested!r}")
    if requested == "tcg":
        return Accelerator("tcg", "requested")
    if not os.path.exists("/dev/kvm"):
        if requested == "kvm":
            raise LabError("accel", "kvm requested but /dev/kvm does not exist")
        return Accelerator("tcg", "no /dev/kvm")
    verdict = _verdict_file(cache)
    if requested == "auto" and verdict.exists():
        known = json.loads(verdict.read_text())
        return Accelerator(known["name"], f"{known['reason']} (cached probe, {verdict.name})")
    failure = await _probe(image, host, run_dir, timeout)
    modules = ", ".join(_kvm_modules()) or "none"
    if failure is None:
        chosen = Accelerator("kvm", f"a guest booted under KVM within {timeout:g} s (modules: {modules})")
    elif requested == "kvm":
        raise LabError("accel", f"kvm requested but the probe boot failed: {failure}")
    else:
        chosen = Accelerator("tcg", f"KVM probe boot failed, TCG used (modules: {modules}): {failure}")
    verdict.parent.mkdir(parents=True, exist_ok=True)
    verdict.write_text(json.dumps({"name": chosen.name, "reason": chosen.reason}))
    return chosen
