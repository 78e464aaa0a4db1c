"""
Pending reload, pure: the pending_reload scenario folder through ``reload_status``,
what sshd consults to load a tree, and what the audit, the state and the recorded
verdict (the grain) say.
"""

import fnmatch

import pytest

import idlelock_audit
import idlelock_facts
import idlelock_sshd
import idlelock_verdict
from tests.support import scenarios


@pytest.mark.parametrize("scenario", scenarios.params("pending_reload"))
def test_scenario(scenario):
    status = idlelock_sshd.reload_status(scenario["config"], scenario["pidfile"],
                                         scenario["listener"], scenario["changed"])
    want = scenario["expect"]
    assert status["pending"] is want["pending"], status
    # The record the audit and the grain show: the PID file it judged, and the
    # listener's PID once the PID file names a running sshd.
    assert status["pidfile"] == scenario["pidfile"]
    assert status.get("pid") == want.get("pid")
    if "summary" in want:
        assert status["summary"] == want["summary"]
    assert want.get("summary_has", "") in status["summary"]
    if "changed" in want:
        assert [entry["path"] for entry in status["changed"]] == want["changed"]


def tree(files):
    return idlelock_sshd.walk("/etc/ssh/sshd_config", files.get,
                              lambda pattern: sorted(fnmatch.filter(files, pattern)))


def test_consulted_paths_are_every_file_read_and_every_include_directory():
    files = {
        "/etc/ssh/sshd_config": "Include sshd_config.d/*.conf\nInclude /etc/ssh/one.conf\n",
        "/etc/ssh/sshd_config.d/10-a.conf": "Include /srv/ssh/*/x.conf\n",
        "/srv/ssh/deep/x.conf": "MaxStartups 9\n",
        "/etc/ssh/one.conf": "LoginGraceTime 9\n",
    }

    paths = idlelock_sshd.consulted_paths(tree(files))

    assert paths == [
        "/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/10-a.conf", "/srv/ssh/deep/x.conf",
        "/etc/ssh/one.conf",
        # A relative Include resolves against /etc/ssh; a glob in a directory part
        # is watched through the directories it matched.
        "/etc/ssh/sshd_config.d", "/srv/ssh", "/srv/ssh/deep", "/etc/ssh",
    ]


PENDING = idlelock_sshd.reload_status(
    "/etc/ssh/sshd_config", "/run/sshd.pid",
    {"pid": 812, "written": 2_000_000_000, "alive": True, "exe": "/usr/sbin/sshd",
     "argv": ["/usr/sbin/sshd", "-D"]},
    {"/etc/ssh/sshd_config.d/00-idlelock.conf": 3_000_000_000})


def test_the_audit_fails_a_pending_reload_naming_files_and_times():
    result = idlelock_audit.judge({"reload": PENDING}, "policy", {}, 600)

    (finding,) = result["findings"]
    assert result["compliant"] is False
    assert finding["check"] == "sshd reload" and finding["severity"] == "high"
    assert finding["source"] == "/etc/ssh/sshd_config.d/00-idlelock.conf"
    assert finding["actual"] == PENDING["summary"]
    assert "1970-01-01T00:00:02.000Z" in finding["actual"]
    assert "1970-01-01T00:00:03.000Z" in finding["actual"]


@pytest.mark.parametrize("pending,severity,compliant", [(False, None, True), (None, "low", True)])
def test_the_audit_passes_a_loaded_listener_and_only_informs_when_it_cannot_tell(
        pending, severity, compliant):
    status = dict(PENDING, pending=pending, summary="x")

    result = idlelock_audit.judge({"reload": status}, "policy", {}, 600)

    assert [f["severity"] for f in result["findings"]] == ([severity] if severity else [])
    assert result["compliant"] is compliant
    assert ("sshd reload" in result["passed"]) is (pending is False)


def test_no_reload_fact_off_the_running_system():
    assert idlelock_facts.reload_facts({"root": "/mnt/image"}, None, {}) is None
    assert idlelock_audit.judge({"reload": None}, "policy", {}, 600)["findings"] == []


@pytest.mark.parametrize("manage_service,says", [
    (True, "the sshd service reload that watches this state loads them"),
    (False, "sshd:manage_service is false, so idlelock does not reload sshd"),
])
def test_the_state_names_the_pending_reload(manage_service, says):
    note, warning = idlelock_sshd.reload_note(PENDING, manage_service)

    assert note.startswith("; pending reload: the running sshd (PID 812)") and says in note
    assert (warning is None) is manage_service
    assert idlelock_sshd.reload_note(dict(PENDING, pending=False), manage_service) == ("", None)
    assert idlelock_sshd.reload_note(None, manage_service) == ("", None)


@pytest.mark.parametrize("manage_service", [True, False])
def test_the_state_says_when_idlelock_cannot_tell(manage_service):
    """PidFile none: no reload helps, so the note and the warning are the summary alone."""
    status = idlelock_sshd.reload_status("/etc/ssh/sshd_config", "none", None, {})

    note, warning = idlelock_sshd.reload_note(status, manage_service)

    says = "PidFile none: idlelock cannot tell whether the running sshd loaded the current files"
    assert (note, warning) == (f"; {says}", says)


def test_a_profile_can_cite_its_own_rule_for_a_pending_reload():
    result = idlelock_audit.judge({"reload": PENDING}, "acme", {"rules": {"reload": ["ACME-9"]}},
                                  600)

    assert [f["rule"] for f in result["findings"]] == ["ACME-9"]


POLICY = {"profile": "cis", "timeout": 600, "environment": "prod"}


@pytest.mark.parametrize("reload,compliant", [
    (PENDING, False), (dict(PENDING, pending=False), True),
    (dict(PENDING, pending=None), True), (None, True)])
def test_the_recorded_verdict_of_a_state_run_names_a_pending_reload(reload, compliant):
    """What the grain reads after state.apply: every state succeeded, the daemon is behind."""
    verdict = idlelock_verdict.from_states({"idlelock-sshd": {"result": True}}, POLICY, reload)

    assert verdict["compliant"] is compliant
    assert ("pending_reload" in verdict) is not compliant
    if not compliant:
        assert verdict["failing"] == ["sshd reload"]
        assert verdict["pending_reload"] == PENDING["summary"]
        assert "/etc/ssh/sshd_config.d/00-idlelock.conf" in verdict["pending_reload"]


def test_the_recorded_verdict_of_an_audit_names_a_pending_reload():
    result = idlelock_audit.judge({"reload": PENDING}, "policy", {}, 600)

    verdict = idlelock_verdict.from_audit(dict(result, profile="policy"), POLICY)

    assert verdict["compliant"] is False and verdict["failing"] == ["sshd reload"]
    assert verdict["pending_reload"] == PENDING["summary"]
    loaded = idlelock_verdict.from_audit(
        idlelock_audit.judge({"reload": dict(PENDING, pending=False)}, "policy", {}, 600), POLICY)
    assert loaded["compliant"] is True and "pending_reload" not in loaded
