"""
Findings word for word, as ``idlelock.audit`` and the fleet report show them:
why nothing closes an idle session, logind's part, probe failures, conflicts.
"""

import pytest

import idlelock_audit as audit

LIMIT = {"timeout_max": 600}
NO_CHANNEL = {"clientaliveinterval": "300", "clientalivecountmax": "1"}
IDLE = {"check": "idle logout", "rule": "idlelock:timeout",
        "expected": "an idle interactive session is closed within 600 s",
        "source": "global configuration", "severity": "high"}
FIX_92 = ("state.apply idlelock with timeout <= 600 (sshd:channel_timeout: auto writes "
          "ChannelTimeout session:*=600; shell TMOUT covers login shells)")


def judge(facts, thresholds=LIMIT):
    return audit.judge(facts, "policy", thresholds, 600)


def test_unsupported_logind_is_named_in_why_nothing_closes_the_session():
    facts = {"openssh": (9, 2, 1), "sshd": {"effective": NO_CHANNEL, "sources": {}},
             "logind": {"supported": False, "reason": "systemd is not the init system here",
                        "stop_idle_session_sec": None}}
    assert judge(facts)["findings"] == [dict(IDLE, fix=FIX_92, actual=(
        "nothing closes it: no ChannelTimeout session:* is set; ClientAlive only drops dead "
        "peers: a live idle client answers every probe; logind: systemd is not the init "
        "system here"))]


def test_logind_in_hours_is_over_the_limit():
    facts = {"openssh": (9, 2, 1), "sshd": {"effective": NO_CHANNEL, "sources": {}},
             "logind": {"supported": True, "stop_idle_session_sec": "1h", "source": "/etc/x:2"}}
    findings = judge(facts, dict(LIMIT, stop_idle_session_sec_max=600))["findings"]
    assert findings == [
        {"check": "logind StopIdleSessionSec", "rule": "idlelock:logind:stop_idle_session_sec",
         "expected": "<= 600", "actual": 3600, "source": "/etc/x:2", "severity": "medium",
         "fix": "state.apply idlelock with logind:enabled: true and "
                "logind:stop_idle_session_sec <= 600"},
        dict(IDLE, fix=FIX_92, actual=(
            "nothing closes it: no ChannelTimeout session:* is set; ClientAlive only drops "
            "dead peers: a live idle client answers every probe; logind StopIdleSessionSec is "
            "3600 s, more than 600"))]


def test_supported_logind_within_the_limit_closes_idle_sessions():
    facts = {"openssh": (9, 2, 1), "sshd": {"effective": NO_CHANNEL, "sources": {}},
             "logind": {"supported": True, "stop_idle_session_sec": "5min", "source": "/etc/x"}}
    result = judge(facts)
    assert result["findings"] == [] and result["passed"] == ["idle logout"]


def test_probes_that_failed_are_unknown_not_compliant():
    result = judge({"openssh": None, "sshd_error": "boom", "shell_error": "no shells"})
    assert result["compliant"] is False
    assert result["findings"] == [
        {"check": "sshd", "rule": "idlelock:sshd", "expected": "sshd -T succeeds",
         "actual": "boom", "source": "sshd", "severity": "unknown",
         "fix": "fix sshd (or set sshd:enabled: false where there is none) and audit again"},
        {"check": "shell TMOUT", "rule": "idlelock:shell", "expected": "login shells can be probed",
         "actual": "no shells", "source": "login shells", "severity": "unknown",
         "fix": "make the login shells runnable as root and audit again"}]


def test_conflicts_are_one_finding_naming_every_line():
    shell = {"shell": "bash", "value": "600", "readonly": True, "exported": True, "sources": {},
             "conflicts": [{"source": "/etc/p:1", "problem": "p1"},
                           {"source": "/etc/q:2", "problem": "p2"}]}
    assert judge({"openssh": (9, 2, 1), "shell": shell})["findings"] == [
        {"check": "shell TMOUT conflicts", "rule": "idlelock:shell:takeover",
         "expected": "one readonly TMOUT", "actual": "p1; p2", "source": "/etc/p:1, /etc/q:2",
         "severity": "medium", "fix": "keep one readonly TMOUT: remove the others, or set "
                                      "shell:takeover: true and state.apply idlelock"}]


def test_old_openssh_is_named_by_major_and_minor():
    facts = {"openssh": (8, 4, 1),
             "sshd": {"effective": {"clientaliveinterval": "300", "clientalivecountmax": "0"},
                      "sources": {}}}
    assert judge(facts)["findings"] == [dict(IDLE, actual=(
        "nothing closes it: OpenSSH 8.4 has no ChannelTimeout (needs >= 9.2); "
        "ClientAliveCountMax 0 disables ClientAlive disconnection on OpenSSH 8.4 (since 8.2)"),
        fix="state.apply idlelock with shell:tmout <= 600: OpenSSH 8.4 has no ChannelTimeout, "
            "so the shell must log out")]


def test_a_foreign_tmout_is_named_in_the_fix():
    shell = {"shell": "bash", "value": "900", "readonly": True, "exported": True,
             "sources": {"value": "/etc/profile:1"}, "conflicts": []}
    findings = judge({"openssh": (9, 2, 1), "shell": shell},
                     dict(LIMIT, tmout_min=1, tmout_max=600))["findings"]
    assert findings[0] == {
        "check": "shell TMOUT", "rule": "idlelock:shell:tmout", "expected": "1..600",
        "actual": "900", "source": "/etc/profile:1", "severity": "medium",
        "fix": "state.apply idlelock with shell:tmout 1..600; /etc/profile:1 sets it now "
               "(shell:takeover: true takes over foreign lines)"}


# Values Python's int() (or str.isdigit()) reads as 600 and their consumer does not:
# systemd's parse_sec reads ASCII digits and strips " \t\n\r" only, bash reads TMOUT
# with atoi() (ASCII digits after C blanks). None of these closes an idle session.
LOGIND_REFUSED = ["\uff16\uff10\uff10", "\u0666\u0660\u0660", "6_00", "600\u00a0", "\u3000600",
                  "10MIN"]
TMOUT_IGNORED = ["\uff16\uff10\uff10", "\u0666\u0660\u0660", "\u00a0600", "\u00b2", "x600"]


@pytest.mark.parametrize("value", LOGIND_REFUSED + ["600", "10min", " 600\t"])
def test_logind_value_reads_as_systemd_parses_it(value):
    logind = {"supported": True, "stop_idle_session_sec": value, "source": "/etc/x:2"}
    result = judge({"openssh": (9, 2, 1), "sshd": {"effective": NO_CHANNEL, "sources": {}},
                    "logind": logind}, dict(LIMIT, stop_idle_session_sec_max=600))
    refused = value in LOGIND_REFUSED
    assert result["compliant"] is not refused, result["findings"]
    assert ("logind StopIdleSessionSec" in result["passed"]) is not refused
    assert audit.mechanisms(None, None, logind)["StopIdleSessionSec"] == (None if refused else 600)


@pytest.mark.parametrize("value", TMOUT_IGNORED + ["600", "600x", "+600", " 600"])
def test_tmout_reads_as_bash_reads_it(value):
    shell = {"shell": "bash", "value": value, "readonly": True, "exported": True, "sources": {},
             "conflicts": []}
    result = judge({"openssh": None, "shell": shell}, dict(LIMIT, tmout_max=600))
    ignored = value in TMOUT_IGNORED
    assert ("shell TMOUT" in result["passed"]) is not ignored, result["findings"]
    assert audit.mechanisms(None, shell, None)["TMOUT"] == (None if ignored else 600)


def test_sshd_values_are_ascii_digits():
    # sshd -T prints ASCII digits; anything else is no number to compare (int() takes "３００").
    effective = {"clientaliveinterval": "\uff13\uff10\uff10", "clientalivecountmax": "\u0661",
                 "channeltimeout": "session:*=\uff16\uff10\uff10"}
    values = audit.mechanisms({"effective": effective}, None, None)
    assert (values["ClientAliveInterval"], values["ClientAliveCountMax"],
            values["ChannelTimeout"]) == (None, None, None)
