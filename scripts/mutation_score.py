"""
Print the mutation score per module from ``mutmut results --all true``.

Killed: a test failed (or timed out) with the mutant in place. Survived: every
test passed, or no fast test runs that code at all ("no tests"). A survivor
listed in a table of equivalent mutants (docs/mutation/<module>.md; first cell:
the mutant's name in backticks, and ```_16``` after a full name for the same
function's mutant 16) is counted apart as *equivalent*: no input the code can
receive tells it from the original, and the table says why. The score is killed / checked;
"with equivalent" adds the listed ones. idlelock_system is split in two: its
write path (the atomic writes, rollback, symlinks and backups that the fast
tests cover) and its probes (sshd and login shells, covered by the functional
tests only).

Usage: python scripts/mutation_score.py [--equivalent docs/mutation/*.md --] mutmut-results.txt
                                        [import-time-results.txt]
       python scripts/mutation_score.py --sample N mutmut-results.txt
The first form also writes ``survivors.txt`` beside the results: the names of
the survivors nobody has explained, for ``mutmut show NAME``. The second prints
the names of N mutants per measured row, drawn with a fixed seed (rows that the
fast tests do not aim to cover are left out).
"""

import argparse
import collections
import os
import random
import re

KILLED = {"killed", "timeout", "caught by type check", "segfault"}
SURVIVED = {"survived", "no tests", "suspicious"}
# idlelock_system functions that make up the write path: confinement to root
# (resolve, symlinks), bounded reads of what is about to change, atomic writes,
# modes, the all-or-nothing transaction and its rollback, backups, the root's
# lock. The rest are probes (sshd, login shells, /proc).
WRITE_PATH = {
    "resolve", "host_path", "check_root", "read_bytes", "_check_regular", "check_own",
    "read_text", "is_dir", "expand_glob", "stage_dir", "write_plain", "_fsync_dir",
    "make_dirs", "_replace", "file_mode", "write_atomic", "__init__", "write", "rollback",
    "commit", "all_or_nothing", "on_sigterm", "write_all", "root_lock", "write_backups",
}
# Orchestration over real daemons and shells: its mutants die in the functional
# tests (Salt's loader, the real sshd), which the fast runner leaves out.
ORCHESTRATION = {"idlelock_enforce"}
UNMEASURED = re.compile(r"\((?:probes|functional tests only)\)")
_LINE = re.compile(r"^\s*(?P<name>\S+__mutmut_\d+): (?P<status>.+)$")
_TABLE_ROW = re.compile(r"^\|\s*(`[^|]*`)\s*\|")
_CODE = re.compile(r"`([^`]+)`")


def group(name):
    """The row a mutant counts in: its module, idlelock_system split by function."""
    module, _, function = name.partition(".")
    if module in ORCHESTRATION:
        return f"{module} (functional tests only)"
    if module == "idlelock_system":
        function = re.sub(r"^x_|^xǁ\w+ǁ", "", function.partition("__mutmut_")[0])
        return f"{module} ({'write path' if function in WRITE_PATH else 'probes'})"
    return module


def read(*paths):
    """``[(mutant name, status)]`` of every file; a later file's verdict replaces an earlier one."""
    verdicts = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            verdicts.update((found["name"], found["status"].strip())
                            for found in map(_LINE.match, handle) if found)
    return list(verdicts.items())


def equivalent(paths):
    """The mutant names listed as equivalent in the tables of the markdown files ``paths``."""
    names = set()
    for path in paths:
        names |= _listed(path)
    return names


def _listed(path):
    names = set()
    with open(path, encoding="utf-8") as handle:
        for row in map(_TABLE_ROW.match, handle):
            if not row:
                continue
            base = None
            for code in _CODE.findall(row.group(1)):
                if "__mutmut_" in code:
                    base = code.rpartition("__mutmut_")[0]
                    names.add(code)
                elif base and re.fullmatch(r"_\d+", code):
                    names.add(f"{base}__mutmut{code}")
    return names


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


def main(paths, listed=frozenset()):
    results = dict(read(*paths))
    counts = collections.defaultdict(collections.Counter)
    unexplained = []
    for name, status in results.items():
        if status == "not checked":  # left out by a sampled or interrupted run
            continue
        if status in SURVIVED:
            status = "equivalent" if name in listed else status
            if name not in listed:
                unexplained.append(name)
        counts[group(name)][status] += 1
    print(f"{'module':<36} {'killed':>6} {'survived':>8} {'no tests':>8} {'equiv.':>6} "
          f"{'score':>7} {'with equiv.':>11}")
    for module in sorted(counts):
        c = counts[module]
        killed = sum(c[s] for s in KILLED)
        checked = killed + sum(c[s] for s in SURVIVED) + c["equivalent"]
        print(f"{module:<36} {killed:>6} {c['survived'] + c['suspicious']:>8} "
              f"{c['no tests']:>8} {c['equivalent']:>6} {100.0 * killed / checked:>6.1f}% "
              f"{100.0 * (killed + c['equivalent']) / checked:>10.1f}%")
    others = {s for c in counts.values() for s in c} - KILLED - SURVIVED - {"equivalent"}
    if others:
        print("not counted:", ", ".join(sorted(others)))
    # A listed name that no longer survives (killed since, or gone when its
    # function changed and mutmut renumbered it) would hide a future survivor.
    modules = {name.partition(".")[0] for name, status in results.items()
               if status != "not checked"}
    stale = sorted(name for name in listed if name.partition(".")[0] in modules
                   and results.get(name, "killed") in KILLED)
    if stale:
        print(f"{len(stale)} listed as equivalent but killed or gone: " + ", ".join(stale))
    survivors = os.path.join(os.path.dirname(os.path.abspath(paths[0])), "survivors.txt")
    with open(survivors, "w", encoding="utf-8") as handle:
        handle.writelines(f"{name}\n" for name in sorted(unexplained))
    print(f"{len(unexplained)} surviving mutants not listed as equivalent: {survivors} "
          "(`mutmut show NAME` in the scratch directory)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, help="print N mutant names per measured row")
    parser.add_argument("--equivalent", nargs="+", default=[], metavar="FILE",
                        help="markdown files listing equivalent mutants")
    parser.add_argument("results", nargs="+",
                        help="the output of `mutmut results --all true`, then verdicts that "
                             "replace its own (import-time-results.txt)")
    args = parser.parse_args()
    if args.sample:
        print("\n".join(sample(args.results[0], args.sample)))
    else:
        main(args.results, equivalent(args.equivalent))
