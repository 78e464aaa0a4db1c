#!/usr/bin/env bash
# `make mutation`: mutation testing with mutmut over the pure utils and the
# write path, killed by the fast tests only (unit tests and the I/O layer's
# own tests: no sshd daemon, no Salt, no e2e). Prints the score per module.
# Not in CI: every mutant runs the tests that cover it, so a full run takes
# about 25 minutes on 2 cores. See docs/mutation.md.
#
# Environment:
#   MUTATION_SAMPLE   check N mutants per module, drawn with a fixed seed (the
#                     same ones every run), e.g. 30: a few minutes
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
# build SCHEMA): every mutmut worker forks from a process that imported the
# original module (its forkserver mode too), so SCHEMA never holds the mutant
# there. Each such mutant mutmut leaves alive is checked again by pytest in a
# fresh interpreter (MUTANT_UNDER_TEST set before the import); the verdicts go
# to import-time-results.txt, which the score reads after mutmut's results.
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
# The fast tests: mutmut's test selection, and the fresh-interpreter re-check.
selection=(tests/unit tests/functional/test_system_io.py tests/functional/test_system_writes.py)
ignored=(--ignore=tests/unit/test_formula_lint.py
         --ignore=tests/unit/test_packaging.py            # reads the real setup.cfg and _utils/
         # It checks the state module's interface, read from the repository's
         # _states, which the scratch copy does not hold; it runs no util.
         --ignore=tests/unit/test_state_interfaces.py)
config() {
  echo "[mutmut]"
  echo "source_paths = src"
  echo "only_mutate ="
  printf '    %s\n' "${present[@]}"
  echo "also_copy ="
  echo "    docs"
  echo "pytest_add_cli_args_test_selection ="
  printf '    %s\n' "${selection[@]}"
  echo "pytest_add_cli_args ="
  echo "    -p no:cacheprovider"
  printf '    %s\n' "${ignored[@]}"
  echo "[tool:pytest]"
  echo "addopts = -p no:cacheprovider"
}
config > "$work/setup.cfg"
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
recheck_import_time() {  # the import-time mutants mutmut left alive, in fresh interpreters
  local name status
  : > import-time-results.txt
  for name in $(survivors | grep -E "$import_time" || true); do
    status=0
    (cd mutants && PYTHONPATH=src MUTANT_UNDER_TEST=$name timeout 600 nice -n 10 \
       "$venv/bin/python" -m pytest -x -q -p no:cacheprovider "${ignored[@]}" "${selection[@]}" \
       > /dev/null 2>&1) || status=$?
    case $status in
      0) echo "    $name: survived" ;;
      1) echo "    $name: killed" ;;     # a test failed
      *) echo "    $name: suspicious" ;;  # pytest itself failed (exit $status): not a kill
    esac >> import-time-results.txt
  done
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
recheck_import_time
"$venv/bin/python" "$repo/scripts/mutation_score.py" --equivalent "$repo"/docs/mutation/*.md -- \
  mutmut-results.txt import-time-results.txt
