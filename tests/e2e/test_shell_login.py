"""
Real logins over a real sshd (127.0.0.1) into shells configured by idlelock.set_shell.

Set-up, once: a foreign ``readonly TMOUT=900`` in profile.d, then set_shell with a
3 s policy, ``takeover: true`` and an exempt group, run by Salt's loader in a
private /etc overlay (tests/support/private_etc.py). A sandbox sshd then runs
on that same /etc (the same upper layer over the suite's baseline), so its
login shells read what set_shell wrote and nothing of the host's /etc. sshd has no ChannelTimeout here: only
the shells close the sessions. Sessions run in parallel; each has its own
pty reader, so close times are measured as they happen.
"""

import os
import re
import shutil

import pytest

from tests.support.private_etc import run_with_etc
from tests.support.pty_session import open_session
from tests.support.sshd_sandbox import SshdSandbox, ensure_test_user

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: sshd, useradd, mount namespaces"),
    pytest.mark.skipif(not os.path.exists("/usr/sbin/sshd"), reason="openssh-server missing"),
]

TMOUT = 3
EXEMPT = "idl-exempt-g"
SHELLS = {name: shutil.which(name) for name in ("bash", "dash", "zsh", "ksh", "tcsh")}
POLICY = {"tmout": TMOUT, "takeover": True, "exempt_groups": [EXEMPT],
          "zsh_file": "/etc/zsh/zprofile", "csh_file": "/etc/csh/login.d/idlelock.csh",
          "bashrc_file": "/etc/bash.bashrc"}


def needs(shell):
    return pytest.mark.skipif(not SHELLS[shell], reason=f"{shell} not installed")


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    """The sandbox /etc upper layer after set_shell, and set_shell's return."""
    from saltfactories.utils.functional import Loaders

    from tests.support.loader import make_minion_opts

    base = tmp_path_factory.mktemp("shell-login")
    upper = base / "etc"
    (upper / "profile.d").mkdir(parents=True)
    (upper / "profile.d" / "00-foreign.sh").write_text("readonly TMOUT=900\nexport TMOUT\n")
    (upper / "profile.d" / "zzz-sentinel.sh").write_text("echo SENTINEL-''END\n".replace("''", ""))
    loaders = Loaders(make_minion_opts(base))
    try:
        ret = run_with_etc(upper, lambda: loaders.modules.idlelock.set_shell(**POLICY))
    finally:
        loaders.reset_state()
    assert ret["result"] is True, ret
    return upper, ret


@pytest.fixture(scope="module")
def sshd(applied, tmp_path_factory):
    upper, _ = applied
    with SshdSandbox(tmp_path_factory.mktemp("sshd")) as sandbox:
        sandbox.start(etc=upper)  # the /etc set_shell wrote, over the suite's baseline
        yield sandbox


def user_for(shell, groups=()):
    user = ensure_test_user(name=f"idl-{shell}" + ("-x" if groups else ""),
                            shell=SHELLS[shell], groups=groups)
    if shell == "zsh":
        # Without a ~/.zshrc, Debian's zsh starts its interactive new-user menu.
        (user.home / ".zshrc").write_text("")
    return user


def ask(session, command, marker):
    """Run ``command``, then ``echo <marker>``; return the output before the marker."""
    # A line of its own: bash drops the rest of a line after a readonly error.
    session.send(command)
    session.send(f"echo {marker[:3]}''{marker[3:]}")
    found = session.wait_for(re.compile(re.escape(marker) + r"\r?\n"))
    return session.output[: found.start()]


def test_set_shell_took_over_the_foreign_line_and_kept_a_backup(applied):
    upper, ret = applied
    assert ret["changes"]["taken_over"]["new"] == ["/etc/profile.d/00-foreign.sh:1",
                                                   "/etc/profile.d/00-foreign.sh:2"]
    assert (upper / "profile.d" / "00-foreign.sh.idlelock.bak").read_text().startswith(
        "readonly TMOUT=900")


@needs("bash")
@pytest.mark.parametrize("shells", [("bash", "zsh")])
def test_idle_shells_log_out_and_exempt_user_stays(sshd, shells):
    missing = [s for s in shells if not SHELLS[s]]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    sessions = {}
    try:
        candidates = list(shells)
        for shell in candidates:
            sessions[shell] = open_session(sshd, user_for(shell), log_level="INFO")
        sessions["exempt"] = open_session(sshd, user_for("bash", groups=(EXEMPT,)))
        for name, session in sessions.items():
            ask(session, "true", f"READY{name}")
        closed = {}
        for name in candidates:
            closed[name] = sessions[name].idle_close_seconds(timeout=TMOUT + 6)
        print({name: f"{seconds:.2f}s" for name, seconds in closed.items()})
        for name, seconds in closed.items():
            assert seconds is not None and TMOUT - 0.5 <= seconds <= TMOUT + 1.0, (
                name, seconds, sessions[name].output[-300:])
        out = sessions["bash"].output
        assert "auto-logout" in out and "readonly variable" not in out
        # The exempt user has been idle at least as long as the others took to close.
        assert sessions["exempt"].stays_open(0.5)
        out = ask(sessions["exempt"], 'echo "v=[${TMOUT-unset}]"', "EXEMPTOK")
        assert "v=[unset]" in out, out
    finally:
        for session in sessions.values():
            session.close()


@needs("bash")
def test_bash_refuses_to_drop_the_timeout(sshd):
    with open_session(sshd, user_for("bash")) as session:
        assert "readonly variable" not in ask(session, "true", "LOGIN1")
        out = ask(session, "TMOUT=0", "TRY1")
        assert "TMOUT: readonly variable" in out
        out = ask(session, "unset TMOUT", "TRY2")
        assert "TMOUT: cannot unset: readonly variable" in out
        out = ask(session, 'echo "value=$TMOUT"; export -p | grep -c " TMOUT="', "VAL")
        assert f"value={TMOUT}" in out and re.search(r"^1\r?$", out, re.M)


@needs("dash")
def test_dash_reads_all_of_etc_profile(sshd):
    with open_session(sshd, user_for("dash")) as session:
        out = ask(session, 'echo "value=$TMOUT"', "DASH")
        assert "SENTINEL-END" in out, out  # the last profile.d file ran
        assert "read only" not in out and f"value={TMOUT}" in out


@needs("ksh")
def test_ksh_gets_a_readonly_tmout(sshd):
    with open_session(sshd, user_for("ksh")) as session:
        out = ask(session, 'echo "value=$TMOUT"; (unset TMOUT) 2>/dev/null || echo flag=ro',
                  "KSH")
        assert f"value={TMOUT}" in out and "flag=ro" in out and "read" not in out.split("value=")[0]


@needs("tcsh")
def test_tcsh_gets_a_readonly_autologout_in_minutes(sshd):
    with open_session(sshd, user_for("tcsh")) as session:
        out = ask(session, 'echo "al=$autologout"', "TCSH")
        assert "al=1" in out  # 3 s: tcsh cannot go below one minute
        out = ask(session, "set autologout = 9", "TCSH2")
        assert "read-only" in out


@needs("bash")
def test_interactive_non_login_bash_logs_out(sshd):
    # sudo -s, su without -, a terminal emulator: bash -i reads the system bashrc only,
    # where set_shell hooked the profile file. This sshd has no ChannelTimeout.
    with open_session(sshd, user_for("bash"), command="bash -i", log_level="INFO") as session:
        out = ask(session, 'shopt -q login_shell || echo "non-login v=$TMOUT"', "NONLOGIN")
        assert f"non-login v={TMOUT}" in out, out
        seconds = session.idle_close_seconds(timeout=TMOUT + 6)
        print(f"bash -i closed {seconds}s after its last activity (TMOUT {TMOUT})")
        assert seconds is not None and TMOUT - 0.5 <= seconds <= TMOUT + 1.0


@pytest.mark.parametrize("kind, command, options", [
    ("ssh host cmd", "sleep 30", ()),
    ("sftp-only", "sftp", ("SessionType=subsystem",)),
])
def test_sessions_without_an_interactive_shell_are_not_closed_by_tmout(sshd, kind, command,
                                                                       options):
    # README "Who gets which mechanism": TMOUT only acts at an interactive prompt.
    with open_session(sshd, user_for("bash"), command=command, options=options,
                      tty=kind != "sftp-only") as session:
        assert session.stays_open(TMOUT + 3), session.output[-300:]
