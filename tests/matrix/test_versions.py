"""Each OpenSSH gets only the keywords it understands, and the warnings that its limits call for.

Runs ``idlelock.set_sshd`` / ``get`` through Salt's loader with ``root`` set to a chroot holding
a real OpenSSH 8.4 or 10.0 (or the host's 9.2), on a copy of that system's own sshd_config.
"""

import stat

import pytest

pytestmark = pytest.mark.matrix

TIMEOUT = 3
SHELL_WARNING = "sshd cannot close an idle but live session; idle logout rests on the shell timeout"
COUNTMAX_WARNING = "ClientAliveCountMax 0 disables ClientAlive disconnection since OpenSSH 8.2"
MATCH_IGNORED = "(ignored: OpenSSH < 10.5 ignores ChannelTimeout in Match)"
MANAGED = ("ClientAliveInterval", "ClientAliveCountMax", "ChannelTimeout", "UnusedConnectionTimeout")


def has_channel_timeout(target):
    return target.version >= (9, 2)


def test_auto_writes_only_keywords_this_openssh_knows(idlelock, target):
    policy = idlelock.policy(timeout=TIMEOUT, **target.kwargs)
    ret = idlelock.set_sshd(timeout=TIMEOUT, **target.kwargs)

    assert ret["result"] is True, ret["comment"]
    assert policy["host"]["openssh"].startswith("OpenSSH_%d.%d" % target.version)
    written = "".join(target.texts().values())
    check = target.sshd("-t", "-f", target.config)
    assert check.returncode == 0, check.stderr
    values = target.effective()
    assert values["clientaliveinterval"] == str(TIMEOUT)
    assert values["clientalivecountmax"] == "1"
    if has_channel_timeout(target):
        assert policy["sshd"]["channel_timeout"] == [f"session:*={TIMEOUT}"]
        assert values["channeltimeout"] == f"session:*={TIMEOUT}"
        assert values["unusedconnectiontimeout"] == str(TIMEOUT)
        assert not any(SHELL_WARNING in w for w in ret["warnings"])
    else:
        assert policy["sshd"]["channel_timeout"] == "unmanaged"
        assert "ChannelTimeout" not in written and "UnusedConnectionTimeout" not in written
        assert "channeltimeout" not in values and "unusedconnectiontimeout" not in values
        assert any(SHELL_WARNING in w for w in ret["warnings"]), ret["warnings"]
    again = idlelock.set_sshd(timeout=TIMEOUT, **target.kwargs)
    assert again["result"] is True and again["changes"] == {}


def test_get_agrees_with_sshd_T_inside_the_root(idlelock, target):
    assert idlelock.set_sshd(timeout=TIMEOUT, **target.kwargs)["result"] is True

    report = idlelock.get(**target.kwargs)

    assert "error" not in report, report.get("error")
    assert report["openssh"].startswith("OpenSSH_%d.%d" % target.version)
    values = target.effective()
    assert {k: v["value"] for k, v in report["sshd"].items()} == {
        keyword: values.get(keyword.lower()) for keyword in MANAGED
    }
    dropin = f"{target.config.rsplit('/', 1)[0]}/sshd_config.d/00-idlelock.conf"
    assert report["sshd"]["ClientAliveInterval"]["source"].startswith(dropin + ":")


def test_count_max_zero_is_accepted_with_the_8_2_warning(idlelock, target):
    ret = idlelock.set_sshd(timeout=TIMEOUT, client_alive_count_max=0, **target.kwargs)

    assert ret["result"] is True, ret["comment"]
    assert target.effective()["clientalivecountmax"] == "0"
    assert any(COUNTMAX_WARNING in w for w in ret["warnings"]), ret["warnings"]
    # Where ChannelTimeout is missing too, nothing in sshd can close an idle session.
    assert any(SHELL_WARNING in w for w in ret["warnings"]) is not has_channel_timeout(target)


def test_explicit_channel_timeout_needs_9_2(idlelock, target):
    before = target.texts()

    ret = idlelock.set_sshd(timeout=TIMEOUT, channel_timeout=["session:*=5"], **target.kwargs)

    if has_channel_timeout(target):
        assert ret["result"] is True, ret["comment"]
        assert target.effective()["channeltimeout"] == "session:*=5"
    else:
        assert ret["result"] is False
        assert ret["comment"] == (
            "Bad input, nothing changed: idlelock:sshd:channel_timeout: ['session:*=5'] is not "
            "accepted; ChannelTimeout needs OpenSSH >= 9.2 and the managed sshd is 8.4; "
            "use auto or unmanaged"
        )
        assert target.texts() == before


def test_match_exemption_is_warned_as_ineffective_before_10_5(idlelock, target):
    main = target.copy_dir / "sshd_config"
    main.write_text(main.read_text() + "Match User idltest\n    ChannelTimeout session:*=60\n")
    before = target.texts()

    ret = idlelock.set_sshd(timeout=TIMEOUT, **target.kwargs)

    if not has_channel_timeout(target):
        # 8.4 rejects the keyword even inside Match: the existing config is invalid.
        line = len(before["sshd_config"].splitlines())
        assert ret["result"] is False
        assert ret["comment"].startswith(
            "sshd rejects the current configuration, so idlelock leaves it untouched: "
            f"{target.config}: line {line}: Bad configuration option: ChannelTimeout"
        ), ret["comment"]
        assert target.texts() == before
        return
    assert ret["result"] is True, ret["comment"]
    (warning,) = [w for w in ret["warnings"] if "Match User idltest" in w]
    assert "sets ChannelTimeout session:*=60" in warning
    assert warning.endswith(MATCH_IGNORED) is (target.version < (10, 5))
    # sshd -T itself claims the exemption; tests/matrix/test_idle_sessions.py shows that a
    # real session of that user still closes after the global timeout.
    assert target.effective("user=idltest,host=localhost,addr=127.0.0.1")["channeltimeout"] \
        == "session:*=60"
    assert target.effective()["channeltimeout"] == f"session:*={TIMEOUT}"


def test_missing_privilege_separation_dir_is_created_0755(idlelock, target):
    if str(target.root) == "/":
        pytest.skip("the host's /run/sshd is not ours to remove")
    privsep = target.root / "run" / "sshd"
    for entry in privsep.iterdir():
        entry.unlink()  # empty when no chroot sshd runs; anything else makes rmdir fail loudly
    privsep.rmdir()

    ret = idlelock.set_sshd(timeout=TIMEOUT, **target.kwargs)

    assert ret["result"] is True, ret["comment"]
    info = privsep.stat()
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o755
    assert (info.st_uid, info.st_gid) == (0, 0)
    assert target.effective()["clientaliveinterval"] == str(TIMEOUT)
