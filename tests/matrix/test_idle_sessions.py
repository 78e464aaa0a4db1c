"""A real idle session per OpenSSH: sshd runs under ``chroot`` on a loopback port, the host's
ssh client sits on a pty, and the close is timed. Which mechanism closes it depends on the
version; docs/versions.md tabulates what these tests print (run with ``-s``).

The host's own sshd (Debian 12: 9.2) is covered by tests/e2e/test_sshd_idle_logout.py.
"""

import re
import time
import types

import idlelock_policy
import pytest

from tests.support.chroots import ensure_chroot_user, free_port, make_client_key, start_chroot_sshd
from tests.support.pty_session import open_session
from tests.support.salt_call import LocalMinion, states_by_id

pytestmark = pytest.mark.matrix

TIMEOUT = 3  # the policy, in seconds
USER = "idltest"
PROMPT = re.compile(r"[$#] ")  # a user's prompt, or root's
SHELL_WARNING = "sshd cannot close an idle but live session; idle logout rests on the shell timeout"
MATCH_IGNORED = "(ignored: OpenSSH < 10.5 ignores ChannelTimeout in Match)"
EXEMPT_GROUP = "idlexempt"
CANNOT_EXEMPT = f"so sshd cannot exempt exempt_groups ({EXEMPT_GROUP})"


@pytest.fixture(scope="module")
def client_key(tmp_path_factory):
    return make_client_key(tmp_path_factory.mktemp("client"))


@pytest.fixture
def user(target, client_key):
    """A login in the target chroot for the host's ssh client."""
    key, pubkey = client_key
    ensure_chroot_user(target.root, USER, pubkey)
    return types.SimpleNamespace(name=USER, key=key)


@pytest.fixture
def member(target, client_key):
    """A login in the target chroot that belongs to EXEMPT_GROUP (created inside the chroot)."""
    key, pubkey = client_key
    ensure_chroot_user(target.root, USER, pubkey, groups=(EXEMPT_GROUP,))
    return types.SimpleNamespace(name=USER, key=key)


@pytest.fixture
def root_user(target, client_key):
    """The chroot's root, able to log in with the client key (PermitRootLogin prohibit-password)."""
    key, pubkey = client_key
    ensure_chroot_user(target.root, "root", pubkey)
    return types.SimpleNamespace(name="root", key=key)


def idle_shell(sshd, user):
    """A login shell that has just shown its prompt and gone quiet."""
    session = open_session(sshd, user, log_level="INFO")
    session.wait_for(PROMPT, timeout=10)
    session.send("echo ready")
    session.wait_for("ready", timeout=10)
    session.wait_for(PROMPT, timeout=10)
    return session


@pytest.mark.parametrize("target", ["bullseye", "trixie", "trixie-backports", "sid"], indirect=True)
def test_sshd_closes_an_idle_session_only_from_9_2(idlelock, target, user):
    ret = idlelock.set_sshd(timeout=TIMEOUT, **target.kwargs)
    assert ret["result"] is True, ret["comment"]

    with start_chroot_sshd(target.root, target.config, free_port()) as sshd, \
            idle_shell(sshd, user) as session:
        if target.version >= (9, 2):
            seconds = session.idle_close_seconds(timeout=TIMEOUT + 5)
            print(f"\n[{target.label}] ChannelTimeout session:*={TIMEOUT}: idle session closed "
                  f"after {seconds:.2f} s idle")
            # sshd counts whole seconds, so it may close up to a second early.
            assert seconds is not None and TIMEOUT - 1.5 <= seconds <= TIMEOUT + 1
            assert session.exit_status == 255 and "Connection to 127.0.0.1 closed." in session.output
        else:
            assert session.stays_open(TIMEOUT + 2), f"closed: {session.output[-300:]!r}"
            print(f"\n[{target.label}] no ChannelTimeout: idle session still open after "
                  f"{TIMEOUT + 2} s (policy {TIMEOUT} s)")
            session.send("echo still-here")  # open and usable, not merely not yet reaped
            session.wait_for("still-here", timeout=5)


def exempt_and_root_sessions(target, exempted, root_user, honoured):
    """
    Open an idle login of root and one of ``exempted`` on one sshd; return how long root's
    stayed idle before sshd closed it, after checking that the exempted one stays open
    (``honoured``) or closes on the global timeout too.
    """
    with start_chroot_sshd(target.root, target.config, free_port()) as sshd, \
            idle_shell(sshd, root_user) as root_session, idle_shell(sshd, exempted) as session:
        seconds = root_session.idle_close_seconds(timeout=TIMEOUT + 5)
        assert seconds is not None and TIMEOUT - 1.5 <= seconds <= TIMEOUT + 1, seconds
        if honoured:
            # Open a whole policy period after root's closed: twice the timeout in all.
            assert session.stays_open(TIMEOUT), f"closed: {session.output[-300:]!r}"
            session.send("echo still-here")  # open and usable, not merely not yet reaped
            session.wait_for("still-here", timeout=5)
            kept = time.monotonic() - session.started_at
            print(f"\n[{target.label}] root's idle session closed after {seconds:.2f} s; "
                  f"{exempted.name}'s still open and usable after {kept:.1f} s")
        else:
            other = session.idle_close_seconds(timeout=TIMEOUT + 2)
            assert other is not None and TIMEOUT - 1.5 <= other <= TIMEOUT + 1, other
            print(f"\n[{target.label}] root's idle session closed after {seconds:.2f} s; "
                  f"{exempted.name}'s (exempted in Match) after {other:.2f} s")
    return seconds


@pytest.mark.parametrize("target", ["trixie", "trixie-backports", "sid"], indirect=True)
def test_channel_timeout_in_match_applies_at_run_time_from_10_5(
        idlelock, target, user, root_user):
    """The measurement behind V_CHANNEL_TIMEOUT_IN_MATCH: a hand-written Match User block."""
    main = target.copy_dir / "sshd_config"
    main.write_text(main.read_text() + f"Match User {USER}\n    ChannelTimeout session:*=60\n")
    honoured = idlelock_policy.version_at_least(
        target.version, idlelock_policy.V_CHANNEL_TIMEOUT_IN_MATCH)

    ret = idlelock.set_sshd(timeout=TIMEOUT, **target.kwargs)
    assert ret["result"] is True, ret["comment"]
    assert any(w.endswith(MATCH_IGNORED) for w in ret["warnings"]) is not honoured, ret["warnings"]

    exempt_and_root_sessions(target, user, root_user, honoured)


@pytest.mark.parametrize("target", ["trixie", "sid"], indirect=True)
def test_exempt_group_member_stays_connected_where_sshd_exempts(
        idlelock, target, member, root_user):
    ret = idlelock.set_sshd(timeout=TIMEOUT, exempt_groups=[EXEMPT_GROUP], **target.kwargs)

    assert ret["result"] is True, ret["comment"]
    honoured = idlelock_policy.version_at_least(
        target.version, idlelock_policy.V_CHANNEL_TIMEOUT_IN_MATCH)
    # 10.0: the warning's case; the member's idle session closes like root's.
    assert any(CANNOT_EXEMPT in w for w in ret["warnings"]) is not honoured, ret["warnings"]
    assert (f"Match Group {EXEMPT_GROUP}" in ret["comment"]) is honoured

    exempt_and_root_sessions(target, member, root_user, honoured)


@pytest.mark.parametrize("target", ["sid"], indirect=True)
def test_channel_timeout_none_in_match_drops_the_session_on_10_6(idlelock, target, user):
    """Why idlelock's exemption is session:*=0, and why it warns about a foreign "none"."""
    main = target.copy_dir / "sshd_config"
    main.write_text(main.read_text() + f"Match User {USER}\n    ChannelTimeout none\n")

    ret = idlelock.set_sshd(timeout=TIMEOUT, **target.kwargs)

    assert ret["result"] is True, ret["comment"]
    assert any("'bad timeout none'" in w for w in ret["warnings"]), ret["warnings"]
    with start_chroot_sshd(target.root, target.config, free_port()) as sshd, \
            open_session(sshd, user, log_level="INFO") as session:
        assert session.wait_closed(timeout=10) is not None, session.output[-300:]
        assert not PROMPT.search(session.output), session.output[-300:]
    assert "bad timeout none" in sshd.log()


@pytest.mark.parametrize("target", ["bullseye"], indirect=True)
def test_shell_timeout_logs_out_where_sshd_cannot(target, user, etc_restored, tmp_path):
    minion = LocalMinion(tmp_path / "minion", {
        "root": str(target.root),
        "timeout": TIMEOUT,
        "sshd": {"config": target.config, "manage_service": False},
        "shell": {"profile_file": "/etc/profile.d/idlelock.sh"},
        "schedule": {"enabled": False},
    })

    result = minion.call("state.apply", "idlelock")

    by_id = states_by_id(result)
    assert all(state["result"] is True for state in result.values()), result
    assert any(SHELL_WARNING in w for w in by_id["idlelock-sshd"].get("warnings", [])), by_id
    profile = etc_restored / "profile.d" / "idlelock.sh"
    assert f"TMOUT={TIMEOUT}" in profile.read_text()
    assert "ChannelTimeout" not in "".join(target.texts().values())
    # The probes ran inside the chroot: the host has neither this sshd nor this profile file.
    report = minion.call("idlelock.get")
    assert report["openssh"] == "OpenSSH_8.4p1"
    bash = report["shell"]["effective"]["bash"]
    assert (bash["value"], bash["readonly"], bash["exported"], bash["errors"]) == (
        str(TIMEOUT), True, True, [])

    with start_chroot_sshd(target.root, target.config, free_port()) as sshd, \
            idle_shell(sshd, user) as session:
        seconds = session.idle_close_seconds(timeout=TIMEOUT + 5)
        print(f"\n[{target.label}] bash TMOUT={TIMEOUT} from the chroot's "
              f"/etc/profile.d/idlelock.sh: idle session logged out after {seconds:.2f} s idle")
        assert seconds is not None and TIMEOUT - 0.5 <= seconds <= TIMEOUT + 1
        # The shell ended the session (ssh exits 1), not sshd (255).
        assert "timed out waiting for input: auto-logout" in session.output
        assert session.exit_status == 1
