"""
The fleet report's pure logic and renderers, on the synthetic 500-host fleet
(tests/support/synthetic_fleet.py) and on small hand-made fleets.
"""

import csv
import html.parser
import io
import json
import pathlib

import pytest

import idlelock_report
from tests.support import synthetic_fleet

REPO = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = REPO / "docs" / "report-sample.html"


# Built per test (50 ms), not per module: mutmut runs, for each mutant, the tests
# that called the mutated function, and a module-scoped fixture's calls count
# for the first test that used it only (docs/mutation.md).
@pytest.fixture
def fleet():
    return synthetic_fleet.report()


def audit(env, *findings, openssh="OpenSSH_9.2p1"):
    """An ``idlelock.audit`` return with ``findings`` given as ``(rule, check, severity)``."""
    return {"compliant": not any(s in ("high", "medium", "unknown") for *_, s in findings),
            "environment": env, "timeout": 600, "openssh": openssh, "passed": ["idle logout"],
            "mechanisms": {"ChannelTimeout": 600, "TMOUT": 600},
            "thresholds": {"timeout_max": 600},
            "findings": [{"rule": rule, "check": check, "severity": severity, "expected": "= 1",
                          "actual": "0", "source": "/etc/ssh/sshd_config:3",
                          "fix": "state.apply idlelock with ClientAliveCountMax = 1"}
                         for rule, check, severity in findings]}


def test_rules_rank_by_severity_before_host_count(fleet):
    order = [(g["severity"], len(g["hosts"])) for g in fleet["rules"]]
    assert order[0] == ("high", 56)
    assert ("medium", 57) in order and order.index(("medium", 57)) > 0
    ranks = [idlelock_report.SEVERITY_ORDER[severity] for severity, _ in order]
    assert ranks == sorted(ranks)
    for severity in idlelock_report.SEVERITIES:  # within one severity: most hosts first
        counts = [n for s, n in order if s == severity]
        assert counts == sorted(counts, reverse=True)


def test_counts_match_the_issue_fleet(fleet):
    assert fleet["counts"] == {"compliant": 398, "non-compliant": 83, "no answer": 19}
    assert {env: sum(map(len, g.values())) for env, g in fleet["environments"].items()} == {
        "dev": 150, "staging": 100, "prod": 250}
    assert fleet["top_findings"][0] == {"rule": "idlelock:timeout", "check": "idle logout",
                                        "severity": "high", "hosts": 56}


def test_remediation_is_a_command_for_exactly_the_rule_hosts():
    returns = {"web-1": audit("prod", ("R-1", "sshd ClientAliveCountMax", "medium")),
               "web-2": audit("prod", ("R-1", "sshd ClientAliveCountMax", "medium")),
               "db-1": audit("prod", ("R-1", "sshd ClientAliveCountMax", "medium")),
               "ok-1": audit("dev"), "broken-1": "'idlelock.audit' is not available."}
    data = idlelock_report.summarize("policy", returns, list(returns),
                                     transports={"db-1": "salt-ssh", "broken-1": "salt-ssh"})
    rule = next(g for g in data["rules"] if g["rule"] == "R-1")
    assert idlelock_report.remediation_lines(rule) == [
        "salt -L web-1,web-2 state.apply idlelock", "salt-ssh -L db-1 state.apply idlelock"]
    failed = next(g for g in data["rules"] if g["rule"] == idlelock_report.AUDIT_RULE)
    assert (failed["severity"], failed["hosts"]) == ("unknown", ["broken-1"])
    assert idlelock_report.remediation_lines(failed) == ["salt-ssh -L broken-1 idlelock.audit"]
    # Against a named profile, the pillar change comes first.
    stricter = idlelock_report.summarize("stig", returns, list(returns))
    rule = next(g for g in stricter["rules"] if g["rule"] == "R-1")
    assert idlelock_report.remediation_lines(rule)[0] == \
        '# first, in their pillar: {"idlelock": {"profile": "stig"}}'


def test_silent_hosts_are_named_with_when_they_last_answered():
    data = idlelock_report.summarize(
        "policy", {"a": audit("dev")}, ["a", "gone"], {"gone": "prod"},
        generated="2026-11-30 10:00 UTC", last_seen={"gone": "2026-11-29 09:00 UTC"})
    assert data["hosts"]["gone"]["status"] == "no answer"
    assert data["environments"]["prod"]["no answer"] == ["gone"]
    assert data["hosts"]["a"]["last_seen"] == "2026-11-30 10:00 UTC"
    text = idlelock_report.render_table(data)
    assert "NO ANSWER:\n  prod (1):\n    gone (last seen 2026-11-29 09:00 UTC)\n" in text
    assert not data["compliant"]


def test_text_puts_the_findings_by_rule_first(fleet):
    text = idlelock_report.render_table(fleet)
    lines = text.splitlines()
    assert lines[1] == "NOT COMPLIANT: 83 of 500 hosts fail, 19 did not answer"
    by_rule = lines.index("FINDINGS BY RULE (most severe first):")
    assert by_rule < 6
    assert lines[by_rule + 1].split()[:3] == ["high", "56", "host(s)"]
    assert text.index("FINDINGS BY RULE") < text.index("ENVIRONMENT") < text.index(
        "FINDINGS PER HOST")
    assert "expected 1..600; actual unset\n" in text  # no TMOUT at all, not "None"
    assert "None" not in text


def test_trend_follows_the_runs_of_the_same_profile_and_target(fleet):
    history = synthetic_fleet.history(runs=3) + [
        {"generated": "other", "profile": "cis", "target": "*",
         "counts": {"compliant": 1, "non-compliant": 0, "no answer": 0}}]
    points = idlelock_report.trend(history, fleet)
    assert [p["generated"] for p in points] == [h["generated"] for h in history[:3]] + [
        synthetic_fleet.GENERATED]
    assert points[-1]["compliance"] == round(100 * 398 / 500, 1)
    kept = idlelock_report.history_entry(fleet)
    assert kept["counts"] == fleet["counts"] and "hosts" not in kept
    assert len(idlelock_report.trend([kept] * 100, fleet)) == idlelock_report.TREND_RUNS


def test_csv_has_a_row_per_host_and_finding(fleet):
    rows = list(csv.DictReader(io.StringIO(idlelock_report.render_csv(fleet))))
    assert tuple(rows[0]) == idlelock_report.CSV_COLUMNS
    findings = sum(len(e["findings"]) for e in fleet["hosts"].values())
    bare = sum(1 for e in fleet["hosts"].values() if not e["findings"])
    assert len(rows) == findings + bare
    assert {r["host"] for r in rows} == set(fleet["hosts"])
    high = [r for r in rows if r["severity"] == "high" and r["check"] == "idle logout"]
    # Each row carries its own host's command, not the rule's whole host list.
    assert len(high) == 56 and all(r["remediation"].endswith(
        f"salt -L {r['host']} state.apply idlelock") for r in high)


def test_csv_cells_never_start_a_formula():
    data = idlelock_report.summarize("policy", {"=cmd|' /C calc'!A0": "-boom"},
                                     ["=cmd|' /C calc'!A0"])
    row = next(csv.DictReader(io.StringIO(idlelock_report.render_csv(data))))
    assert row["host"].startswith("'=") and row["actual"] == "'-boom"


def test_json_carries_rules_hosts_and_trend(fleet):
    data = json.loads(idlelock_report.render_json(fleet))
    assert data["rules"][0]["remediation"]["commands"][0].startswith("salt -L ")
    assert data["hosts"]["dev-004"]["mechanisms"]["ChannelTimeout"] is None
    assert len(data["trend"]) == 13


class _Page(html.parser.HTMLParser):
    """Text per element id, external references, and the headers marked sortable."""

    def __init__(self):
        super().__init__()
        self.external, self.sortable, self.text, self.stack = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.external += [attrs[k] for k in ("src", "href") if attrs.get(k)
                          and not attrs[k].startswith("#")]
        if tag == "th" and "sort" in (attrs.get("class") or "").split():
            self.sortable.append(self.stack[-1] if self.stack else None)
        if tag == "table":
            self.stack.append(attrs.get("id"))
        if tag == "details":
            self.stack.append("details")

    def handle_endtag(self, tag):
        if tag in ("table", "details") and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append((tuple(self.stack), data))


def test_html_is_self_contained_and_names_no_compliant_host_outside_details(fleet):
    page = _Page()
    page.feed(idlelock_report.render_html(fleet))
    assert page.external == []
    assert set(page.sortable) == {"hosts"}  # arrows only where the script sorts
    compliant = {n for n, e in fleet["hosts"].items() if e["status"] == "compliant"}
    summary = {data for where, data in page.text if where == ("environments",)}
    inside = {data for where, data in page.text if where == ("environments", "details")}
    assert not summary & compliant and compliant <= inside
    assert not any(data.startswith("0: ") for _, data in page.text)


def test_docs_sample_is_the_synthetic_fleet_as_rendered_now(fleet):
    sample = SAMPLE.read_text()
    assert sample == idlelock_report.render_html(fleet), (
        "docs/report-sample.html is stale: python -m tests.support.synthetic_fleet")
    for leak in ("/tmp/", "pytest", "report-gone"):
        assert leak not in sample


@pytest.mark.parametrize("ret, answer", [
    ({"return": {"compliant": True}, "retcode": 0}, {"compliant": True}),
    ({"return": "'idlelock.audit' is not available.", "retcode": 1},
     "'idlelock.audit' is not available."),
    ({"stdout": "", "stderr": "ssh: connect to host 127.0.0.1 port 2: Connection refused",
      "retcode": 255}, idlelock_report.NO_ANSWER),
])
def test_ssh_answer(ret, answer):
    assert idlelock_report.ssh_answer(ret) == answer
