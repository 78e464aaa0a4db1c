"""
logind scenarios (tests/scenarios/logind/*.yaml) through Salt's loader.

systemd-logind reads logind.conf, then the drop-ins of /etc, /run,
/usr/local/lib and /usr/lib (same name: the first directory masks the rest),
sorted by name; the last assignment wins. Each scenario's files are laid over
/etc, /run and /usr in a private mount namespace (tests/support/private_etc.py;
nothing on the host is written); only systemd itself is faked, through the
``init`` and ``systemd`` grains, since no systemd runs here. For each one:
``idlelock.audit`` before the fix, ``get``, ``set_logind`` with test=True (it
predicts the outcome and writes nothing), the run, a second run (no changes),
``get`` after, then ``idlelock.remove`` (test=True first): every file is back
byte for byte, taken-over lines and their backups included.
"""

import os

import pytest

from tests.support import scenarios
from tests.support.private_etc import run_with_etc

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces")

TOPS = ("etc", "run", "usr")
DROPIN_DIRS = {"etc": "systemd/logind.conf.d", "run": "systemd/logind.conf.d",
               "usr": "lib/systemd/logind.conf.d"}


def snapshot(uppers):
    found = {}
    for top, upper in uppers.items():
        for directory, _, names in os.walk(upper):
            for name in names:
                path = os.path.join(directory, name)
                found[f"{top}/{os.path.relpath(path, upper)}"] = (
                    os.stat(path).st_mtime_ns, open(path, "rb").read())
    return found


def bytes_of(files):
    return {path: data for path, (_, data) in files.items()}


@pytest.mark.parametrize("scenario", scenarios.params("logind"))
def test_logind_scenario(scenario, session_loaders, monkeypatch, tmp_path):
    monkeypatch.setitem(session_loaders.grains, "init", "systemd")
    monkeypatch.setitem(session_loaders.grains, "systemd", {"version": "255"})
    policy = dict({"enabled": True, "stop_idle_session_sec": 5}, **scenario.get("policy", {}))
    # The audit reads the policy like a minion does (config over pillar).
    monkeypatch.setitem(session_loaders.opts, "idlelock", {
        "timeout": 5, "sshd": {"enabled": False}, "shell": {"enabled": False},
        "logind": policy})
    uppers = {top: tmp_path / top for top in TOPS}
    for top, upper in uppers.items():
        # Only the scenario's drop-ins: the host's would change the outcome.
        opaque = upper / DROPIN_DIRS[top]
        opaque.mkdir(parents=True)
        os.setxattr(opaque, "trusted.overlay.opaque", b"y")
    for rel, text in scenario.get("files", {}).items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    mod = session_loaders.modules.idlelock

    def body():
        out = {"audit": mod.audit(profile="policy"), "before": mod.get()["logind"]}
        out.update(scenarios.apply_three_times(mod.set_logind, policy,
                                               lambda: snapshot(uppers)))
        out["after"] = mod.get()["logind"]
        out["remove_test"] = mod.remove(parts=["logind"], test=True)
        out["files4"] = snapshot(uppers)
        out["removed"] = mod.remove(parts=["logind"])
        out["files5"] = snapshot(uppers)
        out["removed_again"] = mod.remove(parts=["logind"])
        return out

    out = run_with_etc(uppers["etc"], body, opaque=(),
                       also={"/run": uppers["run"], "/usr": uppers["usr"]})
    want = scenario["expect"]
    assert (out["before"]["stop_idle_session_sec"], out["before"]["source"]) == (
        want["get"]["value"], want["get"]["source"]), out["before"]
    checks = {f["check"] for f in out["audit"]["findings"]}
    assert out["audit"]["compliant"] is want["audit"]["compliant"], out["audit"]
    assert ("logind StopIdleSessionSec" in checks) is (not want["audit"]["compliant"])
    assert out["files1"] == out["files0"], "test=True wrote"
    first, test = out["first"], out["test"]
    for needle in want["state"].get("comment", []):
        assert needle in first["comment"] and needle in test["comment"], (first, test)
    removed, predicted = out["removed"], out["remove_test"]
    assert out["files4"] == out["files3"], "remove with test=True wrote"
    assert removed["result"] is True and predicted["result"] in (True, None), removed
    assert predicted["changes"] == removed["changes"]
    assert bytes_of(out["files5"]) == bytes_of(out["files0"]), "remove did not give back the files"
    assert out["removed_again"]["changes"] == {}, out["removed_again"]
    if not want["state"]["result"]:
        assert first["result"] is False and test["result"] is False, first
        assert out["files2"] == out["files0"], "a refused run changed files"
        assert removed["changes"] == {}
        return
    assert removed["changes"]["logind"].get("restored", []) == want["state"].get(
        "taken_over", []), removed["changes"]
    assert first["result"] is True and test["result"] is None, (first, test)
    assert test["changes"]["diff"] == first["changes"]["diff"]
    assert first["changes"].get("taken_over", {}).get("new", []) == want["state"].get(
        "taken_over", [])
    assert (out["after"]["stop_idle_session_sec"], out["after"]["source"]) == (
        "5", "/etc/systemd/logind.conf.d/idlelock.conf:4")
    assert out["second"]["result"] is True and out["second"]["changes"] == {}, out["second"]
    assert out["files3"] == out["files2"]
