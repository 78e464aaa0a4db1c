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


def desired_for(scenario, defaults):
    policy, errors, _ = idlelock_policy.resolve(scenario.get("policy", {}), defaults, (9, 2))
    assert errors == []
    return idlelock_policy.sshd_directives(policy["sshd"])


@pytest.mark.parametrize("scenario", scenarios.params("sshd", error=(None, None)))
def test_sources_and_plan(scenario, defaults):
    tree_files = scenarios.files(scenario, ROOT)
    for rel, target in scenario.get("symlinks", {}).items():
        tree_files[posixpath.join(ROOT, rel)] = tree_files[posixpath.join(ROOT, target)]
    read, expand = fake_fs(tree_files)
    tree = idlelock_sshd.walk(f"{ROOT}/sshd_config", read, expand)

    winners = tree.winners(idlelock_policy.SSHD_KEYWORDS.values())
    for keyword, source in scenario.get("before", {}).items():
        found = winners[keyword].source if keyword in winners else "default"
        assert scenarios.relative(found, ROOT) == source, keyword

    desired = idlelock_sshd.carry_list_entries(tree, desired_for(scenario, defaults), {})[0]
    plan = idlelock_sshd.plan(tree, desired, read, expand)
    assert scenarios.relative(plan.target, ROOT) == scenario["target"]
    assert [scenarios.relative(d.source, ROOT) for d in plan.disabled] == scenario["disabled"]
    assert (plan.texts == {}) is scenario.get("unchanged", False)
    # Whatever was planned, sshd's first-value-wins rule now picks idlelock's values.
    final = plan.tree.winners(desired)
    for keyword, value in desired.items():
        assert idlelock_sshd.normalize(keyword, final[keyword].value) == idlelock_sshd.normalize(
            keyword, value
        )
