"""
The ``idlelock`` grain through the real ``salt-call``: it reports the verdict
the last state run or audit recorded, with its time, never probes, and says why
when there is none.
"""

import json

import pytest

from tests.support.salt_call import LocalMinion, states_by_id


@pytest.fixture
def sandbox(tmp_path, host_key):
    """An sshd tree of the test's own, and an sshd wrapper that logs each run."""
    etc = tmp_path / "etc-ssh"
    (etc / "sshd_config.d").mkdir(parents=True)
    (etc / "sshd_config").write_text(f"Include {etc}/sshd_config.d/*.conf\nHostKey {host_key}\n")
    wrapper = tmp_path / "sshd"
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> {tmp_path}/sshd-calls.log\n'
                       'exec /usr/sbin/sshd "$@"\n')
    wrapper.chmod(0o755)
    return tmp_path


def minion(sandbox, **pillar):
    base = {"sshd": {"config": str(sandbox / "etc-ssh" / "sshd_config"),
                     "binary": str(sandbox / "sshd"), "manage_service": False},
            "shell": {"enabled": False}, "schedule": {"enabled": False}}
    base.update(pillar)
    # The minion config names the wrapper too: a grain cannot read pillar, so a
    # grain that probed would run the binary the minion config names.
    config = {"idlelock": {"sshd": {"binary": str(sandbox / "sshd")}}}
    return LocalMinion(sandbox / "minion", base, config)


def verdict_file(sandbox):
    return sandbox / "minion" / "root" / "var" / "cache" / "salt" / "minion" / "idlelock" / "verdict.json"


def test_no_verdict_yet_says_so_and_probes_nothing(sandbox):
    grain = minion(sandbox).call("grains.get", "idlelock")
    assert grain["compliant"] is None
    assert grain["reason"] == "no verdict recorded yet: run state.apply idlelock or idlelock.audit"
    assert not (sandbox / "sshd-calls.log").exists(), "the grain ran sshd"


def test_the_audit_records_its_verdict_and_the_grain_reads_it(sandbox):
    local = minion(sandbox, profile="stig", environment="prod")
    audit = local.call("idlelock.audit")
    assert audit["compliant"] is False  # nothing enforced yet: no idle logout

    grain = local.call("grains.get", "idlelock")
    assert grain["compliant"] is False and "idle logout" in grain["failing"]
    assert grain["source"] == "idlelock.audit profile=policy"
    assert (grain["profile"], grain["timeout"], grain["environment"]) == ("stig", 600, "prod")
    assert grain["checked_at"].endswith("Z")

    (sandbox / "sshd-calls.log").unlink()
    local.call("grains.items")
    assert not (sandbox / "sshd-calls.log").exists(), "the grain ran sshd"


def test_a_state_run_records_its_verdict_and_test_mode_does_not(sandbox):
    local = minion(sandbox, timeout=300)
    preview = states_by_id(local.call("state.apply", "idlelock", "test=True"))
    assert preview["idlelock-verdict"]["comment"] == "test mode: no verdict recorded"
    assert not verdict_file(sandbox).exists()

    ran = states_by_id(local.call("state.apply", "idlelock"))
    assert ran["idlelock-verdict"]["result"] is True
    grain = local.call("grains.get", "idlelock")
    assert grain["compliant"] is True and grain["source"] == "state.apply idlelock"
    assert grain["timeout"] == 300

    # A state that fails makes the verdict say so, naming it.
    local.set_pillar({"sshd": {"config": str(sandbox / "etc-ssh" / "sshd_config"),
                               "client_alive_interval": "300\nPermitRootLogin yes",
                               "manage_service": False},
                      "shell": {"enabled": False}, "schedule": {"enabled": False}})
    local.call("state.apply", "idlelock", check=False)
    grain = local.call("grains.get", "idlelock")
    assert grain["compliant"] is False and grain["failing"] == ["idlelock-sshd"]


@pytest.mark.parametrize("content", ["{not json", json.dumps(["a list"]), "x" * (2 << 20)])
def test_an_unreadable_verdict_gives_a_reason_not_an_exception(sandbox, content):
    verdict_file(sandbox).parent.mkdir(parents=True)
    verdict_file(sandbox).write_text(content)
    grain = minion(sandbox).call("grains.get", "idlelock")
    assert grain["compliant"] is None
    assert "is not a verdict idlelock wrote" in grain["reason"]
