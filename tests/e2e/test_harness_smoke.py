"""Smoke tests for the e2e harness itself: a real sshd, a real ssh client on a real pty.

If these fail, no idlelock e2e result can be trusted, so they check the facts the product tests
lean on (docs/how-idle-sessions-end.md §1): ChannelTimeout closes an idle shell, output keeps a session alive,
SIGHUP keeps the PID and existing sessions, and namespace mode feeds login shells the sandbox
profile.d without touching the host's.
"""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.support.pty_session import open_session
from tests.support.sshd_sandbox import SshdSandbox, ensure_test_user, pid_alive

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: sshd, useradd, mount namespaces"),
    pytest.mark.skipif(not os.path.exists("/usr/sbin/sshd"), reason="openssh-server missing"),
]

PROMPT = "$ "  # Debian's bash prompt ends so; TERM=dumb keeps escape codes out of it
FAKE_SERVICE_DIR = Path(__file__).resolve().parents[1] / "support" / "fake_service"


@pytest.fixture(scope="module")
def user():
    return ensure_test_user(shell="/bin/bash")


@pytest.fixture
def sshd(tmp_path):
    with SshdSandbox(tmp_path) as sandbox:
        yield sandbox


def snapshot(directory):
    """{name: bytes} of a directory's regular files, to prove it was not modified."""
    return {p.name: p.read_bytes() for p in sorted(Path(directory).iterdir()) if p.is_file()}


def test_idle_shell_closed_by_channel_timeout(sshd, user):
    sshd.write_dropin("10-idle.conf", "ChannelTimeout session:*=3\n")
    sshd.start()
    assert sshd.effective(user)["channeltimeout"] == "session:*=3"

    # LogLevel INFO: at ERROR the client suppresses its "Connection ... closed." line.
    with open_session(sshd, user, log_level="INFO") as session:
        session.wait_for(PROMPT)
        session.send("echo idle-''start")
        session.wait_for("idle-start")
        seconds = session.idle_close_seconds(timeout=8)
        print(f"idle shell closed {seconds:.2f}s after its last activity (ChannelTimeout 3s)")
        assert seconds is not None and 1.5 <= seconds <= 5
        assert session.exit_status == 255
        assert "Connection to 127.0.0.1 closed." in session.output


@pytest.mark.parametrize("kind, command, options", [
    ("ssh host cmd", "sleep 30", ()),
    ("sftp-only", "sftp", ("SessionType=subsystem",)),
    ("tmux", "tmux -L idlelock-e2e new-session", ()),
])
def test_idle_command_sftp_and_tmux_closed_by_channel_timeout(sshd, user, kind, command,
                                                               options):
    # README "Who gets which mechanism": no shell TMOUT reaches these sessions; ChannelTimeout
    # session:* (session:command, session:subsystem:sftp) closes them when idle.
    if command.startswith("tmux") and not shutil.which("tmux"):
        pytest.skip("tmux not installed")
    sshd.write_dropin("10-idle.conf", "ChannelTimeout session:*=3\n")
    sshd.start()
    with open_session(sshd, user, command=command, options=options,
                      tty=kind != "sftp-only", term="xterm") as session:
        if kind == "tmux":
            session.send("echo tmux-''up")
            session.wait_for("tmux-up")  # tmux runs: the close is not its own exit
        seconds = session.idle_close_seconds(timeout=10)
        print(f"{kind}: closed {seconds}s after its last activity (ChannelTimeout 3s)")
        assert seconds is not None and seconds <= 5, session.output[-300:]
    if kind == "tmux":
        # The tmux server outlived the closed channel, detached (kill-server exits 0 only
        # when there is one to kill); killing it leaves nothing of ours running.
        with open_session(sshd, user, command="tmux -L idlelock-e2e kill-server",
                          tty=False) as killer:
            assert killer.wait_closed(10) is not None and killer.exit_status == 0


def test_session_with_output_stays_open(sshd, user):
    sshd.write_dropin("10-idle.conf", "ChannelTimeout session:*=3\n")
    sshd.start()
    with open_session(sshd, user, command="while :; do date; sleep 1; done") as session:
        session.wait_for(":")  # the first date line
        assert session.stays_open(8), session.output
        assert session.exit_status is None


def test_reload_keeps_pid_and_sessions(sshd, user):
    sshd.start()
    listener = sshd.pid
    with open_session(sshd, user) as old:
        old.wait_for(PROMPT)
        sshd.write_dropin("20-alive.conf", "ClientAliveInterval 7\n")
        sshd.reload()

        assert sshd.pid == listener and pid_alive(listener)
        assert sshd.log_text().count("Received SIGHUP; restarting.") == 1
        assert sshd.effective()["clientaliveinterval"] == "7"
        old.send("echo still-''here")
        old.wait_for("still-here")

        with open_session(sshd, user, command="echo new-login", tty=False) as new:
            assert new.wait_closed(timeout=10) is not None
            assert new.exit_status == 0 and "new-login" in new.output


def test_namespace_profile_d_reaches_login_shell(sshd, user):
    probe = f"probe-{uuid.uuid4().hex[:8]}"
    host_before = snapshot("/etc/profile.d")
    sshd.write_profile_d("zz-idlelock-probe.sh", f"export IDLELOCK_PROBE={probe}\n")
    sshd.start(namespace_profile_d=True)

    with open_session(sshd, user) as session:
        session.wait_for(PROMPT)
        session.send('echo "probe=[$IDLELOCK_PROBE]"')
        session.wait_for(f"probe=[{probe}]")
        session.send("exit")
        assert session.wait_closed(timeout=10) is not None
        assert session.exit_status == 0

    assert snapshot("/etc/profile.d") == host_before
    assert "/etc/profile.d" not in Path("/proc/self/mountinfo").read_text()


@pytest.mark.skipif(not shutil.which("salt-call", path=os.path.dirname(sys.executable)),
                    reason="salt-call not installed next to this Python")
def test_fake_service_reloads_once_through_salt_watch(sshd, tmp_path):
    """Salt's real service.running + watch reloads the sandbox sshd once, then not again."""
    sshd.start()
    listener = sshd.pid
    conf, srv = tmp_path / "conf", tmp_path / "srv"
    conf.mkdir()
    srv.mkdir()
    (conf / "minion").write_text(
        f"root_dir: {tmp_path / 'salt-root'}\n"
        "file_client: local\n"
        f"file_roots: {{base: [{srv}]}}\n"
        f"module_dirs: [{FAKE_SERVICE_DIR}]\n"
        f"idlelock_test_services: {{ssh: {sshd.pidfile}}}\n")
    (srv / "reload.sls").write_text(
        "dropin:\n"
        "  file.managed:\n"
        f"    - name: {sshd.dropin_dir / '20-alive.conf'}\n"
        "    - contents: ClientAliveInterval 9\n"
        "ssh:\n"
        "  service.running:\n"
        "    - reload: True\n"
        "    - watch:\n"
        "      - file: dropin\n")
    salt_call = [os.path.join(os.path.dirname(sys.executable), "salt-call"),
                 "--local", "-c", str(conf), "--retcode-passthrough", "state.apply", "reload"]

    for _ in range(2):
        subprocess.run(salt_call, check=True, capture_output=True, timeout=60)

    calls = Path(f"{sshd.pidfile}.calls").read_text().splitlines()
    assert calls.count("reload ssh") == 1, calls
    assert sshd.pid == listener
    assert sshd.effective()["clientaliveinterval"] == "9"
