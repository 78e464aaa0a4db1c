#!/usr/bin/env bash
# `make mutation`: mutation testing with mutmut over the pure utils and the
# write path, killed by the fast tests only (unit tests and the I/O layer's
# own tests: no sshd, no Salt, no e2e). Prints the score per module. Not in CI:
# a full run takes tens of minutes on 2 cores. See docs/mutation.md.
#
# Environment: MUTATION_VENV (mutmut's venv), MUTATION_DIR (scratch copy, kept
# between runs for `mutmut show NAME`), MUTATION_TIMEOUT (seconds, default
# 3600), MUTATION_CHILDREN (parallel workers, default 2). Extra arguments are
# mutant names or globs to (re)run, e.g. scripts/mutation.sh 'idlelock_policy.*'
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${MUTATION_VENV:-/var/cache/idlelock/mutation-venv}
work=${MUTATION_DIR:-/var/cache/idlelock/mutation}

# The modules under mutation: the pure logic, and idlelock_system for its write
# path (the score script counts its write functions apart from its probes).
modules=(idlelock_policy idlelock_sshd idlelock_shell idlelock_audit idlelock_report
         idlelock_logind idlelock_match idlelock_system idlelock_enforce)

import_time=('idlelock_policy.x__seconds__mutmut_*' 'idlelock_policy.x__whole__mutmut_*'
             'idlelock_policy.x__pattern__mutmut_*' 'idlelock_policy.x__keyword__mutmut_*')

if [[ ! -x $venv/bin/mutmut ]]; then
  echo "== creating $venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r "$repo/tests/requirements-mutation.txt"

# mutmut names a mutant after its file's path and imports it from mutants/src,
# while the tests import the utils as top-level modules (pytest's pythonpath
# is _utils): lay the utils out as src/ in a scratch copy of the repository.
if (($# == 0)); then
  rm -rf "$work"
fi
mkdir -p "$work/src"
rm -rf "$work/tests" "$work/src"/*.py
cp -r "$repo/tests" "$work/tests"
present=()
for module in "${modules[@]}"; do
  [[ -f $repo/_utils/$module.py ]] && present+=("src/$module.py")
done
for path in "$repo/_utils"/*.py; do   # the rest only imported, never mutated
  cp "$path" "$work/src/"
done
{
  echo "[mutmut]"
  echo "source_paths = src"
  echo "only_mutate ="
  printf '    %s\n' "${present[@]}"
  echo "pytest_add_cli_args_test_selection ="
  echo "    tests/unit"
  echo "    tests/functional/test_system_io.py"
  echo "pytest_add_cli_args ="
  echo "    -p no:cacheprovider"
  echo "    --ignore=tests/unit/test_formula_lint.py"
  # Workers fork from the process that already imported the modules: about
  # five times faster here than importing afresh per mutant (forkserver), at a
  # price: code that runs at import time (the validator factories that build
  # policy.SCHEMA) keeps its original behaviour. MUTATION_ISOLATION=forkserver
  # checks those mutants too; docs/mutation.md lists them.
  if [[ ${MUTATION_ISOLATION:-fork} == forkserver ]]; then
    echo "process_isolation = forkserver"
    echo "forkserver_warmup = none"
  fi
  echo "[tool:pytest]"
  echo "addopts = -p no:cacheprovider"
} > "$work/setup.cfg"

cd "$work"
status=0
timeout "${MUTATION_TIMEOUT:-3600}" nice -n 10 "$venv/bin/mutmut" run \
  --max-children "${MUTATION_CHILDREN:-2}" "$@" > mutmut-run.log 2>&1 || status=$?
if ((status == 124)); then
  echo "mutmut stopped after ${MUTATION_TIMEOUT:-3600} s; the score covers the mutants it checked"
elif ((status != 0)); then
  tail -n 30 mutmut-run.log | tr '\r' '\n' | tail -n 20
  exit "$status"
fi
# Functions that run at import time (policy's validator factories, called to
# build SCHEMA) keep their original behaviour in forked workers: check their
# mutants once more with the modules imported afresh, mutant active.
if (($# == 0)); then
  sed -i 's/^\[tool:pytest\]$/process_isolation = forkserver\nforkserver_warmup = none\n&/' setup.cfg
  timeout "${MUTATION_TIMEOUT:-3600}" nice -n 10 "$venv/bin/mutmut" run \
    --max-children "${MUTATION_CHILDREN:-2}" "${import_time[@]}" >> mutmut-run.log 2>&1 || true
fi
"$venv/bin/mutmut" results --all true > mutmut-results.txt
"$venv/bin/python" "$repo/scripts/mutation_score.py" mutmut-results.txt
