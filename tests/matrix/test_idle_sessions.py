"""A real idle session per OpenSSH: sshd runs under ``chroot`` on a loopback port, the host's
ssh client sits on a pty, and the close is timed. Which mechanism closes it depends on the
version; docs/versions.md tabulates what these tests print (run with ``-s``).

9.2 (the host) is covered by tests/e2e/test_sshd_idle_logout.py.
"""

import types

import pytest

from tests.support.chroots import ensure_chroot_user, free_port, make_client_key, start_chroot_sshd
from tests.support.pty_session import open_session
from tests.support.salt_call import LocalMinion, states_by_id

pytestmark = pytest.mark.matrix

TIMEOUT = 3  # the policy, in seconds
USER = "idltest"
PROMPT = "$ "
SHELL_WARNING = "sshd cannot close an idle but live session; idle logout rests on the shell timeout"
MATCH_IGNORED = "(ignored: OpenSSH < 10.5 ignores ChannelTimeout in Match)"


@pytest.fixture(scope="module")
def client_key(tmp_path_factory):
    return make_client_key(tmp_path_factory.mktemp("client"))


@pytest.fixture
def user(target, client_key):
    """A login in the target chroot for the host's ssh client."""
    key, pubkey = client_key
    ensure_chroot_user(target.root, USER, pubkey)
    return types.SimpleNamespace(name=USER, key=key)


def idle_shell(sshd, user):
    """A login shell that has just shown its prompt and gone quiet."""
    session = open_session(sshd, user, log_level="INFO")
    session.wait_for(PROMPT, timeout=10)
    session.send("echo ready")
    session.wait_for("ready", timeout=10)
    session.wait_for(PROMPT, timeout=10)
    return session


@pytest.mark.parametrize("target", ["bullseye", "trixie"], indirect=True)
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


@pytest.mark.parametrize("target", ["trixie"], indirect=True)
def test_a_match_exemption_does_not_keep_a_session_open_before_10_5(idlelock, target, user):
    main = target.copy_dir / "sshd_config"
    main.write_text(main.read_text() + f"Match User {USER}\n    ChannelTimeout session:*=60\n")

    ret = idlelock.set_sshd(timeout=TIMEOUT, **target.kwargs)
    assert ret["result"] is True, ret["comment"]
    assert any(w.endswith(MATCH_IGNORED) for w in ret["warnings"]), ret["warnings"]

    with start_chroot_sshd(target.root, target.config, free_port()) as sshd, \
            idle_shell(sshd, user) as session:
        seconds = session.idle_close_seconds(timeout=TIMEOUT + 5)
    print(f"\n[{target.label}] Match User {USER} ChannelTimeout session:*=60 under a global "
          f"session:*={TIMEOUT}: the exempted user's idle session closed after {seconds:.2f} s")
    assert seconds is not None and TIMEOUT - 1.5 <= seconds <= TIMEOUT + 1


@pytest.fixture
def etc_restored(target):
    """Remove whatever the test adds under the chroot's /etc (the shell part writes there)."""
    etc = target.root / "etc"
    before = set(etc.rglob("*"))
    yield etc
    for path in sorted(set(etc.rglob("*")) - before, reverse=True):  # files before their dirs
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()


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
