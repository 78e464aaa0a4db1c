"""
Scheduled enforcement on a live salt-minion daemon: ``idlelock.schedule`` adds
a job that re-applies the policy, so that drift heals itself; disabling it
removes the job, from the persisted ``minion.d/_schedule.conf`` too.
"""

import json
import pathlib
import time

import pytest
import salt.utils.yaml

from tests.support.fleet import minion_returns, sandboxed_minion
from tests.support.salt_call import states_by_id
from tests.support.sshd_sandbox import wait_until

pytestmark = pytest.mark.integration

MINION = "sched-dev"  # pillar/top.sls: "*-dev" gets the dev policy
INTERVAL = 3  # seconds between scheduled runs
HEALED = "session:*=3600"  # ChannelTimeout of the dev environment
DRIFTED = "session:*=99"


@pytest.fixture(scope="module")
def minion(salt_master, salt_cli, tmp_path_factory):
    """A dev minion whose schedule runs every few seconds."""
    tmp = tmp_path_factory.mktemp(MINION)
    returns = tmp / "returns.jsonl"
    factory, sandbox = sandboxed_minion(
        salt_master,
        MINION,
        "dev",
        tmp,
        idlelock={"schedule": {"seconds": INTERVAL, "splay": 0}},
        cache_jobs=True,  # the minion's own job cache
        **{"rawfile_json.filename": str(returns)},
    )
    with factory.started():
        minion_returns(salt_cli.run("saltutil.sync_all", minion_tgt=MINION))
        yield factory, sandbox, returns


def persisted_jobs(factory):
    """The jobs that ``minion.d/_schedule.conf`` holds for the next minion start."""
    path = pathlib.Path(factory.config["conf_file"]).parent / "minion.d" / "_schedule.conf"
    if not path.exists():
        return {}
    return (salt.utils.yaml.safe_load(path.read_text()) or {}).get("schedule") or {}


def drift(sandbox):
    """Change the effective ChannelTimeout by hand, as an admin might."""
    sandbox.write_dropin("00-idlelock.conf", f"ChannelTimeout {DRIFTED}\n")
    assert sandbox.effective()["channeltimeout"] == DRIFTED


def channel_timeout(sandbox):
    return sandbox.effective().get("channeltimeout")


def test_schedule_sls_adds_a_persistent_job(minion, salt_cli):
    factory, _, _ = minion
    ret = minion_returns(salt_cli.run("state.apply", "idlelock.schedule", minion_tgt=MINION))
    assert states_by_id(ret)["idlelock-schedule"]["changes"] == {"idlelock": "added"}
    listed = minion_returns(
        salt_cli.run("schedule.list", "return_yaml=False", minion_tgt=MINION)
    )
    job = listed["idlelock"]
    assert job["function"] == "state.apply"
    assert job["args"] == ["idlelock"]
    assert job["seconds"] == INTERVAL
    assert job["maxrunning"] == 1
    assert "returner" not in job
    assert "minutes" not in job and "splay" not in job
    assert persisted_jobs(factory)["idlelock"]["seconds"] == INTERVAL


def test_scheduled_run_heals_drift(minion):
    _, sandbox, _ = minion
    # The sandbox starts unmanaged: the first scheduled run enforces the policy.
    wait_until(lambda: channel_timeout(sandbox) == HEALED, 3 * INTERVAL + 5,
               interval=0.2, what="the first scheduled run")
    drift(sandbox)
    # How soon is the schedule's business (its interval); the promise is only that a later
    # run heals it. Timings belong in bench/, not here.
    wait_until(lambda: channel_timeout(sandbox) == HEALED, 3 * INTERVAL,
               interval=0.2, what="the scheduled run to heal the drift")


def test_scheduled_returns_reach_the_job_caches(minion, salt_cli, salt_run_cli):
    factory, _, _ = minion
    # The minion's own job cache (cache_jobs: True) holds every return.
    cache = pathlib.Path(factory.config["cachedir"]) / "minion_jobs"
    for jid in sorted((path.name for path in cache.iterdir()), reverse=True):
        cached = minion_returns(
            salt_cli.run("saltutil.find_cached_job", jid, minion_tgt=MINION)
        )
        if cached.get("schedule") == "idlelock":
            break
    else:
        pytest.fail("no scheduled return in the minion job cache")
    assert cached["fun"] == "state.apply" and cached["fun_args"] == ["idlelock"]
    assert all(state["result"] for state in cached["return"].values())
    # With no returner, the master's job cache lists the scheduled runs as well
    # (the test itself only ever sent state.apply idlelock.schedule).
    listed = salt_run_cli.run(
        "jobs.list_jobs", "search_function=state.apply", f"search_target={MINION}"
    )
    assert listed.returncode == 0, listed.stderr
    scheduled = [jid for jid, job in listed.data.items() if job["Arguments"] == ["idlelock"]]
    assert scheduled, listed.data
    looked_up = salt_run_cli.run("jobs.lookup_jid", scheduled[0])
    assert looked_up.returncode == 0, looked_up.stderr
    assert all(state["result"] for state in looked_up.data[MINION].values())


def test_bad_input_fails_and_leaves_the_job_alone(minion, salt_cli):
    factory, _, _ = minion

    def job():
        listed = salt_cli.run("schedule.list", "return_yaml=False", minion_tgt=MINION)
        return minion_returns(listed)["idlelock"]

    before, persisted = job(), persisted_jobs(factory)
    bad = 'pillar={"idlelock": {"schedule": {"hours": -1}}}'
    result = salt_cli.run("state.apply", "idlelock.schedule", bad, "queue=True",
                          minion_tgt=MINION)
    schedule_state = states_by_id(result.data)["idlelock-schedule"]
    assert result.returncode != 0
    assert schedule_state["result"] is False and not schedule_state["changes"]
    assert "idlelock:schedule:hours: -1 is not accepted" in schedule_state["comment"]
    assert job() == before
    assert persisted_jobs(factory) == persisted


def test_returner_from_pillar_gets_the_scheduled_returns(minion, salt_cli, checkout):
    _, _, returns = minion
    dev_pillar = checkout / "pillar" / "idlelock" / "dev.sls"
    original = dev_pillar.read_text()
    dev_pillar.write_text(original + "  schedule:\n    returner: rawfile_json\n")

    def returned():
        if not returns.exists():
            return False
        lines = [json.loads(line) for line in returns.read_text().splitlines()]
        return any(ret.get("schedule") == "idlelock" and ret["fun"] == "state.apply"
                   for ret in lines)

    try:
        # The next scheduled run reconfigures its own job; the one after uses it.
        wait_until(returned, 3 * INTERVAL + 5, interval=0.2,
                   what="a scheduled return in the rawfile_json returner's file")
        listed = minion_returns(
            salt_cli.run("schedule.list", "return_yaml=False", minion_tgt=MINION)
        )
        assert listed["idlelock"]["returner"] == "rawfile_json"
    finally:
        dev_pillar.write_text(original)


def test_disabling_removes_the_job_everywhere(minion, salt_cli):
    factory, sandbox, _ = minion
    disabled = 'pillar={"idlelock": {"schedule": {"enabled": false}}}'
    ret = minion_returns(salt_cli.run(
        "state.apply", "idlelock.schedule", disabled, "queue=True", minion_tgt=MINION
    ))
    schedule_state = states_by_id(ret)["idlelock-schedule"]
    assert schedule_state["result"] is True
    assert schedule_state["changes"] == {"idlelock": "removed"}
    listed = minion_returns(
        salt_cli.run("schedule.list", "return_yaml=False", minion_tgt=MINION)
    )
    assert "idlelock" not in listed
    assert "idlelock" not in persisted_jobs(factory)
    # Nothing heals a new drift any more.
    drift(sandbox)
    time.sleep(3 * INTERVAL)
    assert channel_timeout(sandbox) == DRIFTED
