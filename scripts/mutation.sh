#!/usr/bin/env bash
# `make mutation`: mutation testing with mutmut over the pure utils and the
# write path, killed by the fast tests only (unit tests and the I/O layer's
# own tests: no sshd daemon, no Salt, no e2e). Prints the score per module.
# Not in CI: every mutant runs the tests that cover it, so a full run takes
# about an hour on 2 idle cores. See docs/mutation.md.
#
# Environment:
#   MUTATION_SAMPLE   check N mutants per module, drawn with a fixed seed (the
#                     same ones every run), e.g. 30: minutes instead of an hour
#   MUTATION_TIMEOUT  seconds before mutmut is stopped (default 3600); the
#                     score then covers the mutants it checked
#   MUTATION_CHILDREN parallel workers (default 2)
#   MUTATION_VENV     mutmut's venv (default /var/cache/idlelock/mutation-venv)
#   MUTATION_DIR      scratch copy, kept afterwards for `mutmut show NAME`
#   MUTATION_MODULES  mutate only these modules (space-separated), e.g.
#                     idlelock_report: the others are imported, never mutated
# Arguments (optional):
#   --again           keep the scratch copy's results and bring in the current
#                     utils and tests: the mutants of changed functions are made
#                     and checked anew, every survivor is checked again (a
#                     killed mutant stays killed: tests are only added)
#   NAME...           mutant names or globs to (re)check in the scratch copy,
#                     e.g. scripts/mutation.sh 'idlelock_policy.x_resolve__mutmut_*'
# Survivors listed as equivalent in docs/mutation/*.md are counted apart; the
# others are written to $MUTATION_DIR/survivors.txt.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${MUTATION_VENV:-/var/cache/idlelock/mutation-venv}
work=${MUTATION_DIR:-/var/cache/idlelock/mutation}
children=${MUTATION_CHILDREN:-2}
limit=${MUTATION_TIMEOUT:-3600}

# The modules under mutation: the pure logic, and idlelock_system for its write
# path (the score script counts its write functions apart from its probes).
# idlelock_enforce is orchestration, listed for completeness: only the
# functional tests reach it.
modules=(idlelock_policy idlelock_sshd idlelock_shell idlelock_audit idlelock_report
         idlelock_logind idlelock_match idlelock_unplan idlelock_scanner
         idlelock_system idlelock_enforce)
if [[ -n ${MUTATION_MODULES:-} ]]; then
  read -r -a modules <<< "$MUTATION_MODULES"
fi
# Functions that run at import time (policy's validator factories, called to
# build SCHEMA): a worker forked after the import keeps their original
# behaviour, so their mutants are checked again with fresh imports.
import_time='^idlelock_policy\.x__(seconds|whole|pattern|keyword)__mutmut_'

if [[ ! -x $venv/bin/mutmut ]]; then
  echo "== creating $venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --disable-pip-version-check -r "$repo/tests/requirements-mutation.txt"
mutmut=("nice" "-n" "10" "$venv/bin/mutmut")

# mutmut names a mutant after its file's path and imports it from mutants/src,
# while the tests import the utils as top-level modules (pytest's pythonpath
# is _utils): lay the utils out as src/ in a scratch copy of the repository.
again=0
if [[ ${1:-} == --again ]]; then
  again=1
  shift
  [[ -d $work/mutants ]] || { echo "no scratch copy in $work: run make mutation first"; exit 2; }
fi
fresh=$(($# == 0 && !again))
if ((fresh)); then
  rm -rf "$work"
fi
mkdir -p "$work/src"
rm -rf "$work/tests" "$work/src"/*.py
cp -r "$repo/tests" "$work/tests"
cp "$repo/_utils"/*.py "$work/src/"   # the ones not listed are imported, never mutated
# The report's unit tests compare the rendered page with the committed sample.
mkdir -p "$work/docs"
cp "$repo/docs/report-sample.html" "$work/docs/"
present=()
for module in "${modules[@]}"; do
  [[ -f $repo/_utils/$module.py ]] && present+=("src/$module.py")
done
config() {  # $1: fork (fast) or forkserver (fresh imports per mutant)
  echo "[mutmut]"
  echo "source_paths = src"
  echo "only_mutate ="
  printf '    %s\n' "${present[@]}"
  echo "also_copy ="
  echo "    docs"
  echo "pytest_add_cli_args_test_selection ="
  echo "    tests/unit"
  echo "    tests/functional/test_system_io.py"
  echo "    tests/functional/test_system_writes.py"
  echo "pytest_add_cli_args ="
  echo "    -p no:cacheprovider"
  echo "    --ignore=tests/unit/test_formula_lint.py"
  echo "    --ignore=tests/unit/test_packaging.py"  # reads the real setup.cfg and _utils/
  # It checks the state module's interface, read from the repository's _states,
  # which the scratch copy does not hold; it runs no util.
  echo "    --ignore=tests/unit/test_state_interfaces.py"
  if [[ $1 == forkserver ]]; then
    echo "process_isolation = forkserver"
    echo "forkserver_warmup = none"
  fi
  echo "[tool:pytest]"
  echo "addopts = -p no:cacheprovider"
}
config fork > "$work/setup.cfg"
cd "$work"

run() {  # mutmut run, bounded in time; returns its status
  local status=0
  timeout "$limit" "${mutmut[@]}" run --max-children "$children" "$@" >> mutmut-run.log 2>&1 || status=$?
  if ((status == 124)); then
    echo "mutmut stopped after $limit s; the score covers the mutants it checked"
  fi
  return "$status"
}

survivors() {  # names of the mutants that survived, or that no test reached
  "${mutmut[@]}" results --all true > mutmut-results.txt
  sed -n 's/^ *\([^ :]*\): \(survived\|no tests\|suspicious\)$/\1/p' mutmut-results.txt
}
recheck_import_time() {  # $@: names; those of import-time functions, with fresh imports
  local again=()
  mapfile -t again < <(printf '%s\n' "$@" | grep -E "$import_time" || true)
  if ((${#again[@]})); then
    config forkserver > setup.cfg
    run "${again[@]}" || true
    config fork > setup.cfg
  fi
}

names=("$@")
if ((again)); then
  # First the mutants of changed or new functions (mutmut checks only those
  # without a result), then every survivor again, against the new tests.
  run || { status=$?; ((status == 124)) || { tr '\r' '\n' < mutmut-run.log | tail -n 20; exit "$status"; }; }
  mapfile -t names < <(survivors)
fi
if ((fresh)) && [[ -n ${MUTATION_SAMPLE:-} ]]; then
  # Generate the mutants only (no name matches), then draw the sample.
  "${mutmut[@]}" run --max-children "$children" idlelock-generate-only > mutmut-run.log 2>&1 || true
  "${mutmut[@]}" results --all true > mutmut-all.txt
  mapfile -t names < <("$venv/bin/python" "$repo/scripts/mutation_score.py" \
                       --sample "$MUTATION_SAMPLE" mutmut-all.txt)
fi
status=0
if ((!again || ${#names[@]})); then
  run "${names[@]}" || status=$?
fi
if ((status != 0 && status != 124)); then
  tr '\r' '\n' < mutmut-run.log | tail -n 20
  exit "$status"
fi
if ((fresh)); then
  "${mutmut[@]}" results --all true > mutmut-results.txt
  recheck_import_time $(sed -n 's/^ *\([^ :]*\): .*/\1/p' mutmut-results.txt |
                        grep -vxF -f <(sed -n 's/^ *\([^ :]*\): not checked$/\1/p' mutmut-results.txt))
elif ((again)); then
  recheck_import_time $(survivors)
fi
"${mutmut[@]}" results --all true > mutmut-results.txt
"$venv/bin/python" "$repo/scripts/mutation_score.py" --equivalent "$repo"/docs/mutation/*.md -- \
  mutmut-results.txt
