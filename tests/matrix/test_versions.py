"""Each OpenSSH gets only the keywords it understands, and the warnings that its limits call for.

Runs ``idlelock.set_sshd`` / ``get`` through Salt's loader with ``root`` set to a chroot holding
a real OpenSSH 8.4, 10.0, 10.3 or 10.6 (or the host's own), on a copy of that system's own
sshd_config.
"""

import stat

import idlelock_policy
import idlelock_sshd
import pytest

from tests.support.chroots import ensure_chroot_user
from tests.support.salt_call import LocalMinion, states_by_id

pytestmark = pytest.mark.matrix

TIMEOUT = 3
SHELL_WARNING = "sshd cannot close an idle but live session; idle logout rests on the shell timeout"
COUNTMAX_WARNING = "ClientAliveCountMax 0 disables ClientAlive disconnection since OpenSSH 8.2"
MATCH_IGNORED = "(ignored: OpenSSH < 10.5 ignores ChannelTimeout in Match)"
MANAGED = ("ClientAliveInterval", "ClientAliveCountMax", "ChannelTimeout", "UnusedConnectionTimeout")


EXEMPT_GROUP, MEMBER = "idlexempt", "idlmember"
CANNOT_EXEMPT = "so sshd cannot exempt exempt_groups (idlexempt)"


def has_channel_timeout(target):
    return target.version >= (9, 2)


def exempts_in_match(target):
    return idlelock_policy.version_at_least(target.version,
                                            idlelock_policy.V_CHANNEL_TIMEOUT_IN_MATCH)


def test_the_reader_finds_every_managed_keyword_as_sshd_prints_it(idlelock, target):
    """The next change in how sshd prints -T (case, separator, a renamed keyword) fails here."""
    assert idlelock.set_sshd(timeout=TIMEOUT, **target.kwargs)["result"] is True
    output = target.sshd_T()

    values = idlelock_sshd.read_effective(output)

    known = MANAGED if has_channel_timeout(target) else MANAGED[:2]
    for keyword in known:
        assert target.printed(keyword) is not None, f"sshd -T prints no {keyword} line"
        assert values.get(keyword.lower()) == target.printed(keyword), keyword
    assert values["clientaliveinterval"] == str(TIMEOUT)
    case = "lower case" if "clientaliveinterval " in output else "mixed case"
    print(f"\n[{target.label}] sshd -T prints keywords in {case}")


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
    assert {k: v["value"] for k, v in report["sshd"].items()} == {
        keyword: target.printed(keyword) for keyword in MANAGED
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


def test_channel_timeout_none_is_applied_and_read_as_unset(idlelock, target):
    if not has_channel_timeout(target):
        pytest.skip("ChannelTimeout needs 9.2; test_explicit_channel_timeout_needs_9_2 covers 8.4")

    ret = idlelock.set_sshd(timeout=TIMEOUT, channel_timeout="none", **target.kwargs)

    assert ret["result"] is True, ret["comment"]
    # 9.2 prints no line for it, 10.0 and later print "none": the same setting.
    assert target.printed("ChannelTimeout") in (None, "none")
    assert idlelock.get(**target.kwargs)["sshd"]["ChannelTimeout"]["value"] is None
    again = idlelock.set_sshd(timeout=TIMEOUT, channel_timeout="none", **target.kwargs)
    assert again["result"] is True and again["changes"] == {}


@pytest.fixture
def exempt_member(target, tmp_path):
    """An account in EXEMPT_GROUP inside the chroot (never on the host)."""
    if str(target.root) == "/":
        if exempts_in_match(target):
            pytest.skip(f"the host's OpenSSH {target.version} takes a Match Group block, whose "
                        "proof needs a member, and the suite makes no account on the host; "
                        "the sid chroot covers it")
        return None  # the host's sshd gets no block (Debian 12's 9.2): no member needed
    ensure_chroot_user(target.root, MEMBER, "ssh-ed25519 AAAA unused", groups=(EXEMPT_GROUP,))
    return MEMBER


def test_exempt_groups_become_a_match_group_block_where_sshd_applies_it(
        idlelock, target, exempt_member):
    ret = idlelock.set_sshd(timeout=TIMEOUT, exempt_groups=[EXEMPT_GROUP], **target.kwargs)

    assert ret["result"] is True, ret["comment"]
    written = "".join(target.texts().values())
    member = f"user={MEMBER},host=localhost,addr=127.0.0.1"
    if exempts_in_match(target):
        dropin = target.texts()["sshd_config.d/00-idlelock.conf"]
        assert dropin.endswith(f"Match Group {EXEMPT_GROUP}\n    ChannelTimeout session:*=0\n")
        assert f"proven with sshd -T -C for {MEMBER}" in ret["comment"]
        # Not "none": 10.6 accepts ChannelTimeout none in Match, then drops each matching
        # session at its start ("bad timeout none"). 0 turns the timeout off.
        assert target.printed("ChannelTimeout", member) == "session:*=0"
        assert not any("cannot exempt" in w or "Match Group" in w for w in ret["warnings"])
    else:
        assert "Match Group" not in written
        # Where sshd closes idle sessions but ignores ChannelTimeout in Match, it says so.
        assert any(CANNOT_EXEMPT in w for w in ret["warnings"]) is has_channel_timeout(target)
    # Everyone else keeps the policy, whatever the version.
    root_login = "user=root,host=localhost,addr=127.0.0.1"
    if has_channel_timeout(target):
        assert target.printed("ChannelTimeout", root_login) == f"session:*={TIMEOUT}"
    again = idlelock.set_sshd(timeout=TIMEOUT, exempt_groups=[EXEMPT_GROUP], **target.kwargs)
    assert again["result"] is True and again["changes"] == {}, again
    assert not any("Match Group" in w for w in again["warnings"]), again["warnings"]


@pytest.mark.parametrize("target", ["sid"], indirect=True)
def test_formula_on_the_sid_chroot_is_idempotent_and_agrees_with_its_sshd(
        target, exempt_member, etc_restored, tmp_path):
    """``state.apply idlelock`` with ``root: <sid chroot>``; get, audit and the grain agree."""
    minion = LocalMinion(tmp_path / "minion", {
        "root": str(target.root),
        "timeout": TIMEOUT,
        "exempt_groups": [EXEMPT_GROUP],
        "sshd": {"config": target.config, "manage_service": False},
        "shell": {"profile_file": "/etc/profile.d/idlelock.sh"},
        "schedule": {"enabled": False},
    })

    first = states_by_id(minion.call("state.apply", "idlelock"))
    second = states_by_id(minion.call("state.apply", "idlelock"))

    assert all(state["result"] is True for state in first.values()), first
    assert f"Match Group {EXEMPT_GROUP}" in first["idlelock-sshd"]["comment"]
    assert {name: state["changes"] for name, state in second.items()
            if state["changes"]} == {}
    report = minion.call("idlelock.get")
    assert report["openssh"] == "OpenSSH_10.6p1"
    assert {k: v["value"] for k, v in report["sshd"].items()} == {
        keyword: target.printed(keyword) for keyword in MANAGED}
    assert target.printed("ClientAliveInterval") == str(TIMEOUT)
    audit = minion.call("idlelock.audit")
    assert audit["compliant"] is True, audit["findings"]
    assert f"idle logout (Match Group {EXEMPT_GROUP}): exempt (exempt_groups)" in audit["passed"]
    grain = minion.call("grains.get", "idlelock")
    assert grain["compliant"] is True, grain


@pytest.mark.parametrize("target", ["sid"], indirect=True)
@pytest.mark.parametrize("case", ["earlier-match", "no-member", "main-file-layout"])
def test_an_exemption_sshd_does_not_give_a_member_is_named(idlelock, target, exempt_member, case):
    if case == "main-file-layout":
        # No Include: idlelock's block goes to the top of the main file, where a Match
        # block of its own would capture every line after it.
        main = target.copy_dir / "sshd_config"
        main.write_text(main.read_text().replace("Include ", "# Include "))
        ret = idlelock.set_sshd(timeout=TIMEOUT, exempt_groups=[EXEMPT_GROUP], **target.kwargs)
        assert ret["result"] is True, ret["comment"]
        assert any("writes no Match Group block for" in w
                   and "the shell guard is the only exemption" in w for w in ret["warnings"])
        assert "Match Group" not in "".join(target.texts().values())
        assert target.printed("ChannelTimeout", f"user={MEMBER},host=localhost,addr=127.0.0.1") \
            == f"session:*={TIMEOUT}"
        return
    if case == "earlier-match":
        # A drop-in sorted before ours: its Match block is the one sshd applies first.
        (target.copy_dir / "sshd_config.d" / "00-aaa.conf").write_text(
            f"Match User {MEMBER}\n    ChannelTimeout session:*=100\n")
        groups = [EXEMPT_GROUP]
        expected = (f"{MEMBER} (group {EXEMPT_GROUP}) would get ChannelTimeout "
                    "'session:*=100', not 'session:*=0'")
    else:
        groups = ["idlnobody"]
        expected = ("group idlnobody has no member in this host's account database, so its "
                    "exemption in sshd is not proven")

    ret = idlelock.set_sshd(timeout=TIMEOUT, exempt_groups=groups, **target.kwargs)

    assert ret["result"] is True, ret["comment"]
    assert expected in ret["warnings"], ret["warnings"]
    assert MEMBER not in ret["comment"].split("proven with sshd -T -C for ")[1]
    # Everyone else still gets the policy.
    assert target.printed("ChannelTimeout") == f"session:*={TIMEOUT}"
