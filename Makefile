# Two entry points, each sets everything up on a fresh machine:
#   make reproduce   the main job: the paper's results and figures in ./rejuv-out/
#   make test        ruff, mypy (strict) and the test suite (with rejuv lab's real QEMU VMs)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

# rejuv lab's tests and benchmarks boot real QEMU VMs (TCG) in a network namespace: QEMU,
# busybox-static for the guest's initramfs, e2fsprogs for its data disk, cpio and kmod (depmod)
# to build it, iproute2 for the namespace, httperf for the client check. Installed from Debian's
# packages when missing and we are root; otherwise the tests that need them say so and skip.
LAB_PACKAGES = qemu-system-x86 qemu-utils busybox-static e2fsprogs cpio kmod iproute2 procps httperf

.PHONY: reproduce test lint lab-deps bench figures clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lab,sweep,parquet]'
	touch $(STAMP)

reproduce: $(STAMP)
	$(BIN)/rejuv reproduce

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks figures
	$(BIN)/ruff format --check src tests benchmarks figures
	$(BIN)/mypy

lab-deps:
	@if command -v qemu-system-x86_64 >/dev/null && command -v busybox >/dev/null && command -v httperf >/dev/null \
	    && command -v mkfs.ext4 >/dev/null && command -v cpio >/dev/null && command -v depmod >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(LAB_PACKAGES); \
	else echo "note: QEMU and the guest-building tools are missing and this is not a root Debian shell:"; \
	    echo "      rejuv lab's tests will skip (apt-get install $(LAB_PACKAGES))"; fi

test: lint lab-deps
	$(BIN)/python -m pytest

bench: $(STAMP) lab-deps
	$(BIN)/python -m pip install --quiet -e '.[test,lab,sweep,parquet,bench]'
	for script in benchmarks/*.py; do case $$script in */_*|*/scalar_model.py) ;; *) $(BIN)/python $$script || exit 1;; esac; done

figures: $(STAMP)
	for script in figures/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) rejuv-out .mypy_cache .pytest_cache .ruff_cache
