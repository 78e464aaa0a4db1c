"""
What a user reads in the fleet report, byte for byte: the terminal table, CSV,
JUnit XML, JSON and the HTML page's parts, on one small hand-made fleet that
reaches every branch (a high finding on two hosts with different values, a
finding idlelock does not edit, a low note, a host whose audit failed, a silent
host, a salt-ssh host, per-environment thresholds, an earlier run).

tests/unit/test_report.py checks the shape at 500 hosts; these pin the bytes,
so that a changed word, order, separator or count fails here first.
"""

import json

import pytest

import idlelock_report

GENERATED = "2026-11-30 10:00 UTC"
TIMEOUT_FIX = "state.apply idlelock with timeout <= 600"
MATCH_FIX = "edit the Match block at /etc/ssh/sshd_config:40"


def finding(rule, check, severity, expected, actual, source, fix):
    return {"rule": rule, "check": check, "severity": severity, "expected": expected,
            "actual": actual, "source": source, "fix": fix}


RETURNS = {
    "web-1": {"compliant": False, "environment": "prod", "timeout": 900,
              "openssh": "OpenSSH_9.2p1", "passed": ["TMOUT"],
              "mechanisms": {"ChannelTimeout": 900, "ClientAliveInterval": 300,
                             "ClientAliveCountMax": 3, "TMOUT": 600, "StopIdleSessionSec": None},
              "thresholds": {"timeout_max": 600, "client_alive_interval_min": 1,
                             "client_alive_interval_max": 600, "tmout_max": 600,
                             "readonly": True},
              "findings": [
                  finding("low-note", "sshd Banner", "low", None, "none",
                          "/etc/ssh/sshd_config:1", "informational"),
                  finding("idlelock:timeout", "idle logout", "high", "<= 600", 900,
                          "/etc/ssh/sshd_config:7", TIMEOUT_FIX)]},
    "web-2": {"compliant": False, "environment": "prod", "timeout": 1200,
              "openssh": "OpenSSH_8.4p1", "passed": [], "mechanisms": {"ChannelTimeout": 1200},
              "thresholds": {"timeout_max": 300},
              "findings": [finding("idlelock:timeout", "idle logout", "high", "<= 600", 1200,
                                   "/etc/ssh/sshd_config.d/50-x.conf:2", TIMEOUT_FIX)]},
    "db-1": {"compliant": False, "environment": "dev", "timeout": 600,
             "openssh": "OpenSSH_9.2p1", "passed": ["idle logout"], "mechanisms": {},
             "thresholds": {"tmout_min": 60, "tmout_max": 60},
             "findings": [finding("match", "Match User backup", "medium",
                                  "ClientAliveInterval set", None, "/etc/ssh/sshd_config:40",
                                  MATCH_FIX)]},
    "ok-1": {"compliant": True, "environment": "dev", "timeout": 600, "openssh": "OpenSSH_9.2p1",
             "passed": ["idle logout"], "mechanisms": {"ClientAliveInterval": 600},
             "thresholds": {"tmout_min": 60, "tmout_max": 60}, "findings": []},
    "broken-1": "'idlelock.audit' is not available.",
}
EARLIER = {"generated": "2026-11-29 10:00 UTC", "profile": "cis", "target": "G@role:web",
           "counts": {"compliant": 3, "non-compliant": 3}}


# Per test, not per module: so that mutmut sees every test call summarize
# (docs/mutation.md).
@pytest.fixture
def report():
    return idlelock_report.summarize(
        "cis", RETURNS, list(RETURNS) + ["gone-1"], {"gone-1": "prod"}, generated=GENERATED,
        target="G@role:web", transports={"db-1": "salt-ssh", "broken-1": "salt-ssh"},
        last_seen={"gone-1": "2026-11-29 09:00 UTC"},
        history=[EARLIER, dict(EARLIER, target="*"), dict(EARLIER, profile="stig")])


TABLE = """\
idlelock audit, profile cis: 6 hosts, 1 compliant, 4 non-compliant, 1 no answer
NOT COMPLIANT: 4 of 6 hosts fail, 1 did not answer
generated 2026-11-30 10:00 UTC, profile cis, target G@role:web

FINDINGS BY RULE (most severe first):
  high         2 host(s)  idlelock:timeout  idle logout
           expected <= 600; actual 900 (1 hosts; 1 other value(s))
           # first, in their pillar: {"idlelock": {"profile": "cis", "timeout": 300}}
           salt -L web-1,web-2 state.apply idlelock
  unknown      1 host(s)  idlelock.audit  audit
           expected an audit; actual 'idlelock.audit' is not available.
           salt-ssh -L broken-1 idlelock.audit
  medium       1 host(s)  match  Match User backup
           expected ClientAliveInterval set; actual unset
           salt-ssh -L db-1 idlelock.get
           # then: edit the Match block at /etc/ssh/sshd_config:40
  low          1 host(s)  low-note  sshd Banner
           expected unset; actual none
           salt -L web-1 idlelock.get
           # then: informational

ENVIRONMENT  HOSTS  COMPLIANT  NON-COMPLIANT  NO ANSWER  THRESHOLDS
dev          2      1          1              0          TMOUT = 60
prod         3      0          2              1          idle logout <= 600 s, ClientAliveInterval 1..600, TMOUT <= 600, TMOUT readonly | idle logout <= 300 s
unknown      1      0          1              0          -

NON-COMPLIANT:
  dev (1):
    db-1
  prod (2):
    web-1, web-2
  unknown (1):
    broken-1

NO ANSWER:
  prod (1):
    gone-1 (last seen 2026-11-29 09:00 UTC)

TREND (compliant %): 50 -> 16.7

FINDINGS PER HOST:
  SEVERITY  HOST      CHECK              RULE              EXPECTED                 ACTUAL                              SOURCE
  high      web-1     idle logout        idlelock:timeout  <= 600                   900                                 /etc/ssh/sshd_config:7
  high      web-2     idle logout        idlelock:timeout  <= 600                   1200                                /etc/ssh/sshd_config.d/50-x.conf:2
  unknown   broken-1  audit              idlelock.audit    an audit                 'idlelock.audit' is not available.  broken-1
  medium    db-1      Match User backup  match             ClientAliveInterval set  unset                               /etc/ssh/sshd_config:40
  low       web-1     sshd Banner        low-note          unset                    none                                /etc/ssh/sshd_config:1
"""


def test_table_reads_verdict_rules_remediation_environments_hosts_trend(report):
    assert idlelock_report.render_table(report) == TABLE


def test_table_of_a_compliant_fleet_is_verdict_and_environments_only():
    data = idlelock_report.summarize("policy", {"ok-1": RETURNS["ok-1"]}, ["ok-1"])
    assert idlelock_report.render_table(data) == (
        "idlelock audit, profile policy: 1 hosts, 1 compliant, 0 non-compliant, 0 no answer\n"
        "COMPLIANT: all 1 hosts\n"
        "generated now, profile policy, target *\n"
        "\n"
        "ENVIRONMENT  HOSTS  COMPLIANT  NON-COMPLIANT  NO ANSWER  THRESHOLDS\n"
        "dev          1      1          0              0          TMOUT = 60\n")


def test_table_wraps_long_host_lists_at_100_columns_without_breaking_names():
    names = [f"host-{i:03d}" for i in range(20)]
    data = idlelock_report.summarize("policy", {}, names)
    text = idlelock_report.render_table(data)
    assert "NOT COMPLIANT: 20 did not answer\n" in text
    block = text.split("  unknown (20):\n")[1].splitlines()
    assert block[0] == ("    host-000 (last seen never), host-001 (last seen never), "
                        "host-002 (last seen never), host-003")
    assert all(len(line) <= 100 and line.startswith("    ") for line in block)
    assert [n for n in names if n not in " ".join(block).split()] == []  # no name split
    assert "TREND" not in text  # one run is no trend


CSV = """\
host,environment,status,transport,severity,rule,check,expected,actual,source,fix,remediation,openssh,timeout,last_seen
broken-1,unknown,non-compliant,salt-ssh,unknown,idlelock.audit,audit,an audit,'idlelock.audit' is not available.,broken-1,"sync idlelock to the host (saltutil.sync_all; salt-ssh ships it), then run idlelock.audit there",salt-ssh -L broken-1 idlelock.audit,,,2026-11-30 10:00 UTC
db-1,dev,non-compliant,salt-ssh,medium,match,Match User backup,ClientAliveInterval set,unset,/etc/ssh/sshd_config:40,edit the Match block at /etc/ssh/sshd_config:40,salt-ssh -L db-1 idlelock.get ; # then: edit the Match block at /etc/ssh/sshd_config:40,OpenSSH_9.2p1,600,2026-11-30 10:00 UTC
gone-1,prod,no answer,minion,,,,,,,,,,,2026-11-29 09:00 UTC
ok-1,dev,compliant,minion,,,,,,,,,OpenSSH_9.2p1,600,2026-11-30 10:00 UTC
web-1,prod,non-compliant,minion,high,idlelock:timeout,idle logout,<= 600,900,/etc/ssh/sshd_config:7,state.apply idlelock with timeout <= 600,"# first, in their pillar: {""idlelock"": {""profile"": ""cis"", ""timeout"": 300}} ; salt -L web-1 state.apply idlelock",OpenSSH_9.2p1,900,2026-11-30 10:00 UTC
web-1,prod,non-compliant,minion,low,low-note,sshd Banner,unset,none,/etc/ssh/sshd_config:1,informational,salt -L web-1 idlelock.get ; # then: informational,OpenSSH_9.2p1,900,2026-11-30 10:00 UTC
web-2,prod,non-compliant,minion,high,idlelock:timeout,idle logout,<= 600,1200,/etc/ssh/sshd_config.d/50-x.conf:2,state.apply idlelock with timeout <= 600,"# first, in their pillar: {""idlelock"": {""profile"": ""cis"", ""timeout"": 300}} ; salt -L web-2 state.apply idlelock",OpenSSH_8.4p1,1200,2026-11-30 10:00 UTC
"""


def test_csv_rows_carry_each_host_its_own_remediation(report):
    assert idlelock_report.render_csv(report) == CSV


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
    ("a=1", "a=1"), ("", ""), (None, ""), (0, "0"),
])
def test_csv_cell_defuses_formulas_only(value, cell):
    assert idlelock_report._csv_cell(value) == cell


JUNIT = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="idlelock audit (cis)" tests="9" failures="3" errors="2">
  <testsuite name="dev" tests="3" failures="1" errors="0">
    <testcase classname="db-1" name="idle logout" />
    <testcase classname="db-1" name="Match User backup">
      <failure message="[match] expected ClientAliveInterval set, got unset" type="medium">rule: match
expected: ClientAliveInterval set
actual: unset
source: /etc/ssh/sshd_config:40
fix: edit the Match block at /etc/ssh/sshd_config:40</failure>
    </testcase>
    <testcase classname="ok-1" name="idle logout" />
  </testsuite>
  <testsuite name="prod" tests="5" failures="2" errors="1">
    <testcase classname="gone-1" name="audit">
      <error message="the host did not answer" type="no answer" />
    </testcase>
    <testcase classname="web-1" name="TMOUT" />
    <testcase classname="web-1" name="idle logout">
      <failure message="[idlelock:timeout] expected &lt;= 600, got 900" type="high">rule: idlelock:timeout
expected: &lt;= 600
actual: 900
source: /etc/ssh/sshd_config:7
fix: state.apply idlelock with timeout &lt;= 600</failure>
    </testcase>
    <testcase classname="web-1" name="sshd Banner">
      <system-out>rule: low-note
expected: unset
actual: none
source: /etc/ssh/sshd_config:1
fix: informational</system-out>
    </testcase>
    <testcase classname="web-2" name="idle logout">
      <failure message="[idlelock:timeout] expected &lt;= 600, got 1200" type="high">rule: idlelock:timeout
expected: &lt;= 600
actual: 1200
source: /etc/ssh/sshd_config.d/50-x.conf:2
fix: state.apply idlelock with timeout &lt;= 600</failure>
    </testcase>
  </testsuite>
  <testsuite name="unknown" tests="1" failures="0" errors="1">
    <testcase classname="broken-1" name="audit">
      <error message="[idlelock.audit] expected an audit, got 'idlelock.audit' is not available." type="unknown">rule: idlelock.audit
expected: an audit
actual: 'idlelock.audit' is not available.
source: broken-1
fix: sync idlelock to the host (saltutil.sync_all; salt-ssh ships it), then run idlelock.audit there</error>
    </testcase>
  </testsuite>
</testsuites>
"""


def test_junit_fails_high_and_medium_errors_unknown_and_silent_passes_low(report):
    assert idlelock_report.render_junit(report) == JUNIT


def test_json_is_the_report_data_sorted_and_indented(report):
    text = idlelock_report.render_json(report)
    assert text.endswith("}\n") and text.startswith('{\n  "compliant": false,\n  "counts": {\n')
    data = json.loads(text)
    assert data["counts"] == {"compliant": 1, "no answer": 1, "non-compliant": 4}
    assert data["top_findings"] == [
        {"rule": "idlelock:timeout", "check": "idle logout", "severity": "high", "hosts": 2},
        {"rule": "idlelock.audit", "check": "audit", "severity": "unknown", "hosts": 1},
        {"rule": "match", "check": "Match User backup", "severity": "medium", "hosts": 1}]
    assert data["thresholds"] == {
        "dev": ["TMOUT = 60"],
        "prod": ["idle logout <= 600 s, ClientAliveInterval 1..600, TMOUT <= 600, TMOUT readonly",
                 "idle logout <= 300 s"]}
    assert data["environments"] == {
        "dev": {"compliant": ["ok-1"], "non-compliant": ["db-1"], "no answer": []},
        "prod": {"compliant": [], "non-compliant": ["web-1", "web-2"], "no answer": ["gone-1"]},
        "unknown": {"compliant": [], "non-compliant": ["broken-1"], "no answer": []}}
    assert data["hosts"]["gone-1"] == {
        "environment": "prod", "transport": "minion", "last_seen": "2026-11-29 09:00 UTC",
        "findings": [], "passed": [], "timeout": None, "openssh": None, "mechanisms": {},
        "thresholds": {}, "status": "no answer"}
    assert data["hosts"]["broken-1"]["error"] == "'idlelock.audit' is not available."
    assert [f["check"] for f in data["hosts"]["web-1"]["findings"]] == [
        "idle logout", "sshd Banner"]  # worst first, whatever order the audit gave
    assert (data["profile"], data["generated"], data["target"], data["compliant"]) == (
        "cis", GENERATED, "G@role:web", False)


def test_rules_group_values_and_remediation(report):
    timeout, audit, match, low = report["rules"]
    assert timeout["hosts"] == ["web-1", "web-2"] and timeout["environments"] == ["prod"]
    assert timeout["expected"] == ["<= 600"]
    assert timeout["actual"] == [{"value": "900", "hosts": 1}, {"value": "1200", "hosts": 1}]
    assert timeout["remediation"] == {
        "commands": ["salt -L web-1,web-2 state.apply idlelock"],
        "functions": {"minion": ["state.apply idlelock"], "salt-ssh": ["state.apply idlelock"]},
        # the lowest timeout_max of the rule's hosts, since one of them exceeds it
        "pillar": {"idlelock": {"profile": "cis", "timeout": 300}}, "then": ""}
    assert audit["remediation"]["functions"] == {
        "minion": ["saltutil.sync_all", "idlelock.audit"], "salt-ssh": ["idlelock.audit"]}
    assert (audit["remediation"]["pillar"], audit["remediation"]["then"]) == ({}, "")
    assert match["remediation"] == {
        "commands": ["salt-ssh -L db-1 idlelock.get"],
        "functions": {"minion": ["idlelock.get"], "salt-ssh": ["idlelock.get"]},
        "pillar": {}, "then": MATCH_FIX}
    assert low["actual"] == [{"value": "none", "hosts": 1}] and low["expected"] == ["unset"]


def test_one_hosts_remediation_runs_every_function_of_its_transport(report):
    audit = report["rules"][1]
    hosts = dict(report["hosts"], **{"m-1": dict(report["hosts"]["ok-1"])})
    assert idlelock_report.remediation_lines(audit, "m-1", hosts) == [
        "salt -L m-1 saltutil.sync_all", "salt -L m-1 idlelock.audit"]
    assert idlelock_report.remediation_lines(report["rules"][0], "web-2", report["hosts"]) == [
        '# first, in their pillar: {"idlelock": {"profile": "cis", "timeout": 300}}',
        "salt -L web-2 state.apply idlelock"]


@pytest.mark.parametrize("profile, timeouts, pillar", [
    ("policy", (900, 1200), {}),          # the hosts' own policy: nothing to change
    ("", (900, 1200), {}),
    ("cis", (300, 200), {"idlelock": {"profile": "cis"}}),  # within the limit: profile only
    ("cis", (301, 200), {"idlelock": {"profile": "cis", "timeout": 300}}),
    ("cis", ("900", None), {"idlelock": {"profile": "cis"}}),  # no numeric timeout to judge
])
def test_pillar_change_names_the_profile_and_a_timeout_only_when_one_exceeds(
        profile, timeouts, pillar):
    returns = {}
    for name, timeout in zip(("a", "b"), timeouts):
        returns[name] = dict(RETURNS["web-2"], timeout=timeout,
                             thresholds={"timeout_max": 300} if name == "a" else {})
    data = idlelock_report.summarize(profile, returns, list(returns))
    assert data["rules"][0]["remediation"]["pillar"] == pillar


def test_rules_rank_by_severity_then_host_count_then_name():
    def one(*findings):
        return dict(RETURNS["web-2"], findings=[
            finding(rule, rule.lower(), severity, 1, 2, "s", "f") for rule, severity in findings])
    returns = {"a": one(("R-b", "medium"), ("R-z", "weird"), ("R-a", "medium")),
               "b": one(("R-b", "medium"), ("R-c", "low"), ("R-d", "high"))}
    data = idlelock_report.summarize("policy", returns, list(returns))
    # an unknown severity ranks as "unknown" (not proven); ties by rule name
    assert [(g["rule"], len(g["hosts"])) for g in data["rules"]] == [
        ("R-d", 1), ("R-z", 1), ("R-b", 2), ("R-a", 1), ("R-c", 1)]
    assert [f["rule"] for f in data["hosts"]["a"]["findings"]] == ["R-z", "R-a", "R-b"]


def test_top_findings_leave_out_low_and_keep_five():
    returns = {"a": dict(RETURNS["web-2"], findings=[
        finding(f"R-{i}", "c", "low" if i == 0 else "medium", 1, 2, "s", "f") for i in range(8)])}
    top = idlelock_report.summarize("policy", returns, ["a"])["top_findings"]
    assert [t["rule"] for t in top] == ["R-1", "R-2", "R-3", "R-4", "R-5"]


@pytest.mark.parametrize("thresholds, text", [
    ({}, "none"),
    ({"timeout_max": 600}, "idle logout <= 600 s"),
    ({"client_alive_interval_min": 1, "client_alive_interval_max": 300},
     "ClientAliveInterval 1..300"),
    ({"client_alive_count_max_min": 1, "client_alive_count_max_max": 1}, "ClientAliveCountMax = 1"),
    ({"tmout_min": 60}, "TMOUT >= 60"),
    ({"stop_idle_session_sec_max": 900}, "StopIdleSessionSec <= 900"),
    ({"exported": True, "readonly": True}, "TMOUT readonly exported"),
    ({"readonly": False, "exported": True}, "TMOUT exported"),
    ({"tmout_min": 0, "tmout_max": 0}, "TMOUT = 0"),
])
def test_thresholds_text(thresholds, text):
    assert idlelock_report.thresholds_text(thresholds) == text


def test_trend_keeps_the_same_profile_and_target_and_counts_silent_hosts(report):
    assert report["trend"] == [
        {"generated": "2026-11-29 10:00 UTC", "counts": {
            "compliant": 3, "non-compliant": 3, "no answer": 0}, "total": 6, "compliance": 50.0},
        {"generated": GENERATED, "counts": {"compliant": 1, "non-compliant": 4, "no answer": 1},
         "total": 6, "compliance": 16.7}]
    empty = {"generated": "e", "profile": "cis", "target": "G@role:web", "counts": {}}
    broken = dict(empty, counts=None)
    points = idlelock_report.trend([empty, broken], report, runs=3)
    assert [(p["generated"], p["total"], p["compliance"]) for p in points] == [
        ("e", 0, 0.0), (GENERATED, 6, 16.7)]
    assert [p["generated"] for p in idlelock_report.trend(
        [dict(empty, generated=str(i)) for i in range(5)], report, runs=3)] == ["3", "4", GENERATED]


def test_history_entry_keeps_counts_per_environment(report):
    assert idlelock_report.history_entry(report) == {
        "generated": GENERATED, "profile": "cis", "target": "G@role:web",
        "counts": {"compliant": 1, "non-compliant": 4, "no answer": 1},
        "environments": {"dev": {"compliant": 1, "non-compliant": 1, "no answer": 0},
                         "prod": {"compliant": 0, "non-compliant": 2, "no answer": 1},
                         "unknown": {"compliant": 0, "non-compliant": 1, "no answer": 0}}}


def test_actual_text_cuts_long_values_at_140():
    group = {"actual": [{"value": "x" * 141, "hosts": 3}]}
    assert idlelock_report._actual_text(group) == "x" * 137 + "..."
    group["actual"][0]["value"] = "x" * 140
    assert idlelock_report._actual_text(group) == "x" * 140


@pytest.mark.parametrize("ret, answer", [
    ({"_error": "Pillar render failed", "retcode": 1}, "Pillar render failed"),
    ({"stderr": "sudo: a password is required", "retcode": 1}, "sudo: a password is required"),
    ({"_error": "", "stderr": "fallback", "retcode": 1}, "fallback"),
    ("plain text", "plain text"),
    ({"retcode": 0, "stdout": "x"}, {"retcode": 0, "stdout": "x"}),
])
def test_ssh_answer_errors_become_the_host_text(ret, answer):
    assert idlelock_report.ssh_answer(ret) == answer


def test_audit_failure_of_any_shape_is_non_compliant_not_silent():
    data = idlelock_report.summarize("policy", {"a": {"retcode": 1}, "b": None}, ["a", "b"])
    assert [(h["status"], h["findings"][0]["actual"]) for h in data["hosts"].values()] == [
        ("non-compliant", "{'retcode': 1}"), ("non-compliant", "None")]
    assert data["hosts"]["a"]["environment"] == "unknown"


# ---------------------------------------------------------------- html
def test_html_head_verdict_and_meta(report):
    page = idlelock_report.render_html(report)
    assert page.startswith('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
                           '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                           "<title>idlelock audit: NOT COMPLIANT: 4 of 6 hosts fail, "
                           "1 did not answer</title>\n")
    assert ('<h1>idlelock audit <span id="verdict" class="verdict bad">NOT COMPLIANT: '
            "4 of 6 hosts fail, 1 did not answer</span></h1>") in page
    assert ('<p class="meta" id="meta">6 hosts: 1 compliant, 4 non-compliant, 1 no answer.<br>'
            "Generated 2026-11-30 10:00 UTC; profile <b>cis</b>; target <code>G@role:web</code>."
            "</p>") in page  # thresholds differ per environment: not in the header
    assert page.endswith("</script>\n</body></html>\n")


def test_html_environments_name_failing_hosts_and_thresholds_per_environment(report):
    page = idlelock_report.render_html(report)
    assert ('<tr data-env="prod"><th scope="row">prod</th><td class="num">3</td>'
            '<td class="st-non-compliant"><b>2</b><div class="names"><a href="#h-web-1">web-1</a> '
            '<a href="#h-web-2">web-2</a></div></td>'
            '<td class="st-no-answer"><b>1</b><div class="names"><a href="#h-gone-1">gone-1</a>'
            '</div></td><td class="num">0</td>'
            "<td>idle logout &lt;= 600 s, ClientAliveInterval 1..600, TMOUT &lt;= 600, "
            "TMOUT readonly<br>idle logout &lt;= 300 s</td></tr>") in page
    assert ('<tr data-env="dev"><th scope="row">dev</th><td class="num">2</td>'
            '<td class="st-non-compliant"><b>1</b><div class="names"><a href="#h-db-1">db-1</a>'
            '</div></td><td class="st-no-answer"><b>0</b></td><td><details><summary>1 compliant'
            '</summary><div class="names"><a href="#h-ok-1">ok-1</a></div></details></td>'
            "<td>TMOUT = 60</td></tr>") in page
    assert '<th>judged against</th>' in page
    assert "<td>-</td></tr>" in page.split('<tr data-env="unknown">')[1]


def test_html_rules_rows_carry_filter_keys_and_the_remediation(report):
    page = idlelock_report.render_html(report)
    assert ('<tr data-host="web-1 web-2" data-env="prod" data-rule="idlelock:timeout idle logout"'
            ' data-sev="high"><td class="sev sev-high">high</td><td><code>idlelock:timeout</code>'
            '</td><td>idle logout</td><td class="num">2</td><td>&lt;= 600</td>'
            "<td>900 (1 hosts; 1 other value(s))</td><td><pre class=\"fix\"># first, in their "
            "pillar: {&quot;idlelock&quot;: {&quot;profile&quot;: &quot;cis&quot;, "
            "&quot;timeout&quot;: 300}}\nsalt -L web-1,web-2 state.apply idlelock</pre></td></tr>"
            ) in page
    assert ('<td><pre class="fix">salt-ssh -L db-1 idlelock.get\n# then: edit the Match block '
            "at /etc/ssh/sshd_config:40</pre></td></tr>") in page


def test_html_hosts_rows_show_each_mechanism_and_sort_worst_first(report):
    page = idlelock_report.render_html(report)
    hosts = page.split('<table id="hosts">')[1]
    assert [row.split('"')[1] for row in hosts.split("<tr id=")[1:]] == [
        "h-web-1", "h-web-2", "h-broken-1", "h-db-1", "h-gone-1", "h-ok-1"]
    assert ('<tr id="h-web-1" data-host="web-1" data-env="prod" data-rule="idlelock:timeout '
            'idle logout low-note sshd banner" data-sev="high low"><td class="host">web-1</td>'
            '<td>prod</td><td class="st-non-compliant" data-key="00">non-compliant</td>'
            '<td data-key="00002"><ul class="f"><li><span class="sev sev-high">high</span> '
            "<code>idlelock:timeout</code> idle logout: 900 <small>(/etc/ssh/sshd_config:7)"
            '</small></li><li><span class="sev sev-low">low</span> <code>low-note</code> sshd '
            "Banner: none <small>(/etc/ssh/sshd_config:1)</small></li></ul></td>"
            '<td>OpenSSH_9.2p1</td><td class="num">900</td><td class="num">300 x 3</td>'
            '<td class="num">600</td><td class="num">-</td><td>2026-11-30 10:00 UTC</td></tr>'
            ) in hosts
    assert ('<td class="host">db-1 (salt-ssh)</td><td>dev</td>'
            '<td class="st-non-compliant" data-key="02">non-compliant</td>') in hosts
    assert ('<td class="st-no-answer" data-key="19">no answer</td><td data-key="00000"></td>'
            '<td>-</td><td class="num">-</td><td class="num">-</td><td class="num">-</td>'
            '<td class="num">-</td><td>2026-11-29 09:00 UTC</td></tr>') in hosts
    assert ('<td>OpenSSH_9.2p1</td><td class="num">-</td><td class="num">600 x -</td>') in hosts


def test_html_of_a_compliant_fleet_says_so(report):
    data = idlelock_report.summarize("policy", {"ok-1": RETURNS["ok-1"]}, ["ok-1"])
    page = idlelock_report.render_html(data)
    assert '<span id="verdict" class="verdict ok">COMPLIANT: all 1 hosts</span>' in page
    assert "<p>No findings.</p>" in page and '<table id="rules">' not in page
    assert "Generated -; profile <b>policy</b>; target <code>*</code>.<br>Thresholds: TMOUT = 60." \
        in page
    assert "<th>judged against</th>" not in page


def test_html_trend_draws_a_dot_per_run_and_a_line_from_two(report):
    page = idlelock_report.render_html(report)
    assert ('<svg xmlns="http://www.w3.org/2000/svg" id="trend" width="300" height="84" '
            'role="img" aria-label="compliance over the last 2 runs"><rect x="0" y="0" '
            'width="300" height="70" fill="#fff" stroke="#ddd"/><polyline fill="none" '
            'stroke="#1565c0" stroke-width="2" points="6.0,35.0 294.0,54.3"/>'
            '<circle class="run" cx="6.0" cy="35.0" r="3" fill="#1565c0" data-compliance="50.0">'
            "<title>2026-11-29 10:00 UTC: 50% compliant (3 of 6)</title></circle>"
            '<circle class="run" cx="294.0" cy="54.3" r="3" fill="#1565c0" '
            'data-compliance="16.7"><title>2026-11-30 10:00 UTC: 16.7% compliant (1 of 6)'
            '</title></circle><text x="0" y="82">50%</text><text x="300" y="82" '
            'text-anchor="end">16.7% compliant, last 2 run(s)</text></svg>') in page
    single = idlelock_report._trend_svg([{"generated": "<now>", "compliance": 100.0, "total": 1,
                                          "counts": {"compliant": 1}}])
    assert "<polyline" not in single
    assert ('<circle class="run" cx="6.0" cy="6.0" r="3" fill="#1565c0" data-compliance="100.0">'
            "<title>&lt;now&gt;: 100% compliant (1 of 1)</title></circle>") in single


def test_html_escapes_what_hosts_report():
    bad = dict(RETURNS["web-2"], environment="<b>env</b>", openssh="<i>ssh</i>",
               findings=[finding("<r>", "<c>", "high", "<e>", "<a>", "<s>", "f")])
    page = idlelock_report.render_html(idlelock_report.summarize("policy", {"<h>": bad}, ["<h>"]))
    for raw in ("<h>", "<b>env</b>", "<i>ssh</i>", "<r>", "<c>", "<e>", "<a>", "<s>"):
        assert raw not in page
    assert '<tr id="h-&lt;h&gt;" data-host="&lt;h&gt;" data-env="&lt;b&gt;env&lt;/b&gt;"' in page


def one_finding(rule, check, severity, **ret):
    """``web-2``'s audit with one finding of its own."""
    return dict(RETURNS["web-2"], findings=[finding(rule, check, severity, 1, 2, "s", "f")], **ret)


def test_a_severity_this_report_does_not_know_ranks_as_unknown_everywhere():
    # A minion running another idlelock version may send a severity word this
    # master does not know: it ranks as "unknown" (not proven), ahead of medium.
    returns = {"m-1": one_finding("R-m", "a-check", "medium"),
               "z-1": dict(RETURNS["web-2"], findings=[
                   finding("R-a", "a-check", "medium", 1, 2, "s", "f"),
                   finding("R-w", "w-check", "weird", 1, 2, "s", "f")])}
    data = idlelock_report.summarize("policy", returns, list(returns))
    table = idlelock_report.render_table(data)
    per_host = table.split("FINDINGS PER HOST:\n")[1].splitlines()
    assert [line.split()[:3] for line in per_host[1:]] == [
        ["weird", "z-1", "w-check"], ["medium", "m-1", "a-check"], ["medium", "z-1", "a-check"]]
    hosts = idlelock_report.render_html(data).split('<table id="hosts">')[1]
    assert [row.split('"')[1] for row in hosts.split("<tr id=")[1:]] == ["h-z-1", "h-m-1"]
    assert '<td class="host">z-1</td><td>prod</td><td class="st-non-compliant" data-key="01">' \
        in hosts


def test_a_bare_audit_return_and_a_host_never_seen():
    # The least an audit can return, a host whose logind stops idle sessions,
    # and an expected host that never answered.
    returns = {"bare-1": {"compliant": True},
               "logind-1": dict(RETURNS["ok-1"], mechanisms={"StopIdleSessionSec": 900})}
    data = idlelock_report.summarize("policy", returns, [*returns, "never-1"],
                                     {"bare-1": "lab"}, generated=GENERATED)
    assert data["hosts"]["bare-1"] == {
        "environment": "lab", "transport": "minion", "last_seen": GENERATED, "findings": [],
        "passed": [], "timeout": None, "openssh": None, "mechanisms": {}, "thresholds": {},
        "status": "compliant"}
    hosts = idlelock_report.render_html(data).split('<table id="hosts">')[1]
    assert ('<td class="num">-</td><td class="num">900</td><td>2026-11-30 10:00 UTC</td></tr>'
            ) in hosts
    assert hosts.split('<tr id="h-never-1"')[1].split("</tr>")[0].endswith(
        '<td class="num">-</td><td>never</td>')
    assert idlelock_report.render_csv(data).splitlines()[-1] == (
        "never-1,unknown,no answer,minion,,,,,,,,,,,")


def test_the_most_common_expected_value_and_fix_come_first():
    # Sorted host names give "B" and fix-y first; two hosts against one say "A" and fix-x.
    def ret(expected, fix, limit):
        return dict(RETURNS["web-2"], thresholds={"timeout_max": limit}, findings=[
            finding("R", "c", "high", expected, 2, "s", fix)])
    returns = {"a": ret("B", "fix-y", 300), "b": ret("A", "fix-x", 600),
               "c": ret("A", "fix-x", 600)}
    data = idlelock_report.summarize("policy", returns, list(returns))
    rule = data["rules"][0]
    assert (rule["expected"], rule["fix"]) == (["A", "B"], "fix-x")
    assert data["thresholds"] == {"prod": ["idle logout <= 600 s", "idle logout <= 300 s"]}
    assert "           expected A | B; actual 2\n           salt -L a,b,c idlelock.get\n" \
           "           # then: fix-x\n" in idlelock_report.render_table(data)
    page = idlelock_report.render_html(data)
    # One environment: its thresholds are shared, in the page's head.
    assert "<br>Thresholds: idle logout &lt;= 600 s | idle logout &lt;= 300 s.</p>" in page
    assert '<td class="num">3</td><td>A | B</td><td>2</td>' in page


def test_no_numeric_limit_means_the_profile_alone_in_the_pillar_change():
    returns = {name: dict(RETURNS["web-2"], thresholds={}) for name in ("a", "b")}
    data = idlelock_report.summarize("cis", returns, list(returns))
    assert data["rules"][0]["remediation"]["pillar"] == {"idlelock": {"profile": "cis"}}


def test_junit_keeps_every_low_note_of_a_host():
    returns = {"a": dict(RETURNS["web-2"], findings=[
        finding("note-1", "one", "low", None, "x", "s", "f"),
        finding("note-2", "two", "low", None, "y", "s", "f")])}
    junit = idlelock_report.render_junit(idlelock_report.summarize("policy", returns, ["a"]))
    assert '<testsuite name="prod" tests="2" failures="0" errors="0">' in junit
    assert junit.count("<system-out>rule: note-") == 2


def test_table_trend_shows_the_last_ten_runs_and_a_single_finding_per_host():
    history = [dict(EARLIER, profile="policy", target="*",
                    counts={"compliant": i, "non-compliant": 10 - i}) for i in range(11)]
    data = idlelock_report.summarize("policy", {"a": one_finding("R", "c", "high")},
                                     ["a"], history=history)
    table = idlelock_report.render_table(data)
    assert "\nTREND (compliant %): 20 -> 30 -> 40 -> 50 -> 60 -> 70 -> 80 -> 90 -> 100 -> 0\n" \
        in table
    assert table.endswith("\nFINDINGS PER HOST:\n  SEVERITY  HOST  CHECK  RULE  EXPECTED  "
                          "ACTUAL  SOURCE\n  high      a     c      R     1         2       s\n")


def test_json_writes_what_json_cannot_hold_as_text():
    # msgpack hands the master bytes when a minion returns them: the report still renders.
    returns = {"a": dict(RETURNS["ok-1"], openssh=b"OpenSSH_9.2p1")}
    text = idlelock_report.render_json(idlelock_report.summarize("policy", returns, ["a"]))
    assert json.loads(text)["hosts"]["a"]["openssh"] == "b'OpenSSH_9.2p1'"


def test_html_headers_and_an_empty_rules_section_exactly(report):
    page = idlelock_report.render_html(report)
    assert ("<th>no answer</th><th>compliant</th><th>judged against</th></tr></thead><tbody>"
            ) in page
    data = idlelock_report.summarize("policy", {"ok-1": RETURNS["ok-1"]}, ["ok-1"])
    assert ("<h2>Findings by rule, most severe first</h2>\n<p>No findings.</p>\n<h2>Hosts</h2>"
            ) in idlelock_report.render_html(data)


def test_host_lists_wrap_at_100_columns_between_names_never_at_hyphens():
    names = ["db-backup-1"] + [f"web-frontend-{i:02d}" for i in range(12)]
    data = idlelock_report.summarize("policy", dict.fromkeys(names, RETURNS["web-2"]), names)
    table = idlelock_report.render_table(data)
    assert ("NON-COMPLIANT:\n  prod (13):\n"
            "    db-backup-1, web-frontend-00, web-frontend-01, web-frontend-02, web-frontend-03,\n"
            "    web-frontend-04, web-frontend-05, web-frontend-06, web-frontend-07, web-frontend-08,\n"
            "    web-frontend-09, web-frontend-10, web-frontend-11\n") in table
