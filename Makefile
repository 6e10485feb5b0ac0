# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.duopod-installed

.PHONY: demo test quick bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

## Set up, then build the example episodes offline into episodes/
demo: $(STAMP)
	$(BIN)/duopod build scripts/2025-12-10-h200.md scripts/2025-12-12-open-weights.md --engine espeak

## Set up, then run the test suite
test: $(STAMP)
	$(BIN)/python -m pytest

## The fast unit tests only (under a minute)
quick: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

## Benchmarks (not part of the test suite)
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) .duopod .pytest_cache
