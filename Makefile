# Two entry points, each sets everything up on a fresh machine:
#   make reproduce   the main job: the paper's results and figures in ./rejuv-out/
#   make test        ruff, mypy (strict) and the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: reproduce test lint bench figures clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

reproduce: $(STAMP)
	$(BIN)/rejuv reproduce

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks figures
	$(BIN)/ruff format --check src tests benchmarks figures
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	for script in benchmarks/*.py; do case $$script in */_*|*/scalar_model.py) ;; *) $(BIN)/python $$script || exit 1;; esac; done

figures: $(STAMP)
	for script in figures/*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) rejuv-out .mypy_cache .pytest_cache .ruff_cache
