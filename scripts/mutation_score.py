"""
Print the mutation score per module from ``mutmut results --all true``.

Killed: a test failed (or timed out) with the mutant in place. Survived: every
test passed, or no fast test runs that code at all ("no tests"). The score is
killed / (killed + survived), over the mutants checked. idlelock_system is
split in two: its write path (the atomic writes, rollback, symlinks and backups
that the fast tests cover) and its probes (sshd and login shells, covered by
the functional tests only).

Usage: python scripts/mutation_score.py mutmut-results.txt
       python scripts/mutation_score.py --sample N mutmut-results.txt
The second form prints the names of N mutants per measured row, drawn with a
fixed seed (rows that the fast tests do not aim to cover are left out).
"""

import collections
import random
import re
import sys

KILLED = {"killed", "timeout", "caught by type check", "segfault"}
SURVIVED = {"survived", "no tests", "suspicious"}
# idlelock_system functions that make up the write path.
WRITE_PATH = re.compile(r"write|symlink|read_bytes|host_path|backup")
# Orchestration over real daemons and shells: its mutants die in the functional
# tests (Salt's loader, the real sshd), which the fast runner leaves out.
ORCHESTRATION = {"idlelock_enforce"}
UNMEASURED = re.compile(r"\((?:probes|functional tests only)\)")
_LINE = re.compile(r"^\s*(?P<name>\S+__mutmut_\d+): (?P<status>.+)$")


def group(name):
    """The row a mutant counts in: its module, idlelock_system split by function."""
    module, _, function = name.partition(".")
    if module in ORCHESTRATION:
        return f"{module} (functional tests only)"
    if module == "idlelock_system":
        function = re.sub(r"^x_|^xǁ\w+ǁ", "", function.partition("__mutmut_")[0])
        return f"{module} ({'write path' if WRITE_PATH.search(function) else 'probes'})"
    return module


def read(path):
    """``[(mutant name, status)]``."""
    with open(path, encoding="utf-8") as handle:
        return [(found["name"], found["status"].strip())
                for found in map(_LINE.match, handle) if found]


def sample(path, size, seed=19):
    """``size`` mutant names per measured row, the same ones on every run."""
    rows = collections.defaultdict(list)
    for name, _ in read(path):
        rows[group(name)].append(name)
    chosen = []
    for row in sorted(rows):
        if not UNMEASURED.search(row):
            names = sorted(rows[row])
            chosen += random.Random(f"{seed}:{row}").sample(names, min(size, len(names)))
    return chosen


def main(path):
    counts = collections.defaultdict(collections.Counter)
    for name, status in read(path):
        if status != "not checked":  # left out by a sampled or interrupted run
            counts[group(name)][status] += 1
    print(f"{'module':<36} {'killed':>6} {'survived':>8} {'no tests':>8} {'score':>7}")
    for module in sorted(counts):
        c = counts[module]
        killed = sum(c[s] for s in KILLED)
        survived = sum(c[s] for s in SURVIVED)
        score = 100.0 * killed / (killed + survived) if killed + survived else 100.0
        print(f"{module:<36} {killed:>6} {c['survived'] + c['suspicious']:>8} "
              f"{c['no tests']:>8} {score:>6.1f}%")
    others = {s for c in counts.values() for s in c} - KILLED - SURVIVED
    if others:
        print("not counted:", ", ".join(sorted(others)))
    survivors = sum(c[s] for c in counts.values() for s in SURVIVED)
    print(f"{survivors} surviving mutants: `mutmut show NAME` in the scratch directory")


if __name__ == "__main__":
    if sys.argv[1] == "--sample":
        print("\n".join(sample(sys.argv[3], int(sys.argv[2]))))
    else:
        main(sys.argv[1])
