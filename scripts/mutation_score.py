"""
Print the mutation score per module from ``mutmut results --all true``.

Killed: a test failed (or timed out) with the mutant in place. Survived: every
test passed, or no fast test runs that code at all ("no tests"). The score is
killed / (killed + survived). idlelock_system is split in two: its write path
(the atomic writes, rollback, symlinks and backups that the fast tests cover)
and its probes (sshd and login shells, covered by the functional tests only).

Usage: python scripts/mutation_score.py mutmut-results.txt
"""

import collections
import re
import sys

KILLED = {"killed", "timeout", "caught by type check", "segfault"}
SURVIVED = {"survived", "no tests", "suspicious"}
# idlelock_system functions that make up the write path.
WRITE_PATH = re.compile(r"write|symlink|read_bytes|host_path|backup")
_LINE = re.compile(r"^\s*(?P<name>\S+)__mutmut_\d+: (?P<status>.+)$")


# Orchestration over real daemons and shells: its mutants die in the functional
# tests (Salt's loader, the real sshd), which the fast runner leaves out.
ORCHESTRATION = {"idlelock_enforce"}


def group(name):
    """The row a mutant counts in: its module, idlelock_system split by function."""
    module, _, function = name.partition(".")
    if module in ORCHESTRATION:
        return f"{module} (functional tests only)"
    if module == "idlelock_system":
        function = re.sub(r"^x_|^xǁ\w+ǁ", "", function)
        return f"{module} ({'write path' if WRITE_PATH.search(function) else 'probes'})"
    return module


def main(path):
    counts = collections.defaultdict(collections.Counter)
    survivors = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            found = _LINE.match(line)
            if not found:
                continue
            status = found["status"].strip()
            counts[group(found["name"])][status] += 1
            if status in SURVIVED:
                survivors.append(line.strip())
    print(f"{'module':<32} {'killed':>6} {'survived':>8} {'no tests':>8} {'score':>7}")
    for module in sorted(counts):
        c = counts[module]
        killed = sum(c[s] for s in KILLED)
        survived = sum(c[s] for s in SURVIVED)
        score = 100.0 * killed / (killed + survived) if killed + survived else 100.0
        print(f"{module:<32} {killed:>6} {c['survived'] + c['suspicious']:>8} "
              f"{c['no tests']:>8} {score:>6.1f}%")
    others = {s for c in counts.values() for s in c} - KILLED - SURVIVED
    if others:
        print("not counted:", ", ".join(sorted(others)))
    print(f"{len(survivors)} surviving mutants: `mutmut show NAME` in the scratch directory")


if __name__ == "__main__":
    main(sys.argv[1])
