"""
The audit scenario folder through Salt's loader, on the real sshd and real login shells.

For each host state: the sshd tree in a sandbox (``sshd:config`` points at it),
the scenario's /etc files laid over /etc in a private mount namespace (the real
/etc is never written), and the accounts a Match Group needs. ``idlelock.audit``
must report, for every profile, the findings the pure test expects from the
scenario's facts.
"""

import os
import re
import subprocess

import pytest

import idlelock_enforce
import idlelock_facts
from tests.support import scenarios
from tests.support.private_etc import add_accounts, run_with_etc
from tests.support.scenarios import PROFILES, flatten, found

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces, test accounts"),
    pytest.mark.skipif(not os.path.exists("/bin/bash"), reason="bash missing"),
]


def differences(expected, actual, root, where="facts"):
    """``(where, expected, actual)`` for each key of ``expected`` that ``actual`` disagrees on."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key, value in expected.items():
            if key not in actual:
                yield f"{where}.{key}", value, "(missing)"
            else:
                yield from differences(value, actual[key], root, f"{where}.{key}")
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (want, got) in enumerate(zip(expected, actual)):
            yield from differences(want, got, root, f"{where}[{index}]")
    elif isinstance(actual, str) and scenarios.relative(actual, root) == expected:
        return
    elif where.endswith(".problem") and isinstance(expected, str) and expected in str(actual):
        return  # a login shell's message, after its host-specific script position
    elif expected != actual:
        yield where, expected, actual


def host_openssh():
    out = subprocess.run(["/usr/sbin/sshd", "-V"], capture_output=True, text=True, timeout=30)
    major, minor = re.search(r"OpenSSH_(\d+)\.(\d+)", out.stderr + out.stdout).groups()
    return [int(major), int(minor)]


@pytest.mark.parametrize("scenario", scenarios.params("audit", functional=(True, True)))
def test_audit_scenario(scenario, session_loaders, tmp_path, host_key):
    if scenario["openssh"] != host_openssh():
        pytest.skip(f"the facts assume OpenSSH {scenario['openssh']}")
    root = tmp_path / "tree"
    scenarios.materialize(scenario, root, host_key)
    upper = tmp_path / "etc"
    for rel, text in scenario.get("etc", {}).items():
        (upper / rel).parent.mkdir(parents=True, exist_ok=True)
        (upper / rel).write_text(text)
        (upper / rel).chmod(int(scenario.get("etc_modes", {}).get(rel, "0644"), 8))
    config = str(root / "sshd_config")

    def body():
        # Accounts exist in the sandbox /etc only: useradd writes the overlay.
        add_accounts(scenario.get("accounts", {}))
        # As in the pure test (the defaults without per-OS data), the system bashrc
        # is named only where a scenario says so: non_login_bash.yaml.
        policy = dict({"bashrc_file": ""}, **flatten(scenario.get("policy", {})))
        mod = session_loaders.modules.idlelock
        results = {profile: mod.audit(profile=profile, config=config, **policy)
                   for profile in PROFILES}
        # What the real probes report, for the facts the pure test judges.
        resolved = mod.policy(config=config, **policy)
        version = idlelock_enforce.sshd_version(resolved["sshd"]["binary"], resolved["root"])[0]
        logind = idlelock_facts.logind_report(resolved, False, "not judged here")
        return results, idlelock_facts.audit_facts(resolved, version, logind)

    results, probed_facts = run_with_etc(upper, body)

    # The scenario's facts are what this host's sshd and login shells really
    # report (each key the scenario gives; sshd -T prints many more).
    mismatches = list(differences(scenario["facts"], probed_facts, str(root)))
    assert mismatches == [], mismatches

    for profile, result in results.items():
        want = scenario["expect"][profile]
        assert found(result) == sorted(want["findings"]), (profile, result["findings"])
        assert result["compliant"] is want["compliant"], profile
        if "scanner" in want:
            assert result["scanner"] == want["scanner"], (profile, result["findings"])
        by_check = {f["check"]: f for f in result["findings"]}
        for check, source in want.get("sources", {}).items():
            assert source in scenarios.relative(by_check[check]["source"], root), by_check[check]
    # The connection each Match block was probed with is the one the facts name.
    probed = {m["match"]: m.get("connection") for m in results["policy"]["matches"]}
    assert probed == {m["match"]: m.get("connection") for m in scenario["facts"].get("matches", [])}
