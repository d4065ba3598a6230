# spasmwatch — developer entry points. Each target creates .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench evaluate clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/spasmwatch demo

lint: $(STAMP)
	$(VENV)/bin/ruff check dsp host tests docs
	$(VENV)/bin/ruff format --check dsp host tests docs
	$(VENV)/bin/mypy

test: $(STAMP) lint
	$(PY) -m pytest

# The detector's labelled benchmark (docs/detector.md), with and without the accelerometer.
evaluate: $(STAMP)
	$(VENV)/bin/spasmwatch evaluate --both --jobs 2

BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) tests/benchmarks/bench_link.py
	$(PY) tests/benchmarks/bench_dsp.py
	$(PY) tests/benchmarks/bench_detector.py
	$(PY) tests/benchmarks/bench_pipeline.py
	$(PY) tests/benchmarks/bench_store.py
	$(PY) tests/benchmarks/bench_export.py
	$(PY) tests/benchmarks/bench_dashboard.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
