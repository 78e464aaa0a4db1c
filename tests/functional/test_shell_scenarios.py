"""
Shell scenarios (tests/scenarios/shell/*.yaml) through Salt's loader, on real login shells.

Each scenario's files are laid over /etc in a private mount namespace
(tests/support/private_etc.py); the real /etc is never written. For each one:
``idlelock.get`` before, ``set_shell`` with test=True (predicts, writes nothing),
the real run, a second run (no changes, mtimes unchanged), and ``get`` after.

Scenario keys besides ``files``, ``policy`` and ``expect``: ``modes`` (of
``files``, default 0644), ``dir_modes`` (of /etc directories), ``umask`` (while
idlelock runs), ``groups`` (made with groupadd in the sandbox /etc). In
``expect``, ``effective`` maps a probe label (``bash as a regular user``,
``bash -i``, ``bash as a member of ops``, ``tcsh``) to its value; ``modes``
the ``mode uid:gid`` of files after the run; ``warnings`` substrings. A
regular user's bash must get what root's gets unless ``effective`` says else.
"""

import os
import subprocess

import pytest

from tests.support import scenarios
from tests.support.private_etc import run_with_etc

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces"),
    pytest.mark.skipif(not os.path.exists("/bin/bash"), reason="bash missing"),
]

# The Debian per-OS values (idlelock_defaults.OS_FAMILY), so zsh and tcsh are covered too.
BASE_POLICY = {"tmout": 5, "zsh_file": "/etc/zsh/zprofile", "bashrc_file": "/etc/bash.bashrc",
               "csh_file": "/etc/csh/login.d/idlelock.csh"}


def snapshot(upper):
    """{relative path: (mtime_ns, bytes)} of every file idlelock could have written."""
    found = {}
    for directory, _, names in os.walk(upper):
        for name in names:
            path = os.path.join(directory, name)
            found[os.path.relpath(path, upper)] = (os.stat(path).st_mtime_ns,
                                                   open(path, "rb").read())
    return found


def modes_of(upper, paths):
    """``{relative path: "0644 0:0"}`` of files in the sandbox /etc (as the shells see it)."""
    found = {}
    for rel in paths:
        info = os.stat(os.path.join("/etc", rel))
        found[rel] = f"{info.st_mode & 0o7777:04o} {info.st_uid}:{info.st_gid}"
    return found


def run_scenario(mod, upper, policy, scenario):
    def body():
        # Accounts exist in the sandbox /etc only: groupadd writes the overlay.
        for group in scenario.get("groups", []):
            subprocess.run(["groupadd", group], check=True, capture_output=True, timeout=30)
        for rel, mode in scenario.get("dir_modes", {}).items():
            os.chmod(os.path.join("/etc", rel), int(mode, 8))
        if "umask" in scenario:
            os.umask(int(scenario["umask"], 8))
        out = {"before": mod.get(**policy)["shell"]}
        out.update(scenarios.apply_three_times(mod.set_shell, policy, lambda: snapshot(upper)))
        out["after"] = mod.get(**policy)["shell"]
        out["modes"] = modes_of(upper, scenario["expect"]["state"].get("modes", {}))
        return out

    return run_with_etc(upper, body)


@pytest.mark.parametrize("scenario", scenarios.params("shell"))
def test_shell_scenario(scenario, idlelock, tmp_path):
    upper = tmp_path / "etc"
    for rel, text in scenario.get("files", {}).items():
        path = upper / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(int(scenario.get("modes", {}).get(rel, "0644"), 8))
    policy = dict(BASE_POLICY, **scenario.get("policy", {}))
    out = run_scenario(idlelock, upper, policy, scenario)
    want_get, want = scenario["expect"]["get"], scenario["expect"]["state"]

    before = out["before"]
    foreign = sorted(line["source"] for line in before["lines"]
                     if not line["source"].startswith("/etc/environment"))
    assert foreign == sorted(want_get["lines"]), before["lines"]
    assert sorted(line["source"] for line in before["lines"] if line["readonly"]) == sorted(
        want_get["readonly"])
    environment = [line["source"] for line in before["lines"]
                   if line["source"].startswith("/etc/environment")]
    assert environment == want_get.get("environment", [])
    bash = before["effective"]["bash"]
    assert bash["value"] == want_get["bash"], bash
    assert bool(bash["errors"]) == want_get["errors"], bash
    # Every identity and mode the scenario names: a regular user, an exempt
    # member, the interactive non-login bash.
    for label, value in want_get.get("effective", {}).items():
        assert before["effective"][label]["value"] == value, (label, before["effective"][label])

    # test=True never writes.
    assert out["files1"] == out["files0"]
    first, second, test = out["first"], out["second"], out["test"]
    for needle in want.get("comment", []):
        assert needle in first["comment"], first["comment"]
    for needle in want.get("warnings", []):
        assert any(needle in w for w in first["warnings"]), first["warnings"]
    if not want["result"]:
        assert first["result"] is False and test["result"] is False, first
        assert first["changes"] == {}
        assert out["files2"] == out["files0"], "a refused run changed files"
        return
    assert first["result"] is True, first
    assert test["result"] is None and test["changes"]["diff"] == first["changes"]["diff"]
    assert "diff" in first["changes"]
    assert out["after"]["effective"]["bash"]["value"] == want["bash"]
    if want["bash"] is not None:
        assert out["after"]["effective"]["bash"]["readonly"] is want.get("readonly", True)
        assert out["after"]["effective"]["bash"]["exported"] is True
    assert not any(p["errors"] for p in out["after"]["effective"].values()), out["after"]
    # A regular user gets what root gets unless the scenario says otherwise.
    for label, value in dict({"bash as a regular user": want["bash"]},
                             **want.get("effective", {})).items():
        got = out["after"]["effective"][label]
        assert got["value"] == value, (label, got)
        if value is not None and label.startswith("bash"):
            assert got["readonly"] is want.get("readonly", True), (label, got)
            assert got["exported"] is True, (label, got)
    assert out["modes"] == want.get("modes", {})
    # Idempotent: no changes, nothing rewritten.
    assert second["result"] is True and second["changes"] == {}, second
    assert out["files3"] == out["files2"]
    taken = want.get("taken_over", [])
    assert first["changes"].get("taken_over", {}).get("new", []) == taken
    assert sorted(t["source"] for t in out["after"]["taken_over"]) == sorted(taken)
    for source in {t.rsplit(":", 1)[0] for t in taken}:
        rel = source[len("/etc/"):]
        assert (upper / (rel + ".idlelock.bak")).read_text() == scenario["files"][rel]
