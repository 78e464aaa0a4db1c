"""``idlelock.get``, ``policy``, ``set_sshd`` and the ``idlelock.sshd`` state, through Salt's loader."""

import os
import re
import stat
import subprocess

import pytest

from tests.support.sshd_sandbox import effective, snapshot

MAIN = """\
ClientAliveInterval 100
Include {root}/sshd_config.d/*.conf
HostKey {key}
Match Group admins
  ClientAliveCountMax 0
"""


def installed_openssh():
    """``OpenSSH_X.Yp Z`` as the installed sshd itself prints it (whatever version this host has)."""
    proc = subprocess.run(["/usr/sbin/sshd", "-V"], capture_output=True, text=True, timeout=30)
    return re.search(r"OpenSSH_\d+\.\d+(?:p\d+)?", proc.stderr + proc.stdout).group(0)


@pytest.fixture
def tree(tmp_path, host_key):
    """A Debian-like tree with a value before the Include and a Match override."""
    root = tmp_path / "etc-ssh"
    (root / "sshd_config.d").mkdir(parents=True)
    (root / "sshd_config").write_text(MAIN.format(root=root, key=host_key))
    (root / "sshd_config.d" / "50-cloud-init.conf").write_text("ClientAliveCountMax 0\n")
    return root


def test_get_reports_effective_values_with_their_source(idlelock, tree):
    report = idlelock.get(config=str(tree / "sshd_config"))

    assert report["openssh"] == installed_openssh()
    assert report["sshd"]["ClientAliveInterval"] == {
        "value": "100",
        "source": f"{tree}/sshd_config:1",
    }
    assert report["sshd"]["ClientAliveCountMax"] == {
        "value": "0",
        "source": f"{tree}/sshd_config.d/50-cloud-init.conf:1",
    }
    assert report["sshd"]["ChannelTimeout"] == {"value": None, "source": "default"}
    assert report["match_overrides"] == [
        {
            "keyword": "ClientAliveCountMax",
            "value": "0",
            "source": f"{tree}/sshd_config:5",
            "match": "Match Group admins",
            "match_source": f"{tree}/sshd_config:4",
            "effective": True,
        }
    ]


def test_get_names_the_error_of_an_invalid_config(idlelock, tree):
    (tree / "sshd_config.d" / "60-bad.conf").write_text("ClientAliveInterval soon\n")
    report = idlelock.get(config=str(tree / "sshd_config"))
    assert "60-bad.conf line 1" in report["error"]


def test_policy_resolves_auto_for_this_openssh(idlelock):
    resolved = idlelock.policy(timeout=45)
    major, minor = map(int, re.findall(r"\d+", installed_openssh())[:2])
    has_channel_timeout = (major, minor) >= (9, 2)  # sshd_config(5): ChannelTimeout from 9.2
    assert resolved["sshd"]["channel_timeout"] == (["session:*=45"] if has_channel_timeout
                                                   else "unmanaged")
    assert resolved["sshd"]["unused_connection_timeout"] == (45 if has_channel_timeout
                                                             else "unmanaged")
    assert resolved["sshd"]["client_alive_interval"] == 45
    assert resolved["host"]["openssh"] == installed_openssh()


def test_policy_raises_on_bad_input_naming_the_key(idlelock):
    from salt.exceptions import CommandExecutionError

    with pytest.raises(CommandExecutionError, match="idlelock:timeout: -3 is not accepted"):
        idlelock.policy(timeout=-3)


def test_test_mode_predicts_and_writes_nothing(idlelock, tree):
    before = snapshot(tree)
    ret = idlelock.set_sshd(test=True, config=str(tree / "sshd_config"), timeout=60)

    assert ret["result"] is None
    assert ret["changes"]["ClientAliveInterval"] == {"old": "100", "new": "60"}
    assert ret["changes"]["ChannelTimeout"] == {"old": None, "new": "session:*=60"}
    assert "+ChannelTimeout session:*=60" in ret["changes"]["diff"]
    assert "-ClientAliveInterval 100" in ret["changes"]["diff"]
    assert snapshot(tree) == before


@pytest.mark.parametrize(
    "override",
    [
        {"client_alive_interval": "300\nPermitRootLogin yes"},
        {"channel_timeout": ["session=300"]},
        {"timeout": "10 min"},
        {"client_alive_count_max": "1m"},
        {"profile": "stig", "timeout": 3600},
        {"sshd_config": "/etc/ssh/sshd_config"},
    ],
)
def test_bad_input_fails_names_the_key_and_changes_nothing(idlelock, tree, override):
    before = snapshot(tree)
    ret = idlelock.set_sshd(config=str(tree / "sshd_config"), **override)
    assert ret["result"] is False
    key = next(iter(override)) if "profile" not in override else "timeout"
    assert "idlelock:" in ret["comment"] and key in ret["comment"]
    assert snapshot(tree) == before


def test_apply_makes_values_effective_and_keeps_owner_and_mode(idlelock, tree):
    main = tree / "sshd_config"
    os.chown(main, 65534, 65534)
    os.chmod(main, 0o600)

    ret = idlelock.set_sshd(config=str(main), timeout=120)

    assert ret["result"] is True, ret["comment"]
    values = effective(str(main))
    assert values["clientaliveinterval"] == "120"
    assert values["clientalivecountmax"] == "1"
    assert values["channeltimeout"] == "session:*=120"
    info = main.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (65534, 65534, 0o600)
    dropin = (tree / "sshd_config.d" / "00-idlelock.conf").stat()
    # A new drop-in is never more permissive than the main file it joins (issue 10 case 7).
    assert (dropin.st_uid, stat.S_IMODE(dropin.st_mode)) == (0, 0o600)
    assert any("Match Group admins" in w for w in ret["warnings"])


def test_state_returns_salt_conventions_and_second_run_is_a_noop(session_loaders, tree):
    states = session_loaders.states
    config = str(tree / "sshd_config")

    first = states.idlelock.sshd(name=config, timeout=90)
    assert first.result is True
    assert set(first.changes) == {
        "ClientAliveInterval", "ClientAliveCountMax", "ChannelTimeout", "UnusedConnectionTimeout", "diff",
    }
    assert first.changes["ClientAliveCountMax"] == {"old": "0", "new": "1"}
    assert first.warnings and "Match Group admins" in first.warnings[0]

    written = snapshot(tree)
    second = states.idlelock.sshd(name=config, timeout=90)
    assert second.result is True and second.changes == {}
    assert snapshot(tree) == written


def test_state_test_mode(session_loaders, tree):
    before = snapshot(tree)
    ret = session_loaders.states.idlelock.sshd(name=str(tree / "sshd_config"), test=True)
    assert ret.result is None and "ChannelTimeout" in ret.changes
    assert snapshot(tree) == before


def test_already_invalid_config_is_left_untouched(idlelock, tree):
    (tree / "sshd_config.d" / "60-bad.conf").write_text("PermitRootLogin sometimes\n")
    before = snapshot(tree)
    ret = idlelock.set_sshd(config=str(tree / "sshd_config"))
    assert ret["result"] is False
    assert "leaves it untouched" in ret["comment"] and "60-bad.conf line 1" in ret["comment"]
    assert snapshot(tree) == before


def test_missing_sshd_binary_is_a_clear_error(idlelock, tree):
    ret = idlelock.set_sshd(config=str(tree / "sshd_config"), binary="/nonexistent/sshd")
    assert ret["result"] is False
    assert "/nonexistent/sshd" in ret["comment"]


def test_disabled_sshd_part_touches_nothing(idlelock, tree):
    before = snapshot(tree)
    ret = idlelock.set_sshd(config=str(tree / "sshd_config"), enabled=False)
    assert ret == {"result": True, "comment": "sshd is not managed (sshd:enabled is false)",
                   "changes": {}, "warnings": []}
    assert snapshot(tree) == before
