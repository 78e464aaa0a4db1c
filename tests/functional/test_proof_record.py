"""
The no-op that costs nothing, and never hides a change (issue: skip proven work).

Real ``salt-call`` runs, a real sshd (behind a wrapper that logs each call) and
the real login shells, in a private /etc overlay whose ``profile.d`` holds a
file that logs every login shell that reads it. After one run has proven the
policy, the next run spawns no sshd and no login shell; each kind of change
that can alter a probe's answer makes the next run probe again.
"""

import json
import os
import shutil
import subprocess
import time

import pytest

from tests.support.private_etc import run_with_etc
from tests.support.salt_call import LocalMinion, states_by_id

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces")

GROUP = "idlelock-proof-exempt"
USER = "idlelock-proof-user"


def _setup(tmp_path, host_key):
    etc_ssh = tmp_path / "etc-ssh"
    (etc_ssh / "sshd_config.d").mkdir(parents=True)
    (etc_ssh / "sshd_config").write_text(
        f"Include {etc_ssh}/sshd_config.d/*.conf\nHostKey {host_key}\n")
    (etc_ssh / "sshd_config.d" / "50-site.conf").write_text("PermitRootLogin no\n")
    sshd_log = tmp_path / "sshd-calls.log"
    shell_log = tmp_path / "shell-runs.log"
    wrapper = tmp_path / "bin" / "sshd"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> {sshd_log}\nexec /usr/sbin/sshd "$@"\n')
    wrapper.chmod(0o755)
    upper = tmp_path / "etc"
    (upper / "profile.d").mkdir(parents=True)
    # Every login shell that reads profile.d says so: a spawn counter with no wrapper.
    (upper / "profile.d" / "00-count.sh").write_text(f"echo $$ >> {shell_log}\n")
    pillar = {
        "timeout": 600,
        "sshd": {"config": str(etc_ssh / "sshd_config"), "binary": str(wrapper),
                 "manage_service": False},
        "shell": {"exempt_groups": [GROUP]},
        "schedule": {"enabled": False},
    }
    minion = LocalMinion(tmp_path / "minion", pillar)
    return etc_ssh, wrapper, sshd_log, shell_log, upper, minion


def _run(minion, sshd_log, shell_log):
    """One state.apply: ``(sshd calls, login shells run, states)``."""
    for log in (sshd_log, shell_log):
        log.write_text("")
    states = states_by_id(minion.call("state.apply", "idlelock"))
    assert all(state["result"] is True for state in states.values()), states
    return sshd_log.read_text().split(), len(shell_log.read_text().split()), states


def _same_size_edit(path):
    """Rewrite ``path`` with other bytes of the same size and give it its old mtime back."""
    info = path.stat()
    text = path.read_text()
    path.write_text(text.replace("no", "No", 1))
    assert path.stat().st_size == info.st_size
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))


def _replace_binary(wrapper):
    """A new sshd binary (new inode), same bytes and mtime."""
    info = wrapper.stat()
    fresh = wrapper.with_name("sshd.new")
    shutil.copy2(wrapper, fresh)
    os.replace(fresh, wrapper)
    os.utime(wrapper, ns=(info.st_atime_ns, info.st_mtime_ns))


def test_a_proven_policy_is_not_proven_again_until_an_input_changes(tmp_path, host_key):
    etc_ssh, wrapper, sshd_log, shell_log, upper, minion = _setup(tmp_path, host_key)
    record = tmp_path / "minion" / "root" / "var" / "cache" / "salt" / "minion" / "idlelock" \
        / "probes.json"

    def body():
        subprocess.run(["groupadd", GROUP], check=True, timeout=30)
        subprocess.run(["useradd", "-M", "-s", "/bin/bash", USER], check=True, timeout=30)
        seen = {}
        seen["first"] = _run(minion, sshd_log, shell_log)[:2]
        # The first run proved a staged candidate, not the files as written.
        _run(minion, sshd_log, shell_log)
        seen["no-op"] = _run(minion, sshd_log, shell_log)
        changes = {
            "same-size edit of a drop-in, mtime kept": lambda: _same_size_edit(
                etc_ssh / "sshd_config.d" / "50-site.conf"),
            "a new drop-in": lambda: (etc_ssh / "sshd_config.d" / "60-new.conf").write_text(
                "LoginGraceTime 1m\n"),
            "the sshd binary replaced": lambda: _replace_binary(wrapper),
            "an exempt group gains a member": lambda: subprocess.run(
                ["usermod", "-aG", GROUP, USER], check=True, timeout=30),
            "a new file in /etc/profile.d": lambda: open(
                "/etc/profile.d/zz-site.sh", "w").write("# site\n"),
            "a corrupt record": lambda: record.write_text("{not json"),
        }
        for name, change in changes.items():
            change()
            seen[name] = _run(minion, sshd_log, shell_log)[:2]
            seen[name + ", then again"] = _run(minion, sshd_log, shell_log)[:2]
        return seen, json.loads(record.read_text())["format"]

    seen, record_format = run_with_etc(upper, body, timeout=900)

    assert seen["first"][0] and seen["first"][1], seen["first"]
    calls, shells, states = seen["no-op"]
    assert (calls, shells) == ([], 0), "a no-op after a proven run spawns no sshd and no shell"
    assert all(not state["changes"] for state in states.values()), states
    assert "already" in states["idlelock-sshd"]["comment"]
    sshd_inputs = ("same-size edit of a drop-in, mtime kept", "a new drop-in",
                   "the sshd binary replaced", "a corrupt record")
    shell_inputs = ("an exempt group gains a member", "a new file in /etc/profile.d",
                    "a corrupt record")
    for name in sshd_inputs:
        assert "-T" in seen[name][0], (name, seen[name])
    for name in shell_inputs:
        assert seen[name][1] > 0, (name, seen[name])
    for name in sshd_inputs + shell_inputs:
        assert seen[name + ", then again"] == ([], 0), (name, seen[name + ", then again"])
    assert record_format == 1


def test_an_expired_record_means_a_full_proof(tmp_path, host_key):
    etc_ssh, wrapper, sshd_log, shell_log, upper, minion = _setup(tmp_path, host_key)
    record = tmp_path / "minion" / "root" / "var" / "cache" / "salt" / "minion" / "idlelock" \
        / "probes.json"

    def age(seconds):
        data = json.loads(record.read_text())
        for entry in data["entries"].values():
            entry["at"] -= seconds
        record.write_text(json.dumps(data))

    def body():
        subprocess.run(["groupadd", GROUP], check=True, timeout=30)
        _run(minion, sshd_log, shell_log)
        _run(minion, sshd_log, shell_log)
        age(5 * 3600)  # younger than the default proof_max_age, 6 h
        fresh = _run(minion, sshd_log, shell_log)[:2]
        age(2 * 3600)
        return fresh, _run(minion, sshd_log, shell_log)[:2]

    fresh, expired = run_with_etc(upper, body, timeout=600)

    assert fresh == ([], 0)
    assert sorted(expired[0]) == ["-T", "-V"] and expired[1] > 0, expired


def test_proof_max_age_0_proves_every_run(tmp_path, host_key):
    etc_ssh, wrapper, sshd_log, shell_log, upper, minion = _setup(tmp_path, host_key)
    minion.set_pillar(dict(minion_pillar(minion), proof_max_age=0))

    def body():
        subprocess.run(["groupadd", GROUP], check=True, timeout=30)
        _run(minion, sshd_log, shell_log)
        return _run(minion, sshd_log, shell_log)[:2]

    calls, shells = run_with_etc(upper, body, timeout=600)

    assert sorted(calls) == ["-T", "-V"] and shells > 0


def minion_pillar(minion):
    import yaml

    return yaml.safe_load((minion.dir / "pillar" / "idlelock.sls").read_text())["idlelock"]


def test_a_host_key_broken_in_place_is_proven_again(tmp_path):
    """sshd -T reads the host keys too: a truncated key makes the next run ask sshd, which refuses."""
    key = tmp_path / "keys" / "hostkey"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True,
                   timeout=30)
    etc_ssh, wrapper, sshd_log, shell_log, upper, minion = _setup(tmp_path, key)
    pillar = minion_pillar(minion)
    pillar["shell"] = {"enabled": False}
    minion.set_pillar(pillar)

    minion.call("state.apply", "idlelock")
    minion.call("state.apply", "idlelock")
    sshd_log.write_text("")
    assert all(s["result"] is True for s in minion.call("state.apply", "idlelock").values())
    assert sshd_log.read_text().split() == []
    os.truncate(key, 0)

    after = states_by_id(minion.call("state.apply", "idlelock", check=False))

    assert "-T" in sshd_log.read_text().split()
    assert after["idlelock-sshd"]["result"] is False
    assert "hostkey" in after["idlelock-sshd"]["comment"].lower()
