"""
Findings word for word, as ``idlelock.audit`` and the fleet report show them:
why nothing closes an idle session, logind's part, probe failures, conflicts.
"""

import pytest

import idlelock_audit as audit
import idlelock_defaults

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


STIG = idlelock_defaults.DEFAULTS["profiles"]["stig"]
CIS = idlelock_defaults.DEFAULTS["profiles"]["cis"]
STIG_INTERVAL = "RHEL-08-010201 / RHEL-09-255100 / UBTU-22-255035"
STIG_COUNT = "RHEL-08-010200 / RHEL-09-255095 / UBTU-22-255030"
STIG_TMOUT = "RHEL-08-020360 / RHEL-09-412035 / UBTU-22-412030"
TAKEOVER = " (shell:takeover: true takes over foreign lines)"


def test_sshd_findings_name_the_line_that_wins_and_every_match_block_in_turn():
    """The global section, then each Match block: an exemption, an unevaluable block and a
    block that sets ClientAliveCountMax only are each reported, none stops the others."""
    facts = {
        "openssh": (9, 2, 1),
        "sshd": {"effective": {"clientaliveinterval": "900", "clientalivecountmax": "0",
                               "channeltimeout": "session:*=600"},
                 "sources": {"ClientAliveInterval": "/etc/ssh/sshd_config:12"}},
        "matches": [
            {"match": "Match Group ops", "source": "/etc/ssh/sshd_config:20", "exemption": True,
             "sets": {}},
            {"match": "Match User bob", "source": "/etc/ssh/sshd_config:30",
             "reason": "no such user",
             "sets": {"ClientAliveCountMax": {"value": "0", "source": "/etc/ssh/sshd_config:31"}}},
            {"match": "Match Address 10.0.0.0/8", "source": "/etc/ssh/sshd_config:40",
             "sets": {"ClientAliveCountMax": {"value": "5", "source": "/etc/ssh/sshd_config:41"}},
             "effective": {"clientaliveinterval": "900", "clientalivecountmax": "5",
                           "channeltimeout": "session:*=600"}},
            # Sets what the global section has already: no idle-logout check of its own.
            {"match": "Match User carol", "source": "/etc/ssh/sshd_config:50",
             "sets": {"ClientAliveInterval": {"value": "900", "source": "/etc/ssh/sshd_config:51"}},
             "effective": {"clientaliveinterval": "900", "clientalivecountmax": "0",
                           "channeltimeout": "session:*=600"}},
        ]}
    result = audit.judge(facts, "stig", STIG, 600)
    assert result["findings"] == [
        {"check": "sshd ClientAliveInterval", "rule": STIG_INTERVAL, "expected": "1..600",
         "actual": "900", "source": "/etc/ssh/sshd_config:12", "severity": "medium",
         "fix": "state.apply idlelock with ClientAliveInterval 1..600; it comments out "
                "/etc/ssh/sshd_config:12, which wins now"},
        {"check": "sshd ClientAliveCountMax", "rule": STIG_COUNT, "expected": "= 1",
         "actual": "0", "source": "default", "severity": "medium",
         "fix": "state.apply idlelock with ClientAliveCountMax = 1"},
        {"check": "sshd (Match User bob)", "rule": "idlelock:timeout",
         "expected": "a connection this block applies to",
         "actual": "could not evaluate: no such user", "source": "/etc/ssh/sshd_config:30",
         "severity": "unknown",
         "fix": "check Match User bob at /etc/ssh/sshd_config:30 by hand "
                "(sshd -T -C user=...,host=...,addr=...)"},
        {"check": "sshd ClientAliveCountMax (Match Address 10.0.0.0/8)", "rule": STIG_COUNT,
         "expected": "= 1", "actual": "5",
         "source": "/etc/ssh/sshd_config:41 (Match Address 10.0.0.0/8 at /etc/ssh/sshd_config:40)",
         "severity": "medium",
         "fix": "edit Match Address 10.0.0.0/8 at /etc/ssh/sshd_config:40: remove "
                "ClientAliveCountMax at /etc/ssh/sshd_config:41 or set it = 1 (idlelock never "
                "edits Match blocks)"},
        {"check": "sshd ClientAliveInterval (Match User carol)", "rule": STIG_INTERVAL,
         "expected": "1..600", "actual": "900",
         "source": "/etc/ssh/sshd_config:51 (Match User carol at /etc/ssh/sshd_config:50)",
         "severity": "medium",
         "fix": "edit Match User carol at /etc/ssh/sshd_config:50: remove ClientAliveInterval "
                "at /etc/ssh/sshd_config:51 or set it 1..600 (idlelock never edits Match blocks)"}]
    assert result["passed"] == ["idle logout (Match Group ops): exempt (exempt_groups)",
                                "idle logout", "idle logout (Match Address 10.0.0.0/8)"]
    assert result["compliant"] is False
    assert result["mechanisms"] == {"ChannelTimeout": 600, "ClientAliveInterval": 900,
                                    "ClientAliveCountMax": 0, "TMOUT": None,
                                    "StopIdleSessionSec": None}
    # What the report shows as the profile's thresholds: everything but the rule IDs.
    assert result["thresholds"] == {k: v for k, v in STIG.items() if k != "rules"}
    assert "timeout_max" in result["thresholds"] and "rules" not in result["thresholds"]


def test_every_passed_check_is_named():
    facts = {"openssh": (9, 2, 1),
             "sshd": {"effective": {"clientaliveinterval": "300", "clientalivecountmax": "1",
                                    "channeltimeout": "session:*=600"}, "sources": {}},
             "shell": {"shell": "bash", "value": "600", "readonly": True, "exported": True,
                       "sources": {}, "conflicts": []},
             "logind": {"supported": True, "stop_idle_session_sec": "600", "source": "/etc/l:3"}}
    result = audit.judge(facts, "stig", dict(STIG, stop_idle_session_sec_max=600), 600)
    assert result["findings"] == []
    assert result["passed"] == [
        "sshd ClientAliveInterval", "sshd ClientAliveCountMax", "shell TMOUT",
        "shell TMOUT readonly", "shell TMOUT exported", "shell TMOUT conflicts",
        "logind StopIdleSessionSec", "idle logout"]
    assert result["mechanisms"]["StopIdleSessionSec"] == 600


def test_the_first_login_that_fails_each_shell_check_is_named():
    """Root's login is right; a regular user's TMOUT is neither readonly nor exported, and the
    non-login bash has none: each check names the first login that fails it."""
    shell = {"shell": "bash", "value": "600", "readonly": True, "exported": True, "sources": {},
             "conflicts": [],
             "others": [{"who": "bash as a regular user", "value": "600", "readonly": False,
                         "exported": False},
                        {"who": "non-login bash", "value": None, "readonly": False,
                         "exported": False}]}
    result = audit.judge({"openssh": (9, 2), "shell": shell}, "stig", STIG, 600)
    assert result["findings"] == [
        {"check": "shell TMOUT", "rule": STIG_TMOUT, "expected": "1..600", "actual": None,
         "source": "non-login bash", "severity": "medium",
         "fix": "state.apply idlelock with shell:tmout 1..600" + TAKEOVER},
        {"check": "shell TMOUT readonly", "rule": STIG_TMOUT, "expected": True, "actual": False,
         "source": "bash as a regular user", "severity": "medium",
         "fix": "state.apply idlelock with shell:readonly: true" + TAKEOVER},
        {"check": "shell TMOUT exported", "rule": STIG_TMOUT, "expected": True, "actual": False,
         "source": "bash as a regular user", "severity": "medium",
         "fix": "state.apply idlelock: its profile file exports TMOUT" + TAKEOVER}]
    assert result["passed"] == ["shell TMOUT conflicts", "idle logout"]


def test_a_tmout_of_unknown_origin_fails_every_shell_check_in_the_login_shell():
    shell = {"shell": "bash", "value": "900", "readonly": False, "exported": False,
             "sources": {}, "conflicts": []}
    thresholds = {"tmout_min": 1, "tmout_max": 600, "readonly": True, "exported": True}
    findings = judge({"openssh": (9, 2), "shell": shell}, thresholds)["findings"]
    assert findings == [
        {"check": "shell TMOUT", "rule": "idlelock:shell:tmout", "expected": "1..600",
         "actual": "900", "source": "bash login shell", "severity": "medium",
         "fix": "state.apply idlelock with shell:tmout 1..600" + TAKEOVER},
        {"check": "shell TMOUT readonly", "rule": "idlelock:shell:readonly", "expected": True,
         "actual": False, "source": "bash login shell", "severity": "medium",
         "fix": "state.apply idlelock with shell:readonly: true" + TAKEOVER},
        {"check": "shell TMOUT exported", "rule": "idlelock:shell:tmout", "expected": True,
         "actual": False, "source": "bash login shell", "severity": "medium",
         "fix": "state.apply idlelock: its profile file exports TMOUT" + TAKEOVER},
        dict(IDLE, actual="nothing closes it: TMOUT 900 is more than 600", fix=FIX_92)]


SCANNER_FIX = ("state.apply idlelock with sshd:layout: main and shell:form: declare (the "
               "defaults of the cis and stig profiles): the scanner reads text, not what sshd "
               "and bash do")
VIEW = {"main": "/etc/ssh/sshd_config",
        "texts": {"/etc/ssh/sshd_config": "ClientAliveInterval 300\nClientAliveCountMax 0\n",
                  "/etc/profile": "declare -xr TMOUT=600\n"}}


def scanner_view_findings(sshd):
    facts = {"openssh": (9, 2), "scanner_view": VIEW}
    if sshd:
        facts["sshd"] = {"effective": {"clientaliveinterval": "300", "clientalivecountmax": "3"},
                         "sources": {}}
    result = audit.judge(facts, "cis", {"scanner": CIS["scanner"]}, 600)
    assert result["scanner"] == {"sshd_set_idle_timeout": "fail", "sshd_set_keepalive": "fail",
                                 "accounts_tmout": "pass"}
    assert result["passed"] == ["scanner view: accounts_tmout"]
    return [f for f in result["findings"] if f["check"].startswith("scanner view")]


def test_the_scanner_view_shows_what_the_scanner_reads_next_to_what_is_in_force():
    assert scanner_view_findings(sshd=True) == [
        {"check": "scanner view: sshd_set_idle_timeout", "rule": "SSG sshd_set_idle_timeout",
         "expected": "ClientAliveInterval 1..300 as the first such line of /etc/ssh/sshd_config",
         "actual": "the scanner reads ClientAliveInterval 300 (it extends sshd_set_keepalive, "
                   "which fails); in force (sshd -T): clientaliveinterval 300",
         "source": "/etc/ssh/sshd_config:1", "severity": "low", "fix": SCANNER_FIX},
        {"check": "scanner view: sshd_set_keepalive", "rule": "SSG sshd_set_keepalive",
         "expected": "every ClientAliveCountMax line of /etc/ssh/sshd_config = 3",
         "actual": "the scanner reads ClientAliveCountMax 0; in force (sshd -T): "
                   "clientalivecountmax 3",
         "source": "/etc/ssh/sshd_config:2", "severity": "low", "fix": SCANNER_FIX}]


def test_the_scanner_view_without_sshd_audited_shows_the_reading_only():
    # sshd:enabled: false: no sshd -T, but the scanner still reads sshd_config.
    assert [f["actual"] for f in scanner_view_findings(sshd=False)] == [
        "the scanner reads ClientAliveInterval 300 (it extends sshd_set_keepalive, which fails)",
        "the scanner reads ClientAliveCountMax 0"]


RELOAD_FIX = ("reload sshd (systemctl reload ssh on Debian and Ubuntu, sshd elsewhere), or "
              "state.apply idlelock with sshd:manage_service: true")
RELOAD = {"pending": True, "summary": "the running sshd (PID 812) started before ...",
          "pidfile": "/run/sshd.pid",
          "changed": [{"path": "/etc/ssh/sshd_config"}, {"path": "/etc/ssh/sshd_config.d/a.conf"}]}


def test_a_pending_reload_is_one_high_finding_naming_every_changed_file():
    assert judge({"reload": RELOAD})["findings"] == [
        {"check": "sshd reload", "rule": "idlelock:sshd:manage_service",
         "expected": "the running sshd has loaded the current files", "actual": RELOAD["summary"],
         "source": "/etc/ssh/sshd_config, /etc/ssh/sshd_config.d/a.conf", "severity": "high",
         "fix": RELOAD_FIX}]


def test_a_site_rule_is_cited_for_a_pending_reload_a_conflict_and_an_idle_session():
    rules = {"rules": {"reload": ["ACME-1", {"id": "ACME-2", "timeout_max": 900}],
                       "tmout_conflict": ["ACME-3"], "idle_logout": ["ACME-4"]}}
    shell = {"shell": "bash", "value": None, "readonly": False, "exported": False,
             "sources": {}, "conflicts": [{"source": "/etc/p:1", "problem": "p1"}]}
    result = judge({"openssh": (9, 2), "reload": RELOAD, "shell": shell}, dict(LIMIT, **rules))
    assert [(f["check"], f["rule"]) for f in result["findings"]] == [
        ("sshd reload", "ACME-1 / ACME-2"), ("shell TMOUT conflicts", "ACME-3"),
        ("idle logout", "ACME-4")]


@pytest.mark.parametrize("pidfile,source", [(None, "PidFile"), ("/run/x.pid", "/run/x.pid")])
def test_a_reload_that_cannot_be_told_only_informs(pidfile, source):
    reload = dict(RELOAD, pending=None, pidfile=pidfile, summary="cannot tell")
    result = judge({"reload": reload})
    assert result["findings"] == [
        {"check": "sshd reload", "rule": "idlelock:sshd:manage_service",
         "expected": "the running sshd has loaded the current files", "actual": "cannot tell",
         "source": source, "severity": "low",
         "fix": "set PidFile to a path, so that idlelock can tell when sshd loaded its files"}]
    assert result["compliant"] is True and result["passed"] == []


def test_a_loaded_listener_passes_the_reload_check():
    assert judge({"reload": dict(RELOAD, pending=False)})["passed"] == ["sshd reload"]


def sshd_facts(version, interval, count, channel=None, **more):
    effective = {"clientaliveinterval": interval, "clientalivecountmax": count}
    if channel:
        effective["channeltimeout"] = channel
    return dict({"openssh": version, "sshd": {"effective": effective, "sources": {}}}, **more)


NO_CLIENT_ALIVE = "ClientAlive only drops dead peers: a live idle client answers every probe"
FIX_79 = ("state.apply idlelock with shell:tmout <= 600: OpenSSH 7.9 has no ChannelTimeout, "
          "so the shell must log out")


@pytest.mark.parametrize("interval,closed", [("0", False), ("1", True), ("600", True),
                                             ("601", False)])
def test_countmax_zero_before_8_2_closes_within_the_interval_only(interval, closed):
    """Before OpenSSH 8.2, ClientAliveCountMax 0 drops the connection at the first probe:
    that closes an idle session after ClientAliveInterval, if there is one within the limit."""
    result = judge(sshd_facts((7, 9), interval, "0"))
    if closed:
        assert result["findings"] == [] and result["passed"] == ["idle logout"]
    else:
        assert result["findings"] == [dict(IDLE, fix=FIX_79, actual=(
            "nothing closes it: OpenSSH 7.9 has no ChannelTimeout (needs >= 9.2); "
            + NO_CLIENT_ALIVE))]


@pytest.mark.parametrize("facts,thresholds,actual", [
    (sshd_facts((9, 2), "300", "1", "session:*=900"), LIMIT,
     "ChannelTimeout closes idle sessions after 900 s, more than 600; " + NO_CLIENT_ALIVE),
    (sshd_facts((9, 2), "300", "1", logind={"supported": False}), LIMIT,
     "no ChannelTimeout session:* is set; " + NO_CLIENT_ALIVE + "; logind: not supported here"),
    (sshd_facts((9, 2), "300", "1", logind={"supported": True, "stop_idle_session_sec": None}),
     LIMIT, "no ChannelTimeout session:* is set; " + NO_CLIENT_ALIVE
     + "; logind StopIdleSessionSec is unset"),
])
def test_why_nothing_closes_the_session(facts, thresholds, actual):
    assert judge(facts, thresholds)["findings"] == [
        dict(IDLE, fix=FIX_92, actual="nothing closes it: " + actual)]


def test_logind_at_the_limit_closes_idle_sessions():
    facts = sshd_facts((9, 2), "300", "1",
                       logind={"supported": True, "stop_idle_session_sec": "10min"})
    assert judge(facts)["findings"] == [] and judge(facts)["passed"] == ["idle logout"]


def test_an_unknown_openssh_version_is_said_so():
    assert judge(sshd_facts(None, "300", "1"))["findings"] == [dict(
        IDLE, actual="nothing closes it: OpenSSH unknown has no ChannelTimeout (needs >= 9.2); "
        + NO_CLIENT_ALIVE,
        fix="state.apply idlelock with shell:tmout <= 600: OpenSSH unknown has no "
            "ChannelTimeout, so the shell must log out")]


def test_the_profile_limit_wins_over_the_policy_timeout():
    facts = sshd_facts((9, 2), "300", "1", "session:*=600")
    assert audit.judge(facts, "stig", {"timeout_max": 300}, 600)["findings"] == [dict(
        IDLE, expected="an idle interactive session is closed within 300 s",
        actual="nothing closes it: ChannelTimeout closes idle sessions after 600 s, more than "
               "300; " + NO_CLIENT_ALIVE,
        fix="state.apply idlelock with timeout <= 300 (sshd:channel_timeout: auto writes "
            "ChannelTimeout session:*=300; shell TMOUT covers login shells)")]
    # No timeout_max in the profile: the policy's timeout is the limit.
    assert audit.judge(sshd_facts((9, 2), "300", "1"), "acme", {}, 450)["findings"][0][
        "expected"] == "an idle interactive session is closed within 450 s"


@pytest.mark.parametrize("version,findings,passed", [
    # Before 10.5 sshd parses ChannelTimeout in Match but never applies it: the global
    # ChannelTimeout still closes the block's idle sessions, and the line is pointed out.
    ((9, 2), [{"check": "sshd ChannelTimeout (Match Group ops)", "rule": "idlelock:timeout",
               "expected": "ChannelTimeout in the global section",
               "actual": "ChannelTimeout session:*=60 ignored: OpenSSH 9.2 ignores "
                         "ChannelTimeout in Match (fixed in 10.5)",
               "source": "/etc/ssh/sshd_config:21", "severity": "low",
               "fix": "set ChannelTimeout globally; remove it from Match Group ops at "
                      "/etc/ssh/sshd_config:20"}],
     ["idle logout"]),
    ((10, 5), [], ["idle logout", "idle logout (Match Group ops)"]),
])
def test_channel_timeout_in_match_counts_from_10_5(version, findings, passed):
    facts = sshd_facts(version, "300", "1", "session:*=600", matches=[
        {"match": "Match Group ops", "source": "/etc/ssh/sshd_config:20",
         "sets": {"ChannelTimeout": {"value": "session:*=60", "source": "/etc/ssh/sshd_config:21"}},
         "effective": {"clientaliveinterval": "300", "clientalivecountmax": "1",
                       "channeltimeout": "session:*=60"}}])
    result = judge(facts)
    assert result["findings"] == findings and result["passed"] == passed


def test_a_lower_bound_alone_reads_at_least():
    facts = sshd_facts((9, 2), "300", "0", "session:*=600")
    assert judge(facts, dict(LIMIT, client_alive_count_max_min=1))["findings"] == [
        {"check": "sshd ClientAliveCountMax", "rule": "idlelock:sshd:client_alive_count_max",
         "expected": ">= 1", "actual": "0", "source": "default", "severity": "medium",
         "fix": "state.apply idlelock with ClientAliveCountMax >= 1"}]


@pytest.mark.parametrize("rules,cited", [
    # A rule whose own limit is looser passes; when every rule does, the profile's
    # stricter limit still fails and every rule is named.
    ([{"id": "ACME-1", "tmout_max": 900}, {"id": "ACME-2", "tmout_max": 1200}],
     "ACME-1 / ACME-2"),
    (["ACME-0", {"id": "ACME-1", "tmout_max": 900}], "ACME-0"),
])
def test_the_rules_a_tmout_finding_cites(rules, cited):
    shell = {"shell": "bash", "value": "800", "readonly": True, "exported": True,
             "sources": {}, "conflicts": []}
    thresholds = {"tmout_min": 1, "tmout_max": 600, "rules": {"tmout": rules}}
    assert judge({"openssh": (9, 2), "shell": shell}, thresholds)["findings"][0]["rule"] == cited


def test_a_rule_that_does_not_require_readonly_is_not_cited_for_it():
    shell = {"shell": "bash", "value": "600", "readonly": False, "exported": True,
             "sources": {}, "conflicts": []}
    thresholds = {"readonly": True, "tmout_max": 600,
                  "rules": {"tmout_readonly": ["ACME-1", {"id": "ACME-2", "readonly": False}]}}
    assert [(f["check"], f["rule"]) for f in judge({"openssh": (9, 2), "shell": shell},
                                                    thresholds)["findings"]] == [
        ("shell TMOUT readonly", "ACME-1")]


def test_logind_without_a_source_is_the_default_and_without_facts_is_not_judged():
    facts = sshd_facts((9, 2), "300", "1", "session:*=600",
                       logind={"supported": True, "stop_idle_session_sec": "1h"})
    thresholds = dict(LIMIT, stop_idle_session_sec_max=600)
    assert [(f["check"], f["source"]) for f in judge(facts, thresholds)["findings"]] == [
        ("logind StopIdleSessionSec", "default")]
    assert judge(dict(facts, logind=None), thresholds)["findings"] == []
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


def test_a_site_rule_is_cited_when_the_reload_cannot_be_told():
    reload = dict(RELOAD, pending=None, summary="cannot tell")
    assert [f["rule"] for f in judge({"reload": reload}, {"rules": {"reload": ["ACME-9"]}})[
        "findings"]] == ["ACME-9"]
