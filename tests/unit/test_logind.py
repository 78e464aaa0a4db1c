"""idlelock_logind: the drop-in it renders, systemd's reading order, and where StopIdleSessionSec applies."""

import pytest

import idlelock_logind as logind


def test_logind_dropin_order_and_effective_value():
    assert logind.render_logind(600).splitlines()[-2:] == ["[Login]", "StopIdleSessionSec=600"]
    order = logind.logind_order([
        "/usr/lib/systemd/logind.conf.d/10-a.conf",
        "/etc/systemd/logind.conf.d/10-a.conf",
        "/usr/lib/systemd/logind.conf.d/05-b.conf",
    ])
    assert order == ["/usr/lib/systemd/logind.conf.d/05-b.conf",
                     "/etc/systemd/logind.conf.d/10-a.conf"]
    value, source = logind.logind_effective([
        ("/etc/systemd/logind.conf", "[Login]\n#StopIdleSessionSec=infinity\nStopIdleSessionSec=60\n"),
        ("/etc/systemd/logind.conf.d/idlelock.conf", logind.render_logind(600)),
    ])
    assert value == "600" and source == "/etc/systemd/logind.conf.d/idlelock.conf:4"


@pytest.mark.parametrize("version, init, ok", [
    (252, "systemd", True), (255, "systemd", True), (251, "systemd", False),
    (None, "systemd", False), (252, "sysvinit", False), (None, None, False),
])
def test_logind_supported(version, init, ok):
    supported, reason = logind.logind_supported(version, init)
    assert supported is ok and (reason is None) is ok


def test_only_login_section_counts_and_the_last_assignment_wins():
    texts = [
        ("/etc/systemd/logind.conf", "[Login]\n#StopIdleSessionSec=1\n;StopIdleSessionSec=2\n"),
        ("/etc/systemd/logind.conf.d/idlelock.conf", logind.render_logind(600)),
        ("/etc/systemd/logind.conf.d/zz-a.conf", "[Session]\nStopIdleSessionSec=infinity\n"),
        ("/run/systemd/logind.conf.d/zz-b.conf", "[Login]\n StopIdleSessionSec = 1h \n"),
    ]
    assert logind.logind_effective(texts) == ("1h", "/run/systemd/logind.conf.d/zz-b.conf:2")
    beaten = logind.conflicts(texts, "/etc/systemd/logind.conf.d/idlelock.conf")
    assert beaten == [("/run/systemd/logind.conf.d/zz-b.conf", 2, "1h")]
    edits = logind.plan_takeover(texts, beaten)
    assert edits == {"/run/systemd/logind.conf.d/zz-b.conf":
                     "[Login]\n # idlelock-takeover: StopIdleSessionSec = 1h \n"}
    texts[-1] = (texts[-1][0], edits[texts[-1][0]])
    assert logind.logind_effective(texts) == ("600", "/etc/systemd/logind.conf.d/idlelock.conf:4")


def test_an_empty_assignment_resets_to_the_default():
    texts = [("/etc/systemd/logind.conf", "[Login]\nStopIdleSessionSec=60\nStopIdleSessionSec=\n")]
    assert logind.logind_effective(texts) == (None, "/etc/systemd/logind.conf:3")


def test_the_main_file_is_the_first_that_exists_then_the_dropins():
    assert logind.logind_paths(["/usr/lib/systemd/logind.conf"], [
        "/usr/lib/systemd/logind.conf.d/a.conf", "/run/systemd/logind.conf.d/a.conf",
        "/etc/systemd/logind.conf.d/b.conf"]) == [
        "/usr/lib/systemd/logind.conf", "/run/systemd/logind.conf.d/a.conf",
        "/etc/systemd/logind.conf.d/b.conf"]


def test_lines_end_where_systemd_read_line_ends_them():
    # \r, \r\n and NUL end a line for systemd's read_line(); a form feed or U+2028
    # inside a comment does not, so what follows it stays a comment.
    path = "/etc/systemd/logind.conf.d/zz-site.conf"
    text = "[Login]\rStopIdleSessionSec=5\r\n#x\fStopIdleSessionSec=7\n# \u2028StopIdleSessionSec=8\n"
    assert logind.logind_effective([(path, text)]) == ("5", f"{path}:2")
    taken = logind.plan_takeover([(path, text)], [(path, 2, "5")])
    assert taken[path] == text.replace("\rStopIdle", "\r# idlelock-takeover: StopIdle", 1)
    assert logind.logind_effective([(path, taken[path])]) == (None, None)


def test_an_assignment_before_ours_is_no_conflict_and_a_masked_ours_loses_to_all():
    ours = "/etc/systemd/logind.conf.d/idlelock.conf"
    texts = [
        ("/etc/systemd/logind.conf", "[Login]\nStopIdleSessionSec=60\n"),
        ("/etc/systemd/logind.conf.d/a.conf", "[Login]\nStopIdleSessionSec=120\n"),
        (ours, logind.render_logind(600)),
        ("/etc/systemd/logind.conf.d/zz.conf", "[Login]\nStopIdleSessionSec=1h\n"),
    ]
    # systemd applies logind.conf and a.conf before idlelock's drop-in: only zz.conf beats it.
    assert logind.conflicts(texts, ours) == [("/etc/systemd/logind.conf.d/zz.conf", 2, "1h")]
    # Ours masked by a same-name drop-in (absent from what systemd reads): every
    # assignment systemd applies wins over it.
    masked = [entry for entry in texts if entry[0] != ours]
    assert logind.conflicts(masked, ours) == [
        ("/etc/systemd/logind.conf", 2, "60"), ("/etc/systemd/logind.conf.d/a.conf", 2, "120"),
        ("/etc/systemd/logind.conf.d/zz.conf", 2, "1h")]


def test_a_reset_names_the_file_and_line_of_the_empty_assignment():
    texts = [("/etc/systemd/logind.conf", "[Login]\nStopIdleSessionSec=60\n"),
             ("/etc/systemd/logind.conf.d/a.conf", "[Login]\n\nStopIdleSessionSec=120\n"),
             ("/etc/systemd/logind.conf.d/b.conf", "[Login]\n#\n\nStopIdleSessionSec=\n")]
    assert logind.logind_effective(texts) == (None, "/etc/systemd/logind.conf.d/b.conf:4")


def test_only_the_first_existing_main_file_is_read():
    # systemd reads the first of LOGIND_MAINS that exists: /etc's copy hides /usr's.
    assert logind.logind_paths(["/etc/systemd/logind.conf", "/usr/lib/systemd/logind.conf"],
                               []) == ["/etc/systemd/logind.conf"]


def test_nul_ends_a_line_and_two_lines_of_one_file_are_both_taken_over():
    path = "/etc/systemd/logind.conf.d/zz-site.conf"
    text = "[Login]\0StopIdleSessionSec=5\0"
    assert logind.logind_effective([(path, text)]) == ("5", f"{path}:2")
    # Two assignments in one file, the last without a final newline: both commented out.
    text = "[Login]\nStopIdleSessionSec=5\n  StopIdleSessionSec=7"
    taken = logind.plan_takeover([(path, text)], [(path, 2, "5"), (path, 3, "7")])
    assert taken == {path: "[Login]\n# idlelock-takeover: StopIdleSessionSec=5\n"
                           "  # idlelock-takeover: StopIdleSessionSec=7"}
    assert logind.logind_effective([(path, taken[path])]) == (None, None)
