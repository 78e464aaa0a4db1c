"""The auditor's text scanner (SSG's OVAL checks), as idlelock_scanner reads a host."""

import pytest

import idlelock_defaults
import idlelock_scanner

MAIN = "/etc/ssh/sshd_config"
CIS = idlelock_defaults.DEFAULTS["profiles"]["cis"]["scanner"]
STIG = idlelock_defaults.DEFAULTS["profiles"]["stig"]["scanner"]
DECLARE = "if (unset TMOUT) 2>/dev/null; then\n  declare -xr TMOUT=600\nfi\n"
POSIX = "TMOUT=600\nreadonly TMOUT\nexport TMOUT\n"


def verdicts(scanner, texts):
    return {r["rule"]: r["passed"] for r in idlelock_scanner.read(scanner, MAIN, texts)}


@pytest.mark.parametrize("main,passed", [
    ("ClientAliveInterval 300\nClientAliveCountMax 3\n", True),
    ("  clientaliveinterval\t300   # comment\nClientAliveCountMax 3\n", True),
    # The scanner's pattern wants whitespace: sshd reads this line, the scanner does not.
    ("ClientAliveInterval=300\nClientAliveCountMax 3\n", False),
    # Only the first line counts, even where sshd would take the same one.
    ("ClientAliveInterval 600\nClientAliveInterval 300\nClientAliveCountMax 3\n", False),
    ("ClientAliveInterval 0\nClientAliveCountMax 3\n", False),
    ("ClientAliveCountMax 3\n", False),
    # OpenSCAP's PCRE has no Unicode properties: \d and \s are ASCII there, so these
    # lines are not the scanner's (and the vertical tab is its \s).
    ("ClientAliveInterval \uff13\uff10\uff10\nClientAliveCountMax 3\n", False),
    ("ClientAliveInterval \u0663\u0660\u0660\nClientAliveCountMax 3\n", False),
    ("ClientAliveInterval\u00a0300\nClientAliveCountMax 3\n", False),
    ("\u3000ClientAliveInterval 300\nClientAliveCountMax 3\n", False),
    ("ClientAliveInterval 300\u2003\nClientAliveCountMax 3\n", False),
    ("ClientAliveInterval\x0b300\x0c\nClientAliveCountMax 3\n", True),
])
def test_idle_timeout_is_the_first_line_of_the_main_file(main, passed):
    assert verdicts(CIS, {MAIN: main})["sshd_set_idle_timeout"] is passed


@pytest.mark.parametrize("main,passed", [
    ("ClientAliveCountMax 3\n", True),
    # Every line counts, a losing one and one inside a Match block too.
    ("ClientAliveCountMax 3\nClientAliveCountMax 0\n", False),
    ("ClientAliveCountMax 3\nMatch Group admins\n  ClientAliveCountMax 1\n", False),
    ("# ClientAliveCountMax 0\nClientAliveCountMax 3\n", True),
    ("", False),
    ("ClientAliveCountMax \uff13\n", False),
    ("ClientAliveCountMax\u00a03\n", False),
    # A line the scanner does not match is not one of "every line".
    ("ClientAliveCountMax 3\nClientAliveCountMax\u00a00\n", True),
])
def test_keepalive_is_every_line_of_the_main_file(main, passed):
    assert verdicts(CIS, {MAIN: main})["sshd_set_keepalive"] is passed


def test_drop_ins_are_not_read():
    texts = {MAIN: "Include /etc/ssh/sshd_config.d/*.conf\n",
             "/etc/ssh/sshd_config.d/00-idlelock.conf": "ClientAliveInterval 300\n"
                                                          "ClientAliveCountMax 1\n"}
    assert verdicts(STIG, texts) == {"sshd_set_idle_timeout": False,
                                     "sshd_set_keepalive": False, "accounts_tmout": False}


@pytest.mark.parametrize("files,passed", [
    ({"/etc/profile.d/idlelock.sh": DECLARE}, True),
    ({"/etc/profile": "declare -xr TMOUT=300\n"}, True),
    # The three-line form never matches, however right its value.
    ({"/etc/profile.d/idlelock.sh": POSIX}, False),
    ({"/etc/profile.d/idlelock.sh": DECLARE, "/etc/profile.d/site.sh": "declare -xr TMOUT=900\n"},
     False),
    # Not a .sh file in profile.d, or not in profile.d: not read.
    ({"/etc/profile.d/idlelock.csh": DECLARE}, False),
    ({"/etc/bash.bashrc": DECLARE}, False),
    ({"/etc/profile.d/idlelock.sh": "declare -xr TMOUT=$LIMIT\n"}, False),
    ({"/etc/profile": "declare -xr TMOUT=\uff13\uff10\uff10\n"}, False),
    ({"/etc/profile": "declare -xr TMOUT=\u00b3\n"}, False),
    ({"/etc/profile": "declare\u00a0-xr TMOUT=300\n"}, False),
    ({"/etc/profile": "declare -xr\u3000TMOUT=300\n"}, False),
    # Not the scanner's line, so the first declare line of the file is the next one.
    ({"/etc/profile": "declare -xr\u00a0TMOUT=9999\ndeclare -xr TMOUT=300\n"}, True),
])
def test_tmout_is_a_declare_line_in_profile_files(files, passed):
    texts = dict(files, **{MAIN: ""})
    assert verdicts(STIG, texts)["accounts_tmout"] is passed


def test_a_finding_names_the_line_the_scanner_reads():
    texts = {MAIN: "HostKey /k\nClientAliveCountMax 3\nClientAliveCountMax 0\n"}
    keepalive = [r for r in idlelock_scanner.read(CIS, MAIN, texts)
                 if r["rule"] == "sshd_set_keepalive"][0]
    assert keepalive["reading"] == "ClientAliveCountMax 0"
    assert keepalive["source"] == f"{MAIN}:3"


def test_rules_the_profile_does_not_name_are_not_judged():
    assert idlelock_scanner.read({"accounts_tmout": {"tmout_max": 600}}, MAIN, {MAIN: ""})[0][
        "rule"] == "accounts_tmout"
    assert idlelock_scanner.read({}, MAIN, {MAIN: ""}) == []


def test_idle_timeout_fails_with_keepalive():
    # SSG's sshd_set_idle_timeout extends sshd_set_keepalive.
    assert verdicts(CIS, {MAIN: "ClientAliveInterval 300\nClientAliveCountMax 1\n"}) == {
        "sshd_set_idle_timeout": False, "sshd_set_keepalive": False, "accounts_tmout": False}


def test_tmout_in_etc_profile_is_enough_whatever_profile_d_says():
    texts = {MAIN: "", "/etc/profile": "declare -xr TMOUT=300\n",
             "/etc/profile.d/site.sh": "declare -xr TMOUT=900\n"}
    assert verdicts(STIG, texts)["accounts_tmout"] is True


IDLE_EXPECTED = "ClientAliveInterval 1..600 as the first such line of " + MAIN
KEEPALIVE_EXPECTED = f"every ClientAliveCountMax line of {MAIN} = 1"
TMOUT_EXPECTED = ("declare -xr TMOUT=1..600 in /etc/profile, or in every /etc/profile.d/*.sh "
                  "that sets it")


def results(texts, scanner=STIG):
    return {r.pop("rule"): r for r in idlelock_scanner.read(scanner, MAIN, texts)}


def test_a_finding_names_the_directive_line_after_blank_lines():
    # The pattern's ^\s* starts at the first blank line: the finding still points at
    # the directive an auditor has to look at.
    texts = {MAIN: "\n\nClientAliveInterval 300\n\n  ClientAliveCountMax 3\n",
             "/etc/profile.d/idlelock.sh": "# idle shells\n\n   \ndeclare -xr TMOUT=900\n"}
    assert results(texts) == {
        "sshd_set_idle_timeout": {
            "passed": False, "expected": IDLE_EXPECTED, "source": f"{MAIN}:3",
            "reading": "ClientAliveInterval 300 (it extends sshd_set_keepalive, which fails)"},
        "sshd_set_keepalive": {"passed": False, "expected": KEEPALIVE_EXPECTED,
                               "reading": "ClientAliveCountMax 3", "source": f"{MAIN}:5"},
        "accounts_tmout": {"passed": False, "expected": TMOUT_EXPECTED,
                           "reading": "declare -xr TMOUT=900",
                           "source": "/etc/profile.d/idlelock.sh:4"}}


def test_findings_name_every_failing_line_and_only_those():
    texts = {MAIN: "ClientAliveCountMax 0\nClientAliveCountMax 1\nClientAliveCountMax 5\n",
             "/etc/profile": "declare -xr TMOUT=900\n",
             "/etc/profile.d/a.sh": "declare -xr TMOUT=300\n",
             "/etc/profile.d/b.sh": "\ndeclare -xr TMOUT=1200\n"}
    assert results(texts) == {
        "sshd_set_idle_timeout": {"passed": False, "expected": IDLE_EXPECTED,
                                  "reading": f"no such line in {MAIN}", "source": MAIN},
        "sshd_set_keepalive": {"passed": False, "expected": KEEPALIVE_EXPECTED,
                               "reading": "ClientAliveCountMax 0, ClientAliveCountMax 5",
                               "source": f"{MAIN}:1, {MAIN}:3"},
        "accounts_tmout": {"passed": False, "expected": TMOUT_EXPECTED,
                           "reading": "declare -xr TMOUT=900, declare -xr TMOUT=1200",
                           "source": "/etc/profile:1, /etc/profile.d/b.sh:2"}}


def test_passing_rules_show_every_line_read():
    texts = {MAIN: "ClientAliveInterval 600\nClientAliveCountMax 1\nClientAliveCountMax 1\n",
             "/etc/profile": "declare -xr TMOUT=900\n",
             "/etc/profile.d/a.sh": "declare -xr TMOUT=300\n"}
    assert results(texts) == {
        "sshd_set_idle_timeout": {"passed": True, "expected": IDLE_EXPECTED,
                                  "reading": "ClientAliveInterval 600", "source": f"{MAIN}:1"},
        "sshd_set_keepalive": {"passed": True, "expected": KEEPALIVE_EXPECTED,
                               "reading": "ClientAliveCountMax 1, ClientAliveCountMax 1",
                               "source": f"{MAIN}:2, {MAIN}:3"},
        # profile.d passes on its own, whatever /etc/profile says; the failing line is shown.
        "accounts_tmout": {"passed": True, "expected": TMOUT_EXPECTED,
                           "reading": "declare -xr TMOUT=900", "source": "/etc/profile:1"}}


def test_nothing_to_read():
    assert results({MAIN: None}) == {
        "sshd_set_idle_timeout": {"passed": False, "expected": IDLE_EXPECTED,
                                  "reading": f"no such line in {MAIN}", "source": MAIN},
        "sshd_set_keepalive": {"passed": False, "expected": KEEPALIVE_EXPECTED,
                               "reading": f"no such line in {MAIN}", "source": MAIN},
        "accounts_tmout": {"passed": False, "expected": TMOUT_EXPECTED,
                           "reading": "no declare -xr TMOUT line",
                           "source": "/etc/profile, /etc/profile.d/*.sh"}}


def test_a_tmout_word_that_is_no_number_never_passes():
    # OpenSCAP 1.3 with ssg-debderived reports this line as "error" (checked on a copy of
    # the bullseye chroot): not a pass either way; the audit calls it a failing reading.
    assert results({MAIN: "", "/etc/profile": "declare -xr TMOUT=LIMIT\n"})["accounts_tmout"] == {
        "passed": False, "expected": TMOUT_EXPECTED, "reading": "declare -xr TMOUT=LIMIT",
        "source": "/etc/profile:1"}


@pytest.mark.parametrize("limits,shown", [
    ({"tmout_min": 1, "tmout_max": 600}, "1..600"), ({"tmout_min": 600, "tmout_max": 600}, "600"),
    ({"tmout_max": 600}, "0..600"), ({"tmout_min": 1}, "1..∞"),
])
def test_a_site_scanner_bound_reads_as_a_range(limits, shown):
    interval = {k.replace("tmout", "client_alive_interval"): v for k, v in limits.items()}
    read = results({MAIN: ""}, {"accounts_tmout": limits, "sshd_set_idle_timeout": interval})
    assert read["sshd_set_idle_timeout"]["expected"] == (
        f"ClientAliveInterval {shown} as the first such line of {MAIN}")
    assert read["accounts_tmout"]["expected"] == (
        f"declare -xr TMOUT={shown} in /etc/profile, or in every /etc/profile.d/*.sh that sets it")
