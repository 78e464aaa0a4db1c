"""The sshd scenario folder through the pure walker and planner (no sshd, no disk)."""

import fnmatch
import posixpath

import pytest

import idlelock_policy
import idlelock_sshd
from tests.support import scenarios

ROOT = "/sandbox"


def fake_fs(tree_files):
    def read(path):
        return tree_files.get(path)

    def expand(pattern):
        directory, name = posixpath.split(pattern)
        return sorted(
            path
            for path in tree_files
            if posixpath.dirname(path) == directory
            and fnmatch.fnmatchcase(posixpath.basename(path), name)
            and not posixpath.basename(path).startswith(".")
        )

    return read, expand


def resolved_sshd(scenario, defaults):
    policy, errors, _ = idlelock_policy.resolve(scenario.get("policy", {}), defaults, (9, 2))
    assert errors == []
    return policy["sshd"]


@pytest.mark.parametrize("scenario", scenarios.params("sshd", error=(None, None)))
def test_sshd_scenario(scenario, defaults):
    tree_files = scenarios.files(scenario, ROOT)
    for rel, target in scenario.get("symlinks", {}).items():
        tree_files[posixpath.join(ROOT, rel)] = tree_files[posixpath.join(ROOT, target)]
    read, expand = fake_fs(tree_files)
    tree = idlelock_sshd.walk(f"{ROOT}/sshd_config", read, expand)

    winners = tree.winners(idlelock_policy.SSHD_KEYWORDS.values())
    for keyword, source in scenario.get("before", {}).items():
        found = winners[keyword].source if keyword in winners else "default"
        assert scenarios.relative(found, ROOT) == source, keyword

    sshd = resolved_sshd(scenario, defaults)
    desired = idlelock_policy.sshd_directives(sshd)
    plan = idlelock_sshd.plan(tree, desired, read, expand, sshd["layout"])
    assert scenarios.relative(plan.target, ROOT) == scenario["target"]
    removed = [scenarios.relative(path, ROOT) for path, text in plan.texts.items() if text is None]
    assert removed == scenario.get("removed", [])
    assert [scenarios.relative(d.source, ROOT) for d in plan.disabled] == scenario["disabled"]
    assert (plan.texts == {}) is scenario.get("unchanged", False)
    # The files as written, read afresh (not the planner's own last walk): sshd's
    # first-value-wins rule picks the values the scenario expects.
    written = {path: text for path, text in dict(tree_files, **plan.texts).items()
               if text is not None}  # None: a file the plan removes
    final = idlelock_sshd.walk(f"{ROOT}/sshd_config", *fake_fs(written)).winners(
        idlelock_policy.SSHD_KEYWORDS.values())
    for keyword, value in scenarios.sshd_effective(scenario).items():
        winner = next(w for k, w in final.items() if k.lower() == keyword)
        assert idlelock_sshd.normalize(keyword, winner.value) == value, keyword
