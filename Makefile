# make bench: idlelock's benchmarks (bench/bench.py), as root. They print ratios
# measured in one run; see docs/bench.md. VENV=/path/to/venv reuses a venv.
VENV ?= .venv
PYTHON := $(VENV)/bin/python

.PHONY: bench
bench: $(PYTHON)
	$(PYTHON) bench/bench.py $(BENCH_ARGS)

# The test suite's venv (scripts/test.sh makes the same one): pinned Salt and
# pytest-salt-factories.
$(PYTHON):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
