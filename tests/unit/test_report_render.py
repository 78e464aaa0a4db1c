"""
The fleet report, pure: grouping, counts, worst-first order and every format,
checked against literal expected output (the integration test runs the same
renderers through a real master; this one pins what each byte means).
"""

import json
import xml.etree.ElementTree as ET

import pytest

import idlelock_report as report


def finding(check, severity, rule="R-1", expected="<= 600", actual="900", source="f:1"):
    return {"check": check, "rule": rule, "expected": expected, "actual": actual,
            "source": source, "severity": severity, "fix": f"fix {check}"}


RETURNS = {
    "web1": {"compliant": True, "environment": "prod", "findings": [], "passed": ["idle logout"],
             "timeout": 600, "openssh": "OpenSSH_9.2p1"},
    "web2": {"compliant": False, "environment": "prod", "timeout": 600, "openssh": "OpenSSH_9.2p1",
             "findings": [finding("shell TMOUT", "medium"),
                          finding("idle logout", "high", rule="idlelock:timeout"),
                          finding("sshd ChannelTimeout (Match User x)", "low", rule="L-1")],
             "passed": ["shell TMOUT readonly"]},
    "db1": {"compliant": False, "environment": "dev", "timeout": 3600, "openssh": None,
            "findings": [finding("shell TMOUT", "medium")], "passed": []},
    "old": "'idlelock.audit' is not available.",
}
EXPECTED = ["web1", "web2", "db1", "old", "gone"]


@pytest.fixture
def data():
    return report.summarize("stig", RETURNS, EXPECTED, environments={"gone": "staging"})


def test_summarize_groups_counts_and_ranks(data):
    assert data["profile"] == "stig" and data["compliant"] is False
    assert data["counts"] == {"compliant": 1, "non-compliant": 3, "no answer": 1}
    assert data["environments"] == {
        "dev": {"compliant": [], "non-compliant": ["db1"], "no answer": []},
        "prod": {"compliant": ["web1"], "non-compliant": ["web2"], "no answer": []},
        "staging": {"compliant": [], "non-compliant": [], "no answer": ["gone"]},
        "unknown": {"compliant": [], "non-compliant": ["old"], "no answer": []},
    }
    assert list(data["environments"]) == ["dev", "prod", "staging", "unknown"]
    # Most minions first, then severity; low findings never rank.
    assert data["top_findings"] == [
        {"check": "shell TMOUT", "rule": "R-1", "severity": "medium", "minions": 2},
        {"check": "idle logout", "rule": "idlelock:timeout", "severity": "high", "minions": 1},
        {"check": "audit", "rule": "idlelock.audit", "severity": "unknown", "minions": 1},
    ]
    old = data["minions"]["old"]
    assert old["status"] == "non-compliant" and old["error"] == RETURNS["old"]
    assert old["findings"][0]["actual"] == RETURNS["old"] and old["passed"] == []
    assert data["minions"]["gone"] == {"status": "no answer", "environment": "staging",
                                       "findings": [], "passed": []}
    assert data["minions"]["web2"]["timeout"] == 600
    assert data["minions"]["web2"]["openssh"] == "OpenSSH_9.2p1"
    assert data["minions"]["web1"]["passed"] == ["idle logout"]


def test_an_all_compliant_fleet_is_compliant():
    data = report.summarize("policy", {"a": RETURNS["web1"]}, ["a"])
    assert data["compliant"] is True and data["top_findings"] == []
    assert report.summarize("policy", {}, ["a"])["compliant"] is False
    assert report.summarize("policy", {}, ["a"])["minions"]["a"]["environment"] == "unknown"


def test_a_return_that_is_no_audit_is_not_compliant():
    entry = report.summarize("policy", {"a": {"error": "no module"}}, ["a"])["minions"]["a"]
    assert entry["status"] == "non-compliant" and entry["error"] == "{'error': 'no module'}"


def test_a_minion_without_environment_or_passed_list():
    ret = {"compliant": False, "findings": [finding("x", "medium")]}
    entry = report.summarize("policy", {"a": ret}, ["a"])["minions"]["a"]
    assert entry["environment"] == "unknown" and entry["passed"] == []


def test_top_findings_keep_five_and_break_ties_by_severity_then_name():
    findings = [finding(f"c{i}", "medium") for i in range(7)] + [finding("z", "high")]
    ret = {"compliant": False, "environment": "e", "findings": findings}
    top = report.summarize("p", {"a": ret}, ["a"])["top_findings"]
    assert [t["check"] for t in top] == ["z", "c0", "c1", "c2", "c3"]


def test_headline(data):
    assert report.headline(data) == ("idlelock audit, profile stig: 5 minions, 1 compliant, "
                                     "3 non-compliant, 1 no answer")


def test_table(data):
    text = report.render_table(data)
    lines = text.splitlines()
    assert lines[:7] == [
        report.headline(data),
        "",
        "ENVIRONMENT  COMPLIANT  NON-COMPLIANT  NO ANSWER",
        "dev          0          1              0",
        "prod         1          1              0",
        "staging      0          0              1",
        "unknown      0          1              0",
    ]
    assert "NON-COMPLIANT:\n  db1 (dev)\n  old (unknown)\n  web2 (prod)\n" in text
    assert "NO ANSWER:\n  gone (staging)\n" in text
    findings = text.split("FINDINGS:\n")[1].split("\n\n")[0].splitlines()
    assert findings[0].split() == ["SEVERITY", "MINION", "CHECK", "RULE", "EXPECTED", "ACTUAL",
                                   "SOURCE"]
    # Worst first, then minion, then check.
    assert [line.split()[:2] for line in findings[1:]] == [
        ["high", "web2"], ["unknown", "old"], ["medium", "db1"], ["medium", "web2"],
        ["low", "web2"]]
    assert text.endswith("TOP FINDINGS:\n  2 minion(s)  medium  shell TMOUT  [R-1]\n"
                         "  1 minion(s)  high  idle logout  [idlelock:timeout]\n"
                         "  1 minion(s)  unknown  audit  [idlelock.audit]\n")
    assert not any(line != line.rstrip() for line in lines)


def test_table_of_a_compliant_fleet_has_no_findings_sections():
    text = report.render_table(report.summarize("policy", {"a": RETURNS["web1"]}, ["a"]))
    assert "FINDINGS" not in text and "NON-COMPLIANT:" not in text and "NO ANSWER:" not in text
    assert text.endswith("prod         1          0              0\n")


def test_json_is_the_data(data):
    text = report.render_json(data)
    assert text.endswith("}\n") and text.startswith('{\n  "compliant": false')
    assert json.loads(text) == json.loads(json.dumps(data))


def test_junit(data):
    root = ET.fromstring(report.render_junit(data))
    assert root.tag == "testsuites" and root.get("name") == "idlelock audit (stig)"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("8", "3", "2")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["dev", "prod", "staging", "unknown"]
    prod = suites["prod"]
    assert (prod.get("tests"), prod.get("failures"), prod.get("errors")) == ("5", "2", "0")
    cases = [(c.get("classname"), c.get("name")) for c in prod.findall("testcase")]
    assert cases == [("web1", "idle logout"), ("web2", "shell TMOUT readonly"),
                     ("web2", "shell TMOUT"), ("web2", "idle logout"),
                     ("web2", "sshd ChannelTimeout (Match User x)")]
    by_name = {c.get("name"): c for c in prod.findall("testcase") if c.get("classname") == "web2"}
    failure = by_name["idle logout"].find("failure")
    assert failure.get("type") == "high"
    assert failure.get("message") == "[idlelock:timeout] expected <= 600, got 900"
    assert failure.text == ("rule: idlelock:timeout\nexpected: <= 600\nactual: 900\n"
                            "source: f:1\nfix: fix idle logout")
    low = by_name["sshd ChannelTimeout (Match User x)"]
    assert low.find("failure") is None and low.find("error") is None
    assert low.find("system-out").text.startswith("rule: L-1\n")
    assert by_name["shell TMOUT readonly"].find("failure") is None
    gone = suites["staging"].find("testcase")
    assert (gone.get("classname"), gone.get("name")) == ("gone", "audit")
    assert gone.find("error").get("type") == "no answer"
    assert gone.find("error").get("message") == "the minion did not answer"
    old = suites["unknown"].find("testcase").find("error")
    assert old.get("type") == "unknown"
    assert (suites["staging"].get("errors"), suites["unknown"].get("errors")) == ("1", "1")


def test_html_is_self_contained_and_escaped():
    ret = dict(RETURNS["web2"], environment="<prod>",
               findings=[finding("shell TMOUT", "medium", actual="<script>x</script>")])
    page = report.render_html(report.summarize("cis", {"a&b": ret, "ok": RETURNS["web1"]},
                                               ["a&b", "ok"]))
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</body></html>\n")
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "a&amp;b" in page and "&lt;prod&gt;" in page and "<prod>" not in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "<title>idlelock audit: cis</title>" in page
    assert '<p class="bad">1 non-compliant, 0 without an answer.</p>' in page
    assert ('<td class="sev-medium" data-key="2">medium</td><td>a&amp;b</td>'
            "<td>&lt;prod&gt;</td><td>shell TMOUT</td>") in page
    assert "<li>1 minion(s): <b>shell TMOUT</b> [R-1] (medium)</li>" in page
    assert "<tr><td>&lt;prod&gt;</td><td>0: </td><td>1: a&amp;b</td><td>0: </td></tr>" in page


def test_html_of_a_compliant_fleet():
    page = report.render_html(report.summarize("policy", {"a": RETURNS["web1"]}, ["a"]))
    assert '<p class="ok">Every minion is compliant.</p>' in page
    assert "<h2>Top findings</h2>" not in page


def test_svg_bars_scale_to_the_largest_environment():
    returns = {f"p{i}": RETURNS["web1"] for i in range(4)}
    returns["d"] = RETURNS["db1"]
    svg = report._svg_chart(report.summarize("policy", returns, list(returns)))
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg" width="680" height="66"')
    assert ('data-env="prod" data-status="compliant" data-count="4" x="140" y="33" '
            'width="480.0" height="20" fill="#2e7d32"') in svg
    assert ('data-env="dev" data-status="non-compliant" data-count="1" x="140" y="5" '
            'width="120.0"') in svg
    assert '<text class="total" data-env="prod" x="626.0" y="48" font-size="12">4</text>' in svg
    assert '<text class="total" data-env="dev" x="266.0" y="20" font-size="12">1</text>' in svg
    assert 'data-status="no answer"' not in svg
    assert '<text x="0" y="22" font-size="13">dev</text><rect class="bar" data-env="dev"' in svg
    assert svg.endswith('font-size="12">4</text></svg>')


def test_every_format_has_a_renderer(data):
    assert set(report.RENDERERS) >= {"table", "json", "junit", "html"}
    for name, render in report.RENDERERS.items():
        assert render(data).endswith("\n"), name
