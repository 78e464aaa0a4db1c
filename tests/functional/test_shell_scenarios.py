"""
Shell scenarios (tests/scenarios/shell/*.yaml) through Salt's loader, on real login shells.

Each scenario's files are laid over /etc in a private mount namespace
(tests/support/private_etc.py); the real /etc is never written. For each one:
``idlelock.get`` before, ``set_shell`` with test=True (predicts, writes nothing),
the real run, a second run (no changes, mtimes unchanged), and ``get`` after.
"""

import os

import pytest

from tests.support import scenarios
from tests.support.private_etc import run_with_etc

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces"),
    pytest.mark.skipif(not os.path.exists("/bin/bash"), reason="bash missing"),
]

# The Debian per-OS values of map.jinja, so zsh and tcsh are covered too.
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


def run_scenario(mod, upper, policy):
    def body():
        out = {"before": mod.get()["shell"]}
        out["files0"] = snapshot(upper)
        out["test"] = mod.set_shell(test=True, **policy)
        out["files1"] = snapshot(upper)
        out["first"] = mod.set_shell(**policy)
        out["files2"] = snapshot(upper)
        out["second"] = mod.set_shell(**policy)
        out["files3"] = snapshot(upper)
        out["after"] = mod.get()["shell"]
        return out

    return run_with_etc(upper, body)


@pytest.mark.parametrize("scenario", scenarios.params("shell"))
def test_shell_scenario(scenario, idlelock, tmp_path):
    upper = tmp_path / "etc"
    for rel, text in scenario.get("files", {}).items():
        path = upper / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    policy = dict(BASE_POLICY, **scenario.get("policy", {}))
    out = run_scenario(idlelock, upper, policy)
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

    # test=True never writes.
    assert out["files1"] == out["files0"]
    first, second, test = out["first"], out["second"], out["test"]
    for needle in want.get("comment", []):
        assert needle in first["comment"], first["comment"]
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
        assert out["after"]["effective"]["bash"]["readonly"] is True
        assert out["after"]["effective"]["bash"]["exported"] is True
    assert not any(p["errors"] for p in out["after"]["effective"].values()), out["after"]
    # Idempotent: no changes, nothing rewritten.
    assert second["result"] is True and second["changes"] == {}, second
    assert out["files3"] == out["files2"]
    taken = want.get("taken_over", [])
    assert first["changes"].get("taken_over", {}).get("new", []) == taken
    assert sorted(t["source"] for t in out["after"]["taken_over"]) == sorted(taken)
    for source in {t.rsplit(":", 1)[0] for t in taken}:
        rel = source[len("/etc/"):]
        assert (upper / (rel + ".idlelock.bak")).read_text() == scenario["files"][rel]
