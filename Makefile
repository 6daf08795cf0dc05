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
# QEMU itself must be >= 10.0, which has the cpr-transfer migration mode (docs/lab.md): on Debian 12
# it comes from bookworm-backports, added as Debian's backports instructions say, on the mirror the machine's
# own sources already use,
# and a QEMU 7.2 already there is upgraded. Nothing is fetched when everything is there already.
LAB_PACKAGES = busybox-static e2fsprogs cpio kmod iproute2 procps httperf
LAB_QEMU     = qemu-system-x86 qemu-utils
QEMU_MIN     = 10
LAB_READY    = command -v busybox >/dev/null && command -v httperf >/dev/null && command -v mkfs.ext4 >/dev/null \
	&& command -v cpio >/dev/null && command -v depmod >/dev/null && command -v qemu-system-x86_64 >/dev/null \
	&& [ "$$(qemu-system-x86_64 --version | sed -n '1s/^QEMU emulator version \([0-9]*\)\..*/\1/p')" -ge $(QEMU_MIN) ] 2>/dev/null

.PHONY: reproduce test lint lab-deps browser-deps prometheus-deps bench figures clean mutation

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
	@if $(LAB_READY); then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    codename=$$(. /etc/os-release && echo "$$VERSION_CODENAME"); target=; \
	    if [ "$$codename" = bookworm ]; then target="-t bookworm-backports"; \
	        grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ \
	        || { mirror=$$( (sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources; \
	                         awk '$$1 == "deb" { print $$2 }' /etc/apt/sources.list) 2>/dev/null | grep -v security | head -n 1); \
	             printf '%s\n' 'Types: deb' "URIs: $$mirror" 'Suites: bookworm-backports' \
	                 'Components: main' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
	                 > /etc/apt/sources.list.d/debian-backports.sources; }; fi; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(LAB_PACKAGES) \
	    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$target $(LAB_QEMU) \
	    && { $(LAB_READY) || echo "note: no QEMU >= $(QEMU_MIN) here ($$(qemu-system-x86_64 --version | head -1)): the cpr-transfer tests will skip"; }; \
	else echo "note: QEMU >= $(QEMU_MIN) or the guest-building tools are missing and this is not a root Debian shell:"; \
	    echo "      rejuv lab's tests will skip or run the older mechanisms (apt-get install $(LAB_PACKAGES) $(LAB_QEMU))"; fi

# rejuv report's page is opened in a real browser by the tests: Debian's chromium, headless.
# Installed when missing and we are root with apt-get; otherwise those tests skip and say so.
browser-deps:
	@if command -v chromium >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "note: chromium is missing and this is not a root Debian shell: rejuv report's browser tests will skip"; \
	    echo "      (apt-get install chromium)"; fi

# Debian's prometheus, which tests/test_lab_prometheus.py starts on loopback to scrape rejuv lab run --metrics.
prometheus-deps:
	@if command -v prometheus >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus; \
	else echo "note: prometheus is missing and this is not a root Debian shell: the live Prometheus test will skip"; \
	    echo "      (apt-get install prometheus)"; fi

test: lint lab-deps browser-deps prometheus-deps
	$(BIN)/python -m pytest

bench: $(STAMP) lab-deps
	$(BIN)/python -m pip install --quiet -e '.[test,lab,sweep,parquet,bench]'
	for script in benchmarks/*.py; do case $$script in */_*|*/scalar_model.py) ;; *) $(BIN)/python $$script || exit 1;; esac; done

# One planted bug at a time in model/, trace/segment.py and sim/engine.py, each run against the
# tests that reach it (pyproject.toml's [tool.mutmut]); not part of make test. Survivors and
# their verdicts: docs/mutation.md. MUTANTS='rejuv.trace.segment*' narrows the run; results are
# kept in mutants/ and resumed, so remove it for a run from scratch.
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,lab,sweep,parquet,mutation]'
	nice -n 19 $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/mutmut results | { grep -v ': not checked$$' || true; }

figures: $(STAMP)
	for script in figures/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) rejuv-out .mypy_cache .pytest_cache .ruff_cache
