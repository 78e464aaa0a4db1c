"""idlelock_logind: the drop-in it renders, systemd's reading order, and where StopIdleSessionSec applies."""

import math

import pytest

import idlelock_facts
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


def test_a_systemd_version_is_ascii_digits():
    supported, reason = idlelock_facts.logind_support(
        {"root": "/"}, {"init": "systemd", "systemd": {"version": "\uff12\uff15\uff15"}})
    assert supported is False and "unknown" in reason
    assert idlelock_facts.logind_support(
        {"root": "/"}, {"init": "systemd", "systemd": {"version": "255.4"}}) == (True, None)


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


def test_an_empty_assignment_is_ignored_as_systemd_ignores_it():
    # config_parse_sec_fix_0 has no empty-value case and parse_time("") fails:
    # systemd logs "Failed to parse" and the earlier value stays.
    texts = [("/etc/systemd/logind.conf", "[Login]\nStopIdleSessionSec=60\nStopIdleSessionSec=\n")]
    assert logind.logind_effective(texts) == ("60", "/etc/systemd/logind.conf:2")
    assert logind.stop_idle_seconds("") is None


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


# systemd strips only its WHITESPACE (" \t\n\r", src/basic/string-util.h) around a line,
# a key and a value, and reads ASCII digits only (parse_time, src/basic/time-util.c):
# each of these lines sets nothing, so idlelock's earlier drop-in still wins.
OURS = "/etc/systemd/logind.conf.d/idlelock.conf"
SITE = "/etc/systemd/logind.conf.d/zz-site.conf"
IGNORED_BY_SYSTEMD = [
    "[Login]\n\u00a0StopIdleSessionSec=60\n",  # an unknown key "<U+00A0>StopIdleSessionSec"
    "[Login]\n\u3000StopIdleSessionSec=60\n",
    "[Login]\nStopIdleSessionSec\u2003=60\n",
    "[Login]\n\x0bStopIdleSessionSec=60\n",
    "[Login]\n\x0cStopIdleSessionSec=60\n",
    "[Login]\nStopIdleSessionSec\x1f=60\n",
    "\u00a0[Login]\nStopIdleSessionSec=60\n",  # no section: the assignment is outside one
    "[Login]\x0c\nStopIdleSessionSec=60\n",
    # Values parse_sec refuses: systemd logs "Failed to parse" and ignores the line.
    "[Login]\nStopIdleSessionSec=\uff16\uff10\n",
    "[Login]\nStopIdleSessionSec=\u0666\u0660\n",
    "[Login]\nStopIdleSessionSec=60\u00a0\n",
    "[Login]\nStopIdleSessionSec=\u00a060\n",
    "[Login]\nStopIdleSessionSec=6_0\n",
    "[Login]\nStopIdleSessionSec=1MIN\n",
    "[Login]\nStopIdleSessionSec=60x\n",
    "[Login]\nStopIdleSessionSec=\u00b2\n",
    # Continued lines (a line ending in an unescaped backslash joins the next one).
    "[Login]\nX-Note=\\\nStopIdleSessionSec=60\n",
    "[Login]\nX-Note=a \\\n# comment\nStopIdleSessionSec=60\n",
    "[Login]\nStopIdle\\\nSessionSec=60\n",
    "[Login]\nStopIdleSessionSec=60\\\nx\n",
    "[Other] \\\n[Login]\nStopIdleSessionSec=60\n",
    "[Login]\nStopIdleSessionSec=\\\n",  # continued at the end of the file: empty
]
# And lines systemd does read, with what it strips.
READ_BY_SYSTEMD = [
    ("[Login]\n \tStopIdleSessionSec \t= \t60 \t\n", "60"),
    ("\t[Login] \nStopIdleSessionSec=1min\r\n", "1min"),
    ("[Login]\nStopIdleSessionSec=+60\n", "+60"),
    ("[Login]\nStopIdleSessionSec=1h 30min\n", "1h 30min"),
    ("[Login]\nStopIdleSessionSec=\\\ninfinity\n", "infinity"),
    ("[Login]\nStopIdleSessionSec=\\\n# a comment line is skipped\n\t0\n", "0"),
    ("[Login]\nStopIdleSessionSec=1h \\\r\n30min\n", "1h  30min"),
    ("\ufeff[Login]\nStopIdleSessionSec=60\n", "60"),
]


# Lines config_parse() fails on: it reads nothing more of that file, and
# config_parse_many_files() no file after it (src/shared/conf-parser.c).
STOPS_SYSTEMD = [
    ("[Login\n", 1, "invalid section header"),
    ("[Login]\nKillUserProcesses=no\n[Log\"in]\n", 3, "invalid section header"),
    ("[Login]\n[Log\\\\in]\n", 2, "invalid section header"),
    ("[Lo\x01gin]\n", 1, "invalid section header"),
    ("[Login]\nX-Note=\udcff\n", 2, "not UTF-8"),
]


@pytest.mark.parametrize("text, line, why", STOPS_SYSTEMD)
def test_a_line_systemd_fails_on_stops_every_later_file(text, line, why):
    texts = [(SITE, text), (OURS, logind.render_logind(600))]
    assert logind.logind_effective(texts) == (None, None)
    found, stop = logind.read(texts)
    assert found == [] and stop.startswith(f"{SITE}:{line}: {why}")
    # After ours, the failure changes nothing that was read before it.
    assert logind.logind_effective(texts[::-1]) == ("600", f"{OURS}:4")


@pytest.mark.parametrize("text", IGNORED_BY_SYSTEMD)
def test_a_line_systemd_ignores_sets_nothing(text):
    texts = [(OURS, logind.render_logind(600)), (SITE, text)]
    assert logind.logind_effective(texts) == ("600", f"{OURS}:4")
    assert logind.conflicts(texts, OURS) == []
    assert logind.logind_effective([(SITE, text)]) == (None, None)


@pytest.mark.parametrize("text, value", READ_BY_SYSTEMD)
def test_a_line_systemd_reads_wins(text, value):
    texts = [(OURS, logind.render_logind(600)), (SITE, text)]
    assert logind.logind_effective(texts) == (value, f"{SITE}:2")
    assert logind.conflicts(texts, OURS) == [(SITE, 2, value)]


# value -> seconds as systemd-logind parses StopIdleSessionSec (0 and infinity: never).
STOP_IDLE_SECONDS = {
    "600": 600, "600s": 600, "10min": 600, "10 min": 600, "10m": 600, "1h 30min": 5400,
    "1.5h": 5400, "+600": 600, " 600 ": 600, "1 2": 3, "500ms": 0.5, "2weeks": 1209600,
    "infinity": math.inf, " infinity ": math.inf, "0": math.inf,
    "": None, "\uff16\uff10\uff10": None, "\u0666\u0660\u0660": None, "600\u00a0": None,
    "\u3000600": None, "6_00": None, "10MIN": None, "600x": None, "12.34.56": None,
    "-5": None, "infinity\u00a0": None, "\u00b2": None, "x": None,
    # A point needs a digit after it; strtoll() and the span stop short of overflow.
    "300.": None, "3.sec": None, ".": None, ".5": 0.5, "3.5s.5": 4, "0" * 5000 + "5": 5,
    "9223372036854775808": None, "18446744073709": None, "18446744073708": 18446744073708,
    "5124095576h": None, "5124095575h": 18446744070000, "1" * 5000: None,
    "1." + "1" * 5000: 1.111111,
}


def test_stop_idle_seconds_reads_as_systemd_parses():
    got = {value: logind.stop_idle_seconds(value) for value in STOP_IDLE_SECONDS}
    assert got == STOP_IDLE_SECONDS


def test_an_assignment_read_before_ours_is_no_conflict():
    """Ours is read after it and wins: takeover must leave it alone."""
    main = ("/etc/systemd/logind.conf", "[Login]\nStopIdleSessionSec=infinity\n")
    texts = [main, (OURS, logind.render_logind(600)), (SITE, "[Login]\nStopIdleSessionSec=0\n")]
    assert logind.conflicts(texts, OURS) == [(SITE, 2, "0")]
    assert logind.conflicts(texts[:2], OURS) == []
