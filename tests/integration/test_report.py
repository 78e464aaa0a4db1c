"""
The audit across a real fleet: a salt-master and three minions (dev, staging,
prod), with prod deliberately non-compliant through a Match Group block, plus
a fourth minion whose key is accepted but which is down.

``salt-run idlelock.report`` must name exactly the non-compliant minion with
its rule IDs in every format, name the silent minion, and exit 1; the
``idlelock`` grain must go from "unknown" to False to True as the policy is
resolved and applied.
"""

import contextlib
import csv
import html.parser
import io
import json
import pathlib
import xml.etree.ElementTree as ET

import pytest

from tests.support.fleet import minion_returns, sandboxed_minion

pytestmark = pytest.mark.integration

REPO = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
ENVS = {"report-dev": "dev", "report-staging": "staging", "report-prod": "prod"}
TIMEOUTS = {"dev": 3600, "staging": 900, "prod": 600}  # pillar/idlelock/<env>.sls
FLEET = ",".join(ENVS)
GONE = "report-gone-dev"  # pillar top by id: "*-dev" gives it the dev environment
# A group every Debian host has, with a member (nobody's primary group): the
# audit's sshd -T -C needs a real member, and the suite creates no account on
# the host (test accounts live in private /etc overlays only).
ADMINS = "nogroup"
MATCH_BLOCK = f"Match Group {ADMINS}\n    ClientAliveInterval 3600\n    ClientAliveCountMax 0\n"


def grains(salt_cli):
    minion_returns(salt_cli.run("-L", "saltutil.refresh_grains", minion_tgt=FLEET))
    return minion_returns(salt_cli.run("-L", "grains.get", "idlelock", minion_tgt=FLEET))


@pytest.fixture(scope="module")
def fleet(salt_master, salt_cli, salt_run_cli, tmp_path_factory):
    """The running fleet and what its grain said at each step of the rollout."""
    with contextlib.ExitStack() as stack:
        gone, _ = sandboxed_minion(salt_master, GONE, "dev", tmp_path_factory.mktemp(GONE))
        with gone.started():  # registers its key, then goes away
            pass
        sandboxes = {}
        for minion_id, env in ENVS.items():
            # No schedule: a scheduled run right after the rollout would record a new
            # verdict at a moment this test does not choose (tests/integration/test_schedule.py).
            factory, sandbox = sandboxed_minion(
                salt_master, minion_id, env, tmp_path_factory.mktemp(minion_id),
                idlelock={"schedule": {"enabled": False}})
            stack.enter_context(factory.started())
            sandboxes[minion_id] = sandbox
        synced = salt_run_cli.run("saltutil.sync_all")
        assert synced.returncode == 0, synced.stderr
        minion_returns(salt_cli.run("-L", "saltutil.sync_all", minion_tgt=FLEET))
        steps = {"synced": grains(salt_cli)}
        minion_returns(salt_cli.run("-L", "idlelock.audit", minion_tgt=FLEET))
        steps["audited"] = grains(salt_cli)
        minion_returns(salt_cli.run("-L", "state.apply", "idlelock", minion_tgt=FLEET))
        steps["applied"] = grains(salt_cli)
        # prod drifts: an admin group gets ClientAlive back to the 2009 recipe.
        config = sandboxes["report-prod"].config
        config.write_text(config.read_text() + MATCH_BLOCK)
        steps["drifted"] = grains(salt_cli)
        minion_returns(salt_cli.run("-L", "idlelock.audit", minion_tgt=FLEET))
        steps["drift audited"] = grains(salt_cli)
        yield {"grains": steps, "sandboxes": sandboxes}


def run_report(salt_run_cli, *args, tgt=FLEET, tgt_type="list", timeout=60):
    """``(exit code, rendered report)``: salt-run with idlelock's own outputter."""
    # The master waits the whole timeout for a minion that is down.
    result = salt_run_cli.run("--out=idlelock", "idlelock.report", tgt, *args,
                              f"tgt_type={tgt_type}", f"timeout={timeout}")
    return result.returncode, result.stdout


def test_grain_follows_the_rollout(fleet):
    steps = fleet["grains"]
    for minion in ENVS:
        synced = steps["synced"][minion]
        assert synced["compliant"] is None and "no verdict recorded yet" in synced["reason"]
    for minion, env in ENVS.items():
        audited, applied = steps["audited"][minion], steps["applied"][minion]
        assert (audited["environment"], audited["timeout"]) == (env, TIMEOUTS[env])
        assert audited["compliant"] is False
        assert "idle logout" in audited["failing"]  # the sandbox sshd has no ChannelTimeout
        assert applied["compliant"] is True, applied
        assert applied["source"] == "state.apply idlelock"
        assert applied["profile"] == {"dev": "none", "staging": "cis", "prod": "stig"}[env]
    # The grain reads the last verdict and never probes: the drift shows after
    # the next audit (or scheduled state run), not at the grains refresh.
    assert steps["drifted"]["report-prod"] == steps["applied"]["report-prod"]
    found = steps["drift audited"]
    assert found["report-prod"]["compliant"] is False, found["report-prod"]
    assert found["report-dev"]["compliant"] is True


def test_table_names_the_non_compliant_minion_and_exits_1(fleet, salt_run_cli):
    code, out = run_report(salt_run_cli)
    assert code == 1, out
    assert "3 hosts, 2 compliant, 1 non-compliant, 0 no answer" in out
    assert out.splitlines()[1] == "NOT COMPLIANT: 1 of 3 hosts fail"
    assert "NON-COMPLIANT:\n  prod (1):\n    report-prod\n" in out
    by_rule = out.split("FINDINGS BY RULE (most severe first):")[1].split("ENVIRONMENT")[0]
    assert "salt -L report-prod idlelock.get" in by_rule  # Match blocks: idlelock never edits them
    findings = out.split("FINDINGS PER HOST:")[1]
    assert "report-dev" not in findings and "report-staging" not in findings
    assert f"sshd ClientAliveInterval (Match Group {ADMINS})" in findings
    assert "idlelock:sshd:client_alive_count_max" in findings


def test_json_and_stig_rule_ids(fleet, salt_run_cli):
    code, out = run_report(salt_run_cli, "stig", "format=json")
    assert code == 1
    data = json.loads(out)
    assert data["profile"] == "stig"
    prod = data["hosts"]["report-prod"]
    rules = {f["check"]: f["rule"] for f in prod["findings"]}
    assert rules[f"sshd ClientAliveInterval (Match Group {ADMINS})"] == \
        "RHEL-08-010201 / RHEL-09-255100 / UBTU-22-255035"
    assert rules[f"sshd ClientAliveCountMax (Match Group {ADMINS})"] == \
        "RHEL-08-010200 / RHEL-09-255095 / UBTU-22-255030"
    # Each minion's /etc is the suite's baseline (tests/support/fleet.py): no TMOUT for
    # a login shell, whatever the host's /etc/profile.d holds; under stig every
    # minion fails that rule.
    assert data["counts"] == {"compliant": 0, "non-compliant": 3, "no answer": 0}
    assert data["environments"]["prod"]["non-compliant"] == ["report-prod"]


def test_junit_has_one_testcase_per_minion_and_check(fleet, salt_run_cli):
    code, out = run_report(salt_run_cli, "policy", "format=junit")
    assert code == 1
    root = ET.fromstring(out)
    cases = root.findall(".//testcase")
    failed = {(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None}
    assert failed == {("report-prod", f"sshd ClientAliveInterval (Match Group {ADMINS})"),
                      ("report-prod", f"sshd ClientAliveCountMax (Match Group {ADMINS})")}
    names = [(c.get("classname"), c.get("name")) for c in cases]
    assert len(names) == len(set(names))
    assert {m for m, _ in names} == set(ENVS)
    assert ("report-dev", "idle logout") in names
    assert root.get("failures") == "2" and int(root.get("tests")) == len(cases)
    assert {s.get("name") for s in root.findall("testsuite")} == set(ENVS.values())


class _Page(html.parser.HTMLParser):
    """External references; per environment row, the host names in each status cell;
    the ids of the host rows and the rule IDs of the rules table."""

    def __init__(self):
        super().__init__()
        self.external, self.envs, self.host_rows, self.rules = [], {}, [], []
        self._env, self._cell, self._table, self._code = None, None, None, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.external += [attrs[k] for k in ("src", "href") if attrs.get(k)
                          and not attrs[k].startswith("#")]
        if tag == "table":
            self._table = attrs.get("id")
        if tag == "tr" and self._table == "environments" and "data-env" in attrs:
            self._env = self.envs.setdefault(attrs["data-env"], {})
        if tag == "td" and self._env is not None:
            cell = attrs.get("class", "st-compliant").removeprefix("st-")
            self._cell = "no answer" if cell == "no-answer" else cell
            self._env.setdefault(self._cell, [])
        if tag == "a" and self._cell:
            self._env[self._cell].append(attrs["href"][len("#h-"):])
        if tag == "tr" and self._table == "hosts" and attrs.get("id"):
            self.host_rows.append(attrs["id"][len("h-"):])
        self._code = tag == "code" and self._table == "rules"

    def handle_endtag(self, tag):
        if tag == "tr":
            self._env, self._cell = None, None

    def handle_data(self, data):
        if self._code:
            self.rules.append(data)
            self._code = False


def test_html_is_self_contained_and_names_who_needs_attention(fleet, salt_run_cli):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "report.html"
    code, out = run_report(salt_run_cli, "policy", "format=html", f"path={path}", tgt="report-*",
                           tgt_type="glob", timeout=5)
    assert code == 1
    assert f"wrote {path}" in out
    page = _Page()
    page.feed(path.read_text())
    assert page.external == [], "the page must not load anything"
    # report-gone's environment is in the master's pillar cache (it ran once as dev).
    names = {env: {status: hosts for status, hosts in cells.items() if hosts}
             for env, cells in page.envs.items()}
    assert names == {"dev": {"no answer": [GONE], "compliant": ["report-dev"]},
                     "staging": {"compliant": ["report-staging"]},
                     "prod": {"non-compliant": ["report-prod"]}}
    assert page.host_rows[0] == "report-prod" and set(page.host_rows) == set(ENVS) | {GONE}
    assert page.rules == ["idlelock:sshd:client_alive_count_max",
                          "idlelock:sshd:client_alive_interval"]


def test_trend_keeps_each_run_on_the_master(fleet, salt_run_cli, salt_master):
    code, out = run_report(salt_run_cli, "policy", "format=json")
    before = json.loads(out)["trend"]
    code, out = run_report(salt_run_cli, "policy", "format=json")
    after = json.loads(out)["trend"]
    assert len(after) == min(len(before) + 1, 30) and after[:-1] == before[-len(after) + 1:]
    assert after[-1]["counts"] == {"compliant": 2, "non-compliant": 1, "no answer": 0}
    history = pathlib.Path(salt_master.config["cachedir"], "idlelock", "report-history.jsonl")
    assert json.loads(history.read_text().splitlines()[-1])["counts"] == after[-1]["counts"]


def test_csv_names_the_non_compliant_minion(fleet, salt_run_cli):
    code, out = run_report(salt_run_cli, "policy", "format=csv")
    assert code == 1
    rows = list(csv.DictReader(io.StringIO(out)))
    failing = {(r["host"], r["rule"]) for r in rows if r["status"] == "non-compliant"}
    assert failing == {("report-prod", "idlelock:sshd:client_alive_interval"),
                       ("report-prod", "idlelock:sshd:client_alive_count_max")}
    assert {r["host"] for r in rows} == set(ENVS)


def test_silent_minion_is_named(fleet, salt_run_cli):
    code, out = run_report(salt_run_cli, tgt="report-*", tgt_type="glob", timeout=5)
    assert code == 1
    assert "4 hosts, 2 compliant, 1 non-compliant, 1 no answer" in out
    assert f"NO ANSWER:\n  dev (1):\n    {GONE} (last seen never)\n" in out


def test_compliant_fleet_exits_0(fleet, salt_run_cli):
    code, out = run_report(salt_run_cli, tgt="report-dev,report-staging")
    assert code == 0, out
    assert "2 compliant, 0 non-compliant, 0 no answer" in out
