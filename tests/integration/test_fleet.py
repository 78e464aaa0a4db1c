"""
The fleet: one real salt-master and three real minions, one per environment.

The formula reaches the minions the documented way (``saltutil.sync_all`` from
the master's file_roots), each minion gets its environment's pillar through the
example ``pillar/top.sls``, and ``sshd -T`` on each minion's sandbox proves the
effective timeout.
"""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.fleet import minion_returns, sandboxed_minion
from tests.support.salt_call import states_by_id

pytestmark = pytest.mark.integration

TIMEOUTS = {"dev": 3600, "staging": 900, "prod": 600}  # pillar/idlelock/<env>.sls
# ClientAliveCountMax: staging is under profile cis, whose benchmark value is 3.
COUNT_MAX = {"dev": "1", "staging": "3", "prod": "1"}
MINIONS = {f"fleet-{env}": env for env in TIMEOUTS}
# What `salt '*'` means on a master with only this fleet: other modules share
# the master, and a stopped minion whose key stays accepted would stall '*'.
FLEET = "fleet-*"


@pytest.fixture(scope="module")
def fleet(salt_master, tmp_path_factory):
    """Three running minions: ``{minion id: its SshdSandbox}``."""
    factories, sandboxes = [], {}
    for minion_id, env in MINIONS.items():
        factory, sandbox = sandboxed_minion(
            salt_master, minion_id, env, tmp_path_factory.mktemp(minion_id)
        )
        factories.append(factory)
        sandboxes[minion_id] = sandbox
    # Each daemon takes seconds to start and to stop: do the three at once.
    with ThreadPoolExecutor() as pool:
        started = [pool.submit(factory.start) for factory in factories]
    try:
        for future in started:
            future.result()
        yield sandboxes
    finally:
        with ThreadPoolExecutor() as pool:
            for factory in factories:
                pool.submit(factory.terminate)


@pytest.fixture(scope="module")
def synced(fleet, salt_cli):
    """``salt 'fleet-*' saltutil.sync_all``: what each minion received."""
    return minion_returns(salt_cli.run("saltutil.sync_all", minion_tgt=FLEET))


@pytest.fixture(scope="module")
def pristine(synced, fleet):
    """Each sandbox before idlelock: its files (bytes, mode, owner) and ``sshd -T``."""
    return {minion: (sandbox_state(sandbox), sandbox.effective())
            for minion, sandbox in fleet.items()}


@pytest.fixture(scope="module")
def first_apply(pristine, salt_cli):
    """The returns of the first ``salt 'fleet-*' state.apply idlelock``."""
    return minion_returns(salt_cli.run("state.apply", "idlelock", minion_tgt=FLEET))


def sandbox_files(sandboxes):
    """Bytes and mtime of every file under each sandbox's etc/ssh."""
    return {
        path: (path.read_bytes(), path.stat().st_mtime_ns)
        for sandbox in sandboxes.values()
        for path in sorted(sandbox.etc_ssh.rglob("*"))
        if path.is_file()
    }


def sandbox_state(sandbox):
    """Every entry under one sandbox's etc/ssh: a file's bytes, mode and owner; a directory."""
    found = {}
    for path in sorted(sandbox.etc_ssh.rglob("*")):
        info = path.lstat()
        found[str(path)] = (path.read_bytes() if path.is_file() else "dir",
                            info.st_mode, info.st_uid, info.st_gid)
    return found


def changed_states(returns):
    """``{minion: [state ids that reported changes]}`` for every minion."""
    return {
        minion: sorted(sid for sid, res in states_by_id(ret).items() if res["changes"])
        for minion, ret in returns.items()
    }


def assert_effective(sandbox, timeout, count_max="1"):
    effective = sandbox.effective()
    assert effective["channeltimeout"] == f"session:*={timeout}"
    assert effective["unusedconnectiontimeout"] == str(timeout)
    assert effective["clientaliveinterval"] == str(min(timeout, 300))
    assert effective["clientalivecountmax"] == count_max


def test_sync_all_brings_the_extension(synced):
    assert sorted(synced) == sorted(MINIONS)
    for ret in synced.values():
        assert "modules.idlelock" in ret["modules"]
        assert "states.idlelock" in ret["states"]
        assert "utils.idlelock_policy" in ret["utils"]


def test_pillar_top_targets_minion_ids_not_grains(salt_run_cli):
    # The master compiles pillar for minions it has never seen: an id outside
    # every pattern gets the baseline, an id of each environment its policy,
    # and a grain that claims another environment changes nothing.
    unknown = salt_run_cli.run("pillar.show_pillar", "no-such-minion", "env=prod")
    assert unknown.returncode == 0, unknown.stderr
    assert unknown.data == {"idlelock": {"environment": "default"}}
    for env, timeout in TIMEOUTS.items():
        shown = salt_run_cli.run("pillar.show_pillar", f"web01-{env}", "env=dev")
        assert shown.data["idlelock"]["environment"] == env
        assert shown.data["idlelock"]["timeout"] == timeout


def test_each_environment_gets_its_own_timeout(first_apply, fleet, salt_cli):
    returns = first_apply
    assert sorted(returns) == sorted(MINIONS)
    for minion, ret in returns.items():
        results = states_by_id(ret)
        assert all(res["result"] is True for res in results.values()), results
        assert results["idlelock-sshd"]["changes"]
        assert_effective(fleet[minion], TIMEOUTS[MINIONS[minion]], COUNT_MAX[MINIONS[minion]])
    # Pillar is masked in Salt 3008 output; the resolved policy is not.
    policies = minion_returns(salt_cli.run("idlelock.policy", minion_tgt=FLEET))
    assert {m: p["environment"] for m, p in policies.items()} == MINIONS
    prod_only = minion_returns(salt_cli.run("-G", "idlelock.policy", minion_tgt="env:prod"))
    assert list(prod_only) == ["fleet-prod"]
    assert prod_only["fleet-prod"]["profile"] == "stig"


def test_rollout_installs_the_default_schedule(first_apply, salt_cli):
    returns = first_apply
    for ret in returns.values():
        assert states_by_id(ret)["idlelock-schedule"]["changes"] == {"idlelock": "added"}
    schedules = minion_returns(
        salt_cli.run("schedule.list", "return_yaml=False", minion_tgt=FLEET)
    )
    for schedule in schedules.values():
        job = schedule["idlelock"]
        assert job["function"] == "state.apply"
        assert job["args"] == ["idlelock"]
        assert (job["minutes"], job["splay"], job["maxrunning"]) == (30, 120, 1)
        assert "seconds" not in job


def test_second_run_reports_no_changes_and_writes_nothing(first_apply, fleet, salt_cli):
    before = sandbox_files(fleet)
    returns = minion_returns(salt_cli.run("state.apply", "idlelock", minion_tgt=FLEET))
    assert changed_states(returns) == {minion: [] for minion in MINIONS}
    assert sandbox_files(fleet) == before


def test_prod_pillar_change_reaches_prod_only(first_apply, fleet, salt_cli, checkout):
    prod_file = checkout / "pillar" / "idlelock" / "prod.sls"
    original = prod_file.read_text()
    prod_file.write_text(original.replace("timeout: 600", "timeout: 300"))
    try:
        before = sandbox_files(fleet)
        predicted = minion_returns(
            salt_cli.run("state.apply", "idlelock", "test=True", minion_tgt=FLEET)
        )
        assert changed_states(predicted) == {
            "fleet-dev": [], "fleet-staging": [], "fleet-prod": ["idlelock-sshd"]
        }
        prod_sshd = states_by_id(predicted["fleet-prod"])["idlelock-sshd"]
        assert prod_sshd["result"] is None
        assert prod_sshd["changes"]["ChannelTimeout"] == {
            "old": "session:*=600", "new": "session:*=300"
        }
        assert "session:*=300" in prod_sshd["changes"]["diff"]
        assert sandbox_files(fleet) == before, "test=True wrote a file"

        applied = minion_returns(salt_cli.run("state.apply", "idlelock", minion_tgt=FLEET))
        assert changed_states(applied) == changed_states(predicted)
        assert_effective(fleet["fleet-prod"], 300)
        for minion in ("fleet-dev", "fleet-staging"):
            assert_effective(fleet[minion], TIMEOUTS[MINIONS[minion]], COUNT_MAX[MINIONS[minion]])
    finally:
        prod_file.write_text(original)


def test_clean_removes_idlelock_from_one_environment(first_apply, pristine, fleet, salt_cli,
                                                     salt_run_cli):
    # Every environment compliant first (an earlier test left prod at a stricter value).
    # queue=True: the schedule's own state.apply may be running on a minion right now.
    minion_returns(salt_cli.run("state.apply", "idlelock", "queue=True", minion_tgt=FLEET))
    dev = "G@env:dev and fleet-*"
    before = sandbox_files(fleet)
    predicted = minion_returns(
        salt_cli.run("-C", "state.apply", "idlelock.clean", "test=True", "queue=True",
                     minion_tgt=dev))
    assert sandbox_files(fleet) == before, "test=True wrote a file"
    states = states_by_id(predicted["fleet-dev"])
    assert states["idlelock-sshd-clean"]["result"] is None
    # Salt's schedule.absent predicts in its comment only.
    assert "would be deleted" in str(states["idlelock-schedule-clean"]["comment"])
    assert changed_states(predicted) == {"fleet-dev": ["idlelock-sshd-clean"]}

    cleaned = minion_returns(
        salt_cli.run("-C", "state.apply", "idlelock.clean", "queue=True", minion_tgt=dev))

    assert changed_states(cleaned) == {
        "fleet-dev": ["idlelock-schedule-clean", "idlelock-sshd-clean"]}
    results = states_by_id(cleaned["fleet-dev"])
    assert all(res["result"] is True for res in results.values()), results
    assert results["idlelock-schedule-clean"]["changes"] == {"idlelock": "removed"}
    files, effective = pristine["fleet-dev"]
    assert sandbox_state(fleet["fleet-dev"]) == files, "dev must be byte for byte as before"
    assert fleet["fleet-dev"].effective() == effective
    for minion in ("fleet-staging", "fleet-prod"):
        assert_effective(fleet[minion], TIMEOUTS[MINIONS[minion]], COUNT_MAX[MINIONS[minion]])
    schedules = minion_returns(
        salt_cli.run("schedule.list", "return_yaml=False", minion_tgt=FLEET))
    assert {minion: "idlelock" in (jobs or {}) for minion, jobs in schedules.items()} == {
        "fleet-dev": False, "fleet-staging": True, "fleet-prod": True}

    again = minion_returns(
        salt_cli.run("-C", "state.apply", "idlelock.clean", "queue=True", minion_tgt=dev))
    assert changed_states(again) == {"fleet-dev": []}

    minion_returns(salt_cli.run("saltutil.refresh_grains", minion_tgt=FLEET))
    verdicts = minion_returns(salt_cli.run("grains.get", "idlelock", minion_tgt=FLEET))
    assert {m: (v["compliant"], v["source"]) for m, v in verdicts.items()} == {
        "fleet-dev": (False, "idlelock.remove"),
        "fleet-staging": (True, "state.apply idlelock"),
        "fleet-prod": (True, "state.apply idlelock")}

    # The report shows it: dev no longer closes idle sessions, the others still do.
    synced = salt_run_cli.run("saltutil.sync_all")  # the master's runner and outputter
    assert synced.returncode == 0, synced.stderr
    result = salt_run_cli.run("--out=idlelock", "idlelock.report", FLEET, "format=json",
                              "timeout=60")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {m: e["status"] for m, e in report["hosts"].items()} == {
        "fleet-dev": "non-compliant", "fleet-staging": "compliant", "fleet-prod": "compliant"}
    assert report["environments"]["dev"]["non-compliant"] == ["fleet-dev"]
