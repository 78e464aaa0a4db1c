"""
``state.apply idlelock`` against a real sshd and a real ``ssh`` client on a pty.

The minion is masterless (``salt-call --local``) and points the policy at a
sandbox sshd; the service states reach that sshd through a SIGHUP stand-in for
systemd, so the watch-triggered reload is a real reload of a running daemon.
"""

import os

import pytest

from tests.support.pty_session import open_session
from tests.support.salt_call import REPO, LocalMinion
from tests.support.sshd_sandbox import SshdSandbox, ensure_test_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: sshd and useradd"),
]

PROMPT = "$ "
TIMEOUT = 3
FAKE_SERVICE_DIR = REPO / "tests" / "support" / "fake_service"


@pytest.fixture(scope="module")
def user():
    return ensure_test_user(shell="/bin/bash")


@pytest.fixture
def sshd(tmp_path):
    with SshdSandbox(tmp_path / "sshd") as sandbox:
        sandbox.start()
        yield sandbox


@pytest.fixture
def minion(tmp_path, sshd):
    pillar = {
        "timeout": TIMEOUT,
        "sshd": {"config": str(sshd.config), "manage_service": True},
        "shell": {"enabled": False},
        "schedule": {"enabled": False},
    }
    return LocalMinion(
        tmp_path / "minion",
        pillar,
        {
            "module_dirs": [str(REPO), str(FAKE_SERVICE_DIR)],
            "idlelock_test_services": {"ssh": str(sshd.pidfile)},
            "grains": {"os_family": "Debian"},
        },
    )


def reloads(sshd):
    calls = sshd.pidfile.with_name(sshd.pidfile.name + ".calls")
    return calls.read_text().splitlines().count("reload ssh") if calls.exists() else 0


def daemon_stamp(sshd):
    """What the real sshd changes when it reloads: on SIGHUP it re-executes itself
    (same PID) and writes its PidFile again, so the file's mtime moves. Independent
    of the stand-in service's own log."""
    return sshd.pidfile.read_text().strip(), sshd.pidfile.stat().st_mtime_ns


def login_works(sshd, user):
    with open_session(sshd, user, command="echo fresh-login-ok", tty=False) as session:
        session.wait_for("fresh-login-ok", timeout=10)
        return session.wait_closed(10) is not None and session.exit_status == 0


def idle_shell(sshd, user):
    session = open_session(sshd, user, log_level="INFO")
    session.wait_for(PROMPT, timeout=10)
    session.send("echo ready")
    session.wait_for("ready", timeout=10)
    return session


def test_apply_reloads_once_and_closes_idle_sessions(sshd, user, minion):
    listener = sshd.pid
    stamp = daemon_stamp(sshd)
    before = idle_shell(sshd, user)  # opened under the old configuration

    result = minion.call("state.apply", "idlelock")

    assert all(state["result"] for state in result.values())
    assert reloads(sshd) == 1 and sshd.pid == listener
    reloaded = daemon_stamp(sshd)
    assert reloaded[0] == str(listener) and reloaded[1] != stamp[1], "sshd itself never reloaded"
    assert sshd.effective()["channeltimeout"] == f"session:*={TIMEOUT}"
    assert login_works(sshd, user)

    after = idle_shell(sshd, user)
    busy = open_session(sshd, user, command="while :; do date; sleep 1; done", tty=True)
    try:
        seconds = after.idle_close_seconds(timeout=10)
        print(f"idle session closed {seconds:.2f} s after its last activity (timeout {TIMEOUT} s)")
        # sshd counts whole seconds: closed between TIMEOUT-1 and TIMEOUT s after the
        # last output (FIELD-NOTES §1), plus the pty reader's latency.
        assert seconds is not None and TIMEOUT - 1.5 <= seconds <= TIMEOUT + 2
        assert after.exit_status == 255 and "Connection to 127.0.0.1 closed." in after.output
        assert busy.stays_open(8), "a session with output every second must stay open"
        assert before.stays_open(0.1), "a session from before the reload keeps its old settings"
    finally:
        for session in (before, after, busy):
            session.close()

    second = minion.call("state.apply", "idlelock")
    assert all(not state["changes"] for state in second.values())
    assert reloads(sshd) == 1, "a run with no change must not reload"
    assert daemon_stamp(sshd) == reloaded, "a run with no change made sshd reload"
    assert login_works(sshd, user)
