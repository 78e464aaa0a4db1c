"""
What the sshd state refuses, and how it fails: through Salt's loader, the real
sshd, and real filesystems.

- README step 4: nothing is replaced unless sshd accepts the whole candidate
  and reports every desired value; otherwise the reason names the file and
  line that win. The candidate check runs on candidates that are wrong on
  purpose (the planner never builds one, so only a direct call reaches it).
- A recursive Include is a clear failure, not a traceback.
- README step 5: when one write fails part-way through a state run, every file
  is put back (a read-only bind mount, in a private mount namespace, makes the
  second write fail for real).
"""

import os
import subprocess

import pytest

import idlelock_enforce
import idlelock_sshd
from tests.functional.test_sshd_scenarios import effective, snapshot
from tests.support.private_etc import run_with_etc


def candidate(files, main):
    def expand(pattern):
        directory = os.path.dirname(pattern)
        return sorted(p for p in files if os.path.dirname(p) == directory and p.endswith(".conf"))

    return idlelock_sshd.walk(main, files.get, expand)


@pytest.fixture
def resolved(idlelock, tmp_path):
    return idlelock.policy(config=str(tmp_path / "sshd_config"), timeout=60)


def test_candidate_that_sshd_rejects_is_refused_naming_file_and_line(resolved, tmp_path,
                                                                      host_key):
    main, dropin = f"{tmp_path}/sshd_config", f"{tmp_path}/d/60-site.conf"
    tree = candidate({main: f"Include {tmp_path}/d/*.conf\nHostKey {host_key}\n",
                      dropin: "ClientAliveCountMax 1\nClientAliveInterval soon\n"}, main)

    reason = idlelock_enforce.verify_candidate(resolved, tree, {"ClientAliveInterval": "60"})

    assert reason is not None and reason.startswith("sshd rejects the candidate configuration")
    assert f"{dropin} line 2" in reason, reason  # the real path, not the staged copy


def test_candidate_where_a_foreign_value_wins_is_refused_naming_it(resolved, tmp_path, host_key):
    main = f"{tmp_path}/sshd_config"
    tree = candidate({main: f"ClientAliveInterval 100\nInclude {tmp_path}/d/*.conf\n"
                            f"HostKey {host_key}\n",
                      f"{tmp_path}/d/00-idlelock.conf": "ClientAliveInterval 60\n"}, main)

    reason = idlelock_enforce.verify_candidate(resolved, tree, {"ClientAliveInterval": "60"})

    assert reason == f"ClientAliveInterval would be '100', not '60': {main}:1 wins"


def test_candidate_that_sshd_accepts_with_every_value_passes(resolved, tmp_path, host_key):
    main = f"{tmp_path}/sshd_config"
    tree = candidate({main: f"Include {tmp_path}/d/*.conf\nClientAliveInterval 100\n"
                            f"HostKey {host_key}\n",
                      f"{tmp_path}/d/00-idlelock.conf": "ClientAliveInterval 1m\n"
                                                        "ChannelTimeout session:*=60\n"}, main)
    desired = {"ClientAliveInterval": "60", "ChannelTimeout": "session:*=60"}
    assert idlelock_enforce.verify_candidate(resolved, tree, desired) is None


def test_recursive_include_fails_the_state_clearly_and_changes_nothing(session_loaders,
                                                                        tmp_path, host_key):
    config = tmp_path / "sshd_config"
    config.write_text(f"Include {config}\nHostKey {host_key}\n")
    before = snapshot(tmp_path)

    ret = session_loaders.states.idlelock.sshd(name=str(config))

    assert ret.result is False
    assert "Cannot read the sshd configuration" in ret.comment
    assert "Include nested deeper than 16" in ret.comment
    assert "Traceback" not in ret.comment
    assert snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: mount namespaces")
def test_a_write_failing_part_way_through_the_state_puts_every_file_back(session_loaders,
                                                                         tmp_path, host_key):
    """
    The drop-in is written first; commenting out the foreign line in the main
    file then fails (its directory is mounted read-only): the drop-in is removed
    again, the main file keeps its bytes, and sshd's values are the old ones.
    """
    etc_ssh, dropins = tmp_path / "ssh", tmp_path / "sshd_config.d"
    etc_ssh.mkdir()
    dropins.mkdir()
    config = etc_ssh / "sshd_config"
    config.write_text(f"ClientAliveInterval 100\nInclude {dropins}/*.conf\nHostKey {host_key}\n")
    before = snapshot(tmp_path)
    old_values = effective(str(config))

    def body():
        subprocess.run(["mount", "--bind", str(etc_ssh), str(etc_ssh)], check=True, timeout=30)
        subprocess.run(["mount", "-o", "remount,bind,ro", str(etc_ssh)], check=True, timeout=30)
        ret = session_loaders.states.idlelock.sshd(name=str(config), timeout=60)
        return {"result": ret.result, "comment": ret.comment, "changes": ret.changes}

    ret = run_with_etc(tmp_path / "etc-upper", body)

    assert ret["result"] is False, ret
    assert "failed (Read-only file system); every file was restored" in ret["comment"], ret
    assert ret["changes"] == {}
    assert not (dropins / "00-idlelock.conf").exists()
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if "etc-upper" not in k} == before
    assert effective(str(config)) == old_values
