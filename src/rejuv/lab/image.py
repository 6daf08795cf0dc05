"""The guest image: Debian's cloud kernel, a busybox initramfs and an ext4 data disk, cached.

:func:`build_image` makes the three files from Debian packages without
installing any of them: the kernel and its virtio modules come out of the
cloud kernel's ``.deb`` (``apt-get download`` + ``dpkg-deb -x``), the
initramfs is ``busybox`` (from ``busybox-static``) with the scripts of
:mod:`rejuv.lab.guest`, and the data disk is ``files`` files of ``file_kb`` KB
of seeded random bytes, put into an ext4 image by ``mkfs.ext4 -d`` (no mount,
no loop device). The result lives under :func:`cache_dir`, in a folder named
by a hash of every input (kernel package, busybox binary, guest scripts,
recipe), so a changed input builds a new image and an unchanged one is reused.
A build happens in a temporary folder renamed into place when complete.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rejuv.lab import guest
from rejuv.lab.errors import ImageError

__all__ = ["ImageRecipe", "GuestImage", "build_image", "cache_dir", "resolve_kernel_package"]

#: The paper served 5,000 files of 128 KB from warm page caches; the default is scaled down so that a guest's
#: 512 KB/s disk fills its cache with all of them in 5 s, well within the load before a procedure.
DEFAULT_FILES = 20
DEFAULT_FILE_KB = 128
KERNEL_METAPACKAGE = "linux-image-cloud-amd64"
_RECIPE_VERSION = 1


@dataclass(frozen=True)
class ImageRecipe:
    """What goes into a guest image. Raises :class:`ImageError` for non-positive sizes."""

    files: int = DEFAULT_FILES  #: number of data files
    file_kb: int = DEFAULT_FILE_KB  #: size of each data file, KB
    seed: int = 0  #: seed of the files' random content
    kernel_package: str | None = None  #: None: what the cloud kernel metapackage depends on

    def __post_init__(self) -> None:
        if self.files < 1:
            raise ImageError("files", f"must be >= 1, got {self.files}")
        if self.file_kb < 1:
            raise ImageError("file_kb", f"must be >= 1 KB, got {self.file_kb}")


@dataclass(frozen=True)
class GuestImage:
    """A built guest: boot it with ``kernel`` + ``initrd``, attach ``disk`` read-only."""

    folder: Path
    kernel: Path
    initrd: Path
    disk: Path
    kernel_release: str
    files: int
    file_kb: int
    key: str  #: hash of the recipe's inputs


def cache_dir() -> Path:
    """``$REJUV_CACHE_DIR``, else ``$XDG_CACHE_HOME/rejuv``, else ``~/.cache/rejuv``."""
    if "REJUV_CACHE_DIR" in os.environ:
        return Path(os.environ["REJUV_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rejuv"


def _run(step: str, argv: list[str], cwd: Path | None = None) -> str:
    if shutil.which(argv[0]) is None:
        raise ImageError(step, f"{argv[0]} not found; install it (see docs/lab.md, Requirements)")
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ImageError(step, f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout


def resolve_kernel_package() -> str:
    """The versioned cloud kernel package that ``linux-image-cloud-amd64`` depends on now."""
    for line in _run("kernel", ["apt-cache", "depends", KERNEL_METAPACKAGE]).splitlines():
        name = line.strip().removeprefix("Depends:").strip()
        if line.strip().startswith("Depends:") and name.startswith("linux-image-"):
            return name
    raise ImageError("kernel", f"apt-cache lists no kernel for {KERNEL_METAPACKAGE}; run apt-get update")


def _busybox() -> Path:
    found = shutil.which("busybox")
    if found is None:
        raise ImageError("initramfs", "busybox not found; install busybox-static")
    path = Path(found).resolve()
    if b"ld-linux" in path.read_bytes()[:8192]:
        raise ImageError("initramfs", f"{path} is dynamically linked; install busybox-static")
    return path


def _key(recipe: ImageRecipe, kernel_package: str, busybox: Path) -> str:
    inputs = {
        "version": _RECIPE_VERSION,
        "recipe": {**asdict(recipe), "kernel_package": kernel_package},
        "busybox": hashlib.sha256(busybox.read_bytes()).hexdigest(),
        "guest": [guest.INIT_SCRIPT, guest.STATUS_CGI, list(guest.MODULES)],
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def _load(folder: Path) -> GuestImage:
    meta = json.loads((folder / "image.json").read_text())
    return GuestImage(
        folder,
        folder / "vmlinuz",
        folder / "initrd.gz",
        folder / "data.img",
        meta["kernel_release"],
        meta["files"],
        meta["file_kb"],
        meta["key"],
    )


def build_image(
    recipe: ImageRecipe = ImageRecipe(), cache: Path | None = None, progress: Callable[[str], None] = lambda _: None
) -> GuestImage:
    """The guest image for ``recipe``: from the cache, or built now (a minute at most).

    Raises :class:`ImageError` naming the step (``kernel``, ``initramfs``,
    ``disk``) and the tool that failed; a failed build leaves nothing in the cache.
    """
    kernel_package = recipe.kernel_package or resolve_kernel_package()
    busybox = _busybox()
    key = _key(recipe, kernel_package, busybox)
    root = (cache or cache_dir()) / "lab"
    final = root / f"image-{key}"
    if (final / "image.json").exists():
        return _load(final)
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{key}-", dir=root))
    try:
        progress(f"kernel: {kernel_package}")
        release = _kernel(kernel_package, work)
        progress("initramfs: busybox, virtio modules, init")
        _initramfs(busybox, work / "kernel-tree" / "lib" / "modules" / release / "kernel", work / "initrd.gz")
        progress(f"data disk: {recipe.files} files of {recipe.file_kb} KB")
        _data_disk(recipe, work)
        shutil.rmtree(work / "kernel-tree")
        meta = {"kernel_release": release, "files": recipe.files, "file_kb": recipe.file_kb, "key": key}
        meta["kernel_package"] = kernel_package
        (work / "image.json").write_text(json.dumps(meta, indent=1))
        try:
            os.replace(work, final)
        except OSError:  # another build won the race; its result is as good as ours
            shutil.rmtree(work)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return _load(final)


def _kernel(package: str, work: Path) -> str:
    download = work / "download"
    download.mkdir()
    _run("kernel", ["apt-get", "download", package], cwd=download)
    debs = sorted(download.glob("*.deb"))
    if not debs:
        raise ImageError("kernel", f"apt-get download {package} gave no .deb")
    tree = work / "kernel-tree"
    _run("kernel", ["dpkg-deb", "-x", str(debs[0]), str(tree)])
    shutil.rmtree(download)
    kernels = sorted((tree / "boot").glob("vmlinuz-*"))
    if not kernels:
        raise ImageError("kernel", f"{package} holds no boot/vmlinuz-*")
    shutil.copyfile(kernels[0], work / "vmlinuz")
    return kernels[0].name.removeprefix("vmlinuz-")


def _initramfs(busybox: Path, modules: Path, target: Path) -> None:
    root = target.parent / "initramfs"
    for name in ("bin", "proc", "sys", "dev", "www", "srv/cgi-bin", "lib/modules"):
        (root / name).mkdir(parents=True)
    shutil.copyfile(busybox, root / "bin" / "busybox")
    (root / "bin" / "busybox").chmod(0o755)
    for applet in _run("initramfs", [str(busybox), "--list"]).split():
        if applet != "busybox":  # a self-link would replace the binary
            (root / "bin" / applet).symlink_to("busybox")
    order = _module_order(modules)
    for source in order:
        shutil.copyfile(source, root / "lib" / "modules" / source.name)
    (root / "lib" / "modules" / "order").write_text("\n".join(source.name for source in order) + "\n")
    for path, text in (("init", guest.INIT_SCRIPT), ("srv/cgi-bin/status", guest.STATUS_CGI)):
        (root / path).write_text(text)
        (root / path).chmod(0o755)
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    archive = subprocess.run(
        ["cpio", "-o", "-H", "newc", "--quiet"], cwd=root, input="\n".join(names).encode(), capture_output=True
    )
    if archive.returncode != 0:
        raise ImageError("initramfs", f"cpio failed: {archive.stderr.decode().strip()}")
    target.write_bytes(gzip.compress(archive.stdout, compresslevel=6))
    shutil.rmtree(root)


def _module_order(modules: Path) -> list[Path]:
    """The ``.ko`` files of :data:`guest.MODULES` and their dependencies, in load order (``depmod``)."""
    release_dir = modules.parent
    base = release_dir.parent.parent.parent
    _run("initramfs", ["depmod", "-b", str(base), release_dir.name])
    depends: dict[str, list[str]] = {}
    for line in (release_dir / "modules.dep").read_text().splitlines():
        module, _, listed = line.partition(":")
        depends[Path(module).stem] = [module, *listed.split()]
    order: list[Path] = []
    for name in guest.MODULES:
        if name not in depends:
            raise ImageError("initramfs", f"module {name}.ko is missing from the kernel package")
        path, *needs = depends[name]
        for needed in [*reversed(needs), path]:  # modules.dep lists a module's needs last-loaded first
            if release_dir / needed not in order:
                order.append(release_dir / needed)
    for found in order:
        if found.suffix != ".ko":
            raise ImageError("initramfs", f"{found.name}: compressed modules are not supported by busybox insmod")
    return order


def _data_disk(recipe: ImageRecipe, work: Path) -> None:
    files = work / "data"
    files.mkdir()
    generator = np.random.default_rng(recipe.seed)
    for index in range(recipe.files):
        (files / guest.file_name(index)).write_bytes(generator.bytes(recipe.file_kb * 1024))
    size_kb = int(recipe.files * (recipe.file_kb + 4) * 1.1) + 8192
    inodes = str(recipe.files + 64)
    _run(
        "disk",
        ["mkfs.ext4", "-q", "-F", "-m", "0", "-N", inodes, "-d", str(files), str(work / "data.img"), f"{size_kb}k"],
    )
    shutil.rmtree(files)
