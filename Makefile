# Two entry points that set everything up themselves: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
export JAX_PLATFORMS ?= cpu

.PHONY: demo test bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install -q -e '.[bench]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/rnnscope demo --store runs

# one pytest process per test file, two at a time, each printing its wall time: each file starts
# from a fresh JAX (a single process compiling for the whole suite once crashed inside XLA late in the run)
test: $(VENV)/.installed-test
	ls tests/test_*.py tests/faults/test_*.py | xargs -P 2 -I{} sh -c \
	  'start=$$(date +%s); $(PY) -m pytest -p no:cacheprovider {}; rc=$$?; echo "{}: $$(($$(date +%s) - start)) s"; exit $$rc'

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/population_throughput.py

clean:
	rm -rf runs .pytest_cache
