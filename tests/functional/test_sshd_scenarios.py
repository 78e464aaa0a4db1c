"""
The sshd scenario folder through Salt's loader and the real sshd.

For each host layout: ``idlelock.set_sshd`` makes the policy effective as
``sshd -T`` reports it (or fails and changes nothing), and a second run is a
no-op that writes nothing.
"""

import os
import pathlib
import subprocess

import idlelock_sshd
import pytest

from tests.functional.conftest import flatten
from tests.support import scenarios


def snapshot(root):
    """Every file under ``root``: bytes and mtime."""
    found = {}
    for path in sorted(pathlib.Path(root).rglob("*")):
        if path.is_file() and not path.is_symlink():
            found[str(path)] = (path.read_bytes(), path.stat().st_mtime_ns)
    return found


def effective(config, *extra):
    out = subprocess.run(
        ["/usr/sbin/sshd", "-T", "-f", config, *extra], capture_output=True, text=True,
        check=True, timeout=30).stdout
    return idlelock_sshd.read_effective(out)


@pytest.mark.parametrize("scenario", scenarios.params("sshd", functional=(True, True)))
def test_scenario(scenario, tmp_path, host_key, idlelock):
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
    if "effective_with_throwaway_key" in scenario:
        # The same proof a user would run on the image: sshd -T with a key of one's own.
        with_key = effective(config, "-h", str(host_key))
        for keyword, value in scenario["effective_with_throwaway_key"].items():
            assert with_key.get(keyword) == value, keyword
    values = effective(config) if "effective" in scenario else {}
    for keyword, value in scenario.get("effective", {}).items():
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
