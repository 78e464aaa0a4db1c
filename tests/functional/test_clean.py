"""
Removal through Salt's loader: ``idlelock.remove`` after ``set_sshd`` and
``set_shell`` puts every layout back exactly as it was.

sshd: every layout of tests/scenarios/sshd/, checked with the real ``sshd -T``.
Shells: every layout of tests/scenarios/shell/, laid over /etc in a private
mount namespace and checked with real login shells (root and a regular user).
"""

import os
import pathlib
import subprocess

import pytest

from tests.functional.conftest import flatten
from tests.support import scenarios

SSHD = "/usr/sbin/sshd"
ODD_MODE, ODD_GID = 0o640, 4  # not what a new file gets: a rewrite that loses them shows


def tree_state(root):
    """Every entry under ``root``: a file's bytes, mode and owner; a link's target; a dir."""
    found = {}
    for path in sorted(pathlib.Path(root).rglob("*")):
        info = path.lstat()
        if path.is_symlink():
            found[str(path)] = ("link", os.readlink(path))
        elif path.is_dir():
            found[str(path)] = ("dir", info.st_mode, info.st_uid, info.st_gid)
        else:
            found[str(path)] = (path.read_bytes(), info.st_mode, info.st_uid, info.st_gid)
    return found


def sshd_t(config):
    """What ``sshd -T`` prints for ``config``, or its error."""
    proc = subprocess.run([SSHD, "-T", "-f", config], capture_output=True, text=True,
                          check=False, timeout=30)
    return proc.returncode, proc.stdout, proc.stderr.replace(str(config), "CONFIG")


def sshd_tree(scenario, tmp_path, host_key):
    root = tmp_path / "tree"
    root.mkdir()
    scenarios.materialize(scenario, root, host_key)
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            os.chmod(path, ODD_MODE)
            os.chown(path, 0, ODD_GID)
    return root


def sshd_policy(scenario, config):
    policy = dict(scenario.get("policy", {}))
    policy["sshd"] = dict(policy.get("sshd", {}), config=config, manage_service=False)
    return flatten(policy)


@pytest.mark.parametrize("scenario", scenarios.params("sshd", functional=(True, True)))
def test_sshd_install_then_remove_round_trips(scenario, tmp_path, host_key, idlelock):
    root = sshd_tree(scenario, tmp_path, host_key)
    config = str(root / "sshd_config")
    before, printed = tree_state(root), sshd_t(config)

    installed = idlelock.set_sshd(**sshd_policy(scenario, config))
    assert installed["result"] is (False if scenario.get("error") else True), installed
    predicted = idlelock.remove(test=True, parts=["sshd"], config=config)
    removed = idlelock.remove(parts=["sshd"], config=config)
    again = idlelock.remove(parts=["sshd"], config=config)

    for rel in scenario.get("clean_removes", []):
        del before[str(root / rel)]
    assert tree_state(root) == before
    if not scenario.get("clean_removes"):
        assert sshd_t(config) == printed
    if installed["changes"] or scenario.get("clean_removes"):
        assert predicted["result"] is None and removed["result"] is True, removed
        assert predicted["changes"] == removed["changes"]
        assert removed["changes"]["sshd"]["diff"]
    else:
        assert removed == again
    assert again["result"] is True and again["changes"] == {}
    assert "sshd: nothing to remove" in again["comment"]
