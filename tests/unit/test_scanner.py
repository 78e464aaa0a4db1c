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
