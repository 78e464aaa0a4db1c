"""idlelock_logind, to the character: the drop-in's text and why logind is skipped."""

import pytest

import idlelock_logind as logind
import idlelock_shell


def test_dropin_text():
    assert logind.render_logind(600) == (
        idlelock_shell.HEADER + "\n"
        "# Stops sessions whose tty was idle this long (tmux and screen included).\n"
        "[Login]\nStopIdleSessionSec=600\n")


@pytest.mark.parametrize("version, init, reason", [
    (255, "sysvinit", "systemd is not the init system here (init: sysvinit)"),
    (255, None, "systemd is not the init system here (init: unknown)"),
    (251, "systemd", "systemd 251 has no StopIdleSessionSec (needs >= 252)"),
    (None, "systemd", "systemd unknown has no StopIdleSessionSec (needs >= 252)"),
])
def test_why_logind_is_skipped(version, init, reason):
    assert logind.logind_supported(version, init) == (False, reason)


def test_last_assignment_wins_and_missing_files_count_as_empty():
    assert logind.logind_effective([
        ("/a", "[Login]\nStopIdleSessionSec=5\n"), ("/b", None),
        ("/c", "[Login]\n StopIdleSessionSec = 7 \n")]) == ("7", "/c:2")
    # Only the [Login] section counts: systemd ignores an assignment before any
    # section header or under another one.
    assert logind.logind_effective([
        ("/a", "[Login]\nStopIdleSessionSec=5\n"),
        ("/c", "StopIdleSessionSec=7\n[Other]\nStopIdleSessionSec=8\n")]) == ("5", "/a:2")
    assert logind.logind_effective([("/a", None)]) == (None, None)
