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

# the slowest test files go first, so that the two workers finish together
SLOW_TESTS := tests/test_anticollapse_experiments.py tests/test_noise_probes.py tests/test_sweep.py \
  tests/test_examples.py tests/test_report.py tests/test_population.py tests/faults/test_kill_run.py \
  tests/faults/test_kill_sweep.py tests/faults/test_store_faults.py

# The tests compile hundreds of small programs and run each for a few steps: without XLA's backend
# optimisation passes they take about half the CPU time. Files that compare members bit for bit
# across differently shaped programs (populations of 1, 7 and 64) keep the optimisation users run with:
# without it two shapes may round one float differently.
FAST_COMPILE := --xla_backend_optimization_level=0
FULL_XLA_TESTS := tests/test_population.py

# one pytest process per test file, two at a time, each printing its wall time: each file starts
# from a fresh JAX (a single process compiling for the whole suite once crashed inside XLA late in the run)
test: $(VENV)/.installed-test
	(printf '%s\n' $(SLOW_TESTS); ls tests/test_*.py tests/faults/test_*.py) | awk '!seen[$$0]++' | \
	  xargs -P 2 -I{} sh -c 'flags="$(FAST_COMPILE)"; case " $(FULL_XLA_TESTS) " in *" {} "*) flags="";; esac; \
	  start=$$(date +%s); XLA_FLAGS=$$(echo $$flags $$XLA_FLAGS) $(PY) -m pytest -p no:cacheprovider {}; rc=$$?; \
	  echo "{}: $$(($$(date +%s) - start)) s"; exit $$rc'

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/population_throughput.py

clean:
	rm -rf runs .pytest_cache
