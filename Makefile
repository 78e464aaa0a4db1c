# make bench: idlelock's benchmarks (bench/bench.py), as root. They print ratios
# measured in one run; see docs/bench.md. VENV=/path/to/venv reuses a venv;
# BENCH_ARGS="--pairs 21" takes more pairs.
VENV ?= /var/cache/idlelock/venv
PYTHON := $(VENV)/bin/python

.PHONY: bench
bench: $(PYTHON)
	@command -v strace >/dev/null && [ -x /usr/sbin/sshd ] || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace openssh-server >/dev/null; }
	$(PYTHON) bench/bench.py $(BENCH_ARGS)

# The test suite's venv (scripts/test.sh makes the same one): pinned Salt and
# pytest-salt-factories.
$(PYTHON):
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt

# make mutation: mutmut over the pure utils and the write path, killed by the
# fast tests; prints the score per module (docs/mutation.md). Slow: not in CI.
.PHONY: mutation
mutation:
	scripts/mutation.sh
