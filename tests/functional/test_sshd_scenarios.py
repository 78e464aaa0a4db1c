"""
The sshd scenario folder through Salt's loader and the real sshd.

For each host layout: ``idlelock.set_sshd`` makes the policy effective as
``sshd -T`` reports it (or fails and changes nothing), and a second run is a
no-op that writes nothing.
"""

import os
import subprocess

import pytest

from tests.support import scenarios
from tests.support.scenarios import flatten
from tests.support.sshd_sandbox import effective, snapshot


@pytest.mark.parametrize("scenario", scenarios.params("sshd", functional=(True, True)))
def test_sshd_scenario(scenario, tmp_path, host_key, idlelock):
    root = tmp_path / "tree"
    root.mkdir()
    scenarios.materialize(scenario, root, host_key)
    # Deepest first, so a 0700 directory is set after the files inside it.
    for rel, mode in sorted(scenario.get("modes", {}).items(), key=lambda i: -len(i[0])):
        os.chmod(root / rel, int(mode, 8))
    config = str(root / "sshd_config")
    policy = dict(scenario.get("policy", {}))
    policy["sshd"] = dict(policy.get("sshd", {}), config=config, manage_service=False)
    before = snapshot(root)

    ret = idlelock.set_sshd(**flatten(policy))

    if scenario.get("error"):
        assert ret["result"] is False
        assert scenario["error"] in ret["comment"]
        assert snapshot(root) == before, "a failed run must change nothing"
        return
    assert ret["result"] is True, ret["comment"]
    warnings = [scenarios.relative(w, root) for w in ret["warnings"]]
    for expected in scenario.get("warnings", []):
        assert any(expected in w for w in warnings), (expected, warnings)
    comment = scenarios.relative(ret["comment"], root)
    for expected in scenario.get("comment", []):
        assert expected in comment, comment
    extra = ()
    if scenario.get("throwaway_key"):
        # An image without host keys: plain sshd -T refuses it, so the proof is
        # the one a user would run there, sshd -T with a host key of one's own.
        with pytest.raises(subprocess.CalledProcessError):
            effective(config)
        extra = ("-h", str(host_key))
    values = effective(config, *extra)
    for keyword, value in scenarios.sshd_effective(scenario).items():
        assert values.get(keyword) == value, keyword
    for disabled in scenario["disabled"]:
        rel, lineno = disabled.rsplit(":", 1)
        line = (root / rel).read_text().splitlines()[int(lineno) - 1]
        assert line.lstrip().startswith("# idlelock disabled: ")
    if scenario.get("unchanged"):
        assert ret["changes"] == {} and snapshot(root) == before
    for rel in scenario.get("symlinks", {}):
        assert os.path.islink(root / rel), "the symlink itself must stay a symlink"

    for rel, mode in scenario.get("written_modes", {}).items():
        info = os.stat(root / rel)
        assert f"{info.st_mode & 0o7777:04o} {info.st_uid}:{info.st_gid}" == mode, rel

    after_first = snapshot(root)
    again = idlelock.set_sshd(**flatten(policy))
    assert again["result"] is True and again["changes"] == {}
    assert snapshot(root) == after_first, "a second run must write nothing"
