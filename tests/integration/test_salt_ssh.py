"""
salt-ssh as a new user runs it: the real ``salt-ssh`` against a real sshd on
127.0.0.1, the formula on the master's file_roots, the target being this
machine. Everything runs in one private mount namespace with an overlay over
all of /etc and an empty /run (tests/support/private_etc.py), so what the
formula writes lands in the overlay; the host's /etc and services are never
touched.

The same pillar reaches ``salt-ssh`` and a minion (``salt-call`` with the same
file_roots and pillar, on the same /etc): ``idlelock.policy``, ``idlelock.audit``
and ``state.apply idlelock`` must agree. The pillar sets what a silently
dropped pillar would betray: ``timeout: 300`` against a site drop-in with
``ChannelTimeout session:*=600``, and ``manage_service: false`` (which decides
whether the service states are included). The report reaches salt-ssh hosts
from the roster and names the one that does not answer.
"""

import json
import pathlib

import pytest
import yaml

from tests.support.private_etc import run_with_etc
from tests.support.salt_call import LocalMinion, states_by_id
from tests.support.salt_ssh import SaltSsh

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not pathlib.Path("/usr/sbin/sshd").exists(), reason="openssh-server missing"),
]

HOST, GONE = "web-prod", "gone-prod"
PILLAR = {"environment": "prod", "timeout": 300, "profile": "none",
          "sshd": {"manage_service": False}}
SITE_DROPIN = "/etc/ssh/sshd_config.d/50-site.conf"


def _pillar_roots(directory):
    """The master's pillar: the repository's layout, matched on the roster id."""
    (directory / "idlelock").mkdir(parents=True)
    (directory / "top.sls").write_text("base:\n  '*-prod':\n    - idlelock.prod\n")
    (directory / "idlelock" / "prod.sls").write_text(yaml.safe_dump({"idlelock": PILLAR}))
    return directory


def timed(call, *args):
    """``(0, call(*args), 0)``, shaped like :meth:`SaltSsh.run`."""
    return 0, call(*args), 0


def _effective():
    import subprocess  # pylint: disable=import-outside-toplevel

    out = subprocess.run(["/usr/sbin/sshd", "-T"], capture_output=True, text=True, timeout=60,
                         check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


@pytest.fixture(scope="module")
def run(checkout, tmp_path_factory):
    """Every step, run once inside the namespace: ``{step: (exit code, output, seconds)}``."""
    base = tmp_path_factory.mktemp("salt-ssh")
    pillar = _pillar_roots(base / "pillar")
    minion = LocalMinion(base / "minion", PILLAR)

    def body():
        pathlib.Path(SITE_DROPIN).write_text("ChannelTimeout session:*=600\n")
        ssh = SaltSsh(base / "salt-ssh", checkout, pillar, {HOST: {}, GONE: {}})
        ssh.start()
        steps = {}
        try:
            steps["sync"] = ssh.run("salt-run", "saltutil.sync_all")
            for fun in ("idlelock.policy", "idlelock.audit"):
                steps[f"ssh {fun}"] = ssh.run("salt-ssh", HOST, fun)
                steps[f"minion {fun}"] = timed(minion.call, fun)
            steps["ssh apply"] = ssh.run("salt-ssh", HOST, "state.apply", "idlelock")
            steps["effective"] = (0, _effective(), 0)
            steps["ssh get"] = ssh.run("salt-ssh", HOST, "idlelock.get")
            steps["ssh audit after"] = ssh.run("salt-ssh", HOST, "idlelock.audit")
            steps["minion audit after"] = timed(minion.call, "idlelock.audit")
            steps["ssh apply again"] = ssh.run("salt-ssh", HOST, "state.apply", "idlelock")
            steps["minion apply"] = timed(minion.call, "state.apply", "idlelock")
            # What the README's master schedule runs: the ssh.cmd runner.
            steps["master runner apply"] = ssh.run("salt-run", "ssh.cmd", HOST, "state.apply",
                                                   '["idlelock"]')
            report = ("salt-run", "idlelock.report", "ssh=True", "format=json", "timeout=30")
            steps["report"] = ssh.run(*report, check=False)
            ssh.write_roster(down=(GONE,))
            steps["report, one host down"] = ssh.run(*report, check=False)
        finally:
            ssh.stop()
        return steps

    return run_with_etc(base / "etc-upper", body, timeout=1500, private_run=True)


def only(step):
    code, data, _ = step
    assert code == 0, data
    return data[HOST] if isinstance(data, dict) and HOST in data else data


def test_the_wrapper_is_synced_to_the_master(run):
    assert "wrapper.idlelock" in only(run["sync"])["wrapper"]


def test_policy_sees_the_same_pillar_as_a_minion(run):
    ssh, minion = only(run["ssh idlelock.policy"]), run["minion idlelock.policy"][1]
    assert (ssh["timeout"], ssh["environment"], ssh["sshd"]["manage_service"]) == (300, "prod", False)
    assert ssh["schedule"]["unavailable"].startswith("salt-ssh: no salt-minion runs on this host")
    assert minion["schedule"]["unavailable"] == ""
    for policy in (ssh, minion):
        policy.pop("schedule")
    assert ssh == minion


def test_audit_judges_against_the_pillar_timeout(run):
    ssh, minion = only(run["ssh idlelock.audit"]), run["minion idlelock.audit"][1]
    assert ssh["compliant"] is False and ssh["timeout"] == 300
    idle = next(f for f in ssh["findings"] if f["check"] == "idle logout")
    assert "ChannelTimeout closes idle sessions after 600 s, more than 300" in idle["actual"]
    assert ssh == minion


def test_apply_enforces_the_pillar_and_says_the_schedule_needs_a_minion(run):
    states = states_by_id(only(run["ssh apply"]))
    # manage_service: false reached map.jinja: no service state is included.
    assert set(states) == {"idlelock-sshd", "idlelock-shell", "idlelock-schedule",
                           "idlelock-verdict"}
    assert all(state["result"] is True for state in states.values()), states
    assert states["idlelock-sshd"]["changes"]["ChannelTimeout"]["new"] == "session:*=300"
    schedule = states["idlelock-schedule"]
    assert schedule["changes"] == {}
    assert "no salt-minion runs on this host" in schedule["comment"]
    assert "salt-ssh '<target>' state.apply idlelock" in schedule["comment"]
    effective = run["effective"][1]
    assert (effective["channeltimeout"], effective["clientaliveinterval"]) == ("session:*=300", "300")


def test_get_and_audit_after_the_apply(run):
    get = only(run["ssh get"])
    assert get["sshd"]["ChannelTimeout"] == {
        "value": "session:*=300", "source": "/etc/ssh/sshd_config.d/00-idlelock.conf:4"}
    ssh = only(run["ssh audit after"])
    assert ssh["compliant"] is True, ssh["findings"]
    assert ssh["mechanisms"]["ChannelTimeout"] == 300 and ssh["mechanisms"]["TMOUT"] == 300
    assert ssh == run["minion audit after"][1]


def test_second_apply_changes_nothing_and_a_minion_agrees(run):
    states = states_by_id(only(run["ssh apply again"]))
    assert all(s["result"] is True and not s["changes"] for s in states.values()), states
    # The minion finds sshd and the shells as salt-ssh left them; unlike the
    # salt-ssh host, it keeps a schedule.
    states = states_by_id(only(run["master runner apply"])["return"])  # the raw salt-ssh return
    assert all(s["result"] is True and not s["changes"] for s in states.values()), states
    minion = states_by_id(run["minion apply"][1])
    assert all(s["result"] is True for s in minion.values()), minion
    assert not minion["idlelock-sshd"]["changes"] and not minion["idlelock-shell"]["changes"]
    assert minion["idlelock-schedule"]["changes"] == {"idlelock": "added"}


def report(step):
    code, data, _ = step
    return code, json.loads(data["report"])


def test_report_lists_salt_ssh_hosts_and_names_the_silent_one(run):
    code, first = report(run["report"])
    assert code == 0, first["hosts"]
    assert first["target"] == "salt-ssh glob *"
    assert {h: (e["status"], e["transport"]) for h, e in first["hosts"].items()} == {
        HOST: ("compliant", "salt-ssh"), GONE: ("compliant", "salt-ssh")}
    code, second = report(run["report, one host down"])
    assert code == 1
    assert second["hosts"][HOST]["status"] == "compliant"
    gone = second["hosts"][GONE]
    # Its environment and when it last answered come from the earlier run.
    assert (gone["status"], gone["environment"]) == ("no answer", "prod")
    assert gone["last_seen"] == first["generated"]
    assert second["environments"]["prod"]["no answer"] == [GONE]
    assert [p["counts"]["no answer"] for p in second["trend"]] == [0, 1]

