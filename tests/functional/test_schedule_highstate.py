"""
``schedule:highstate: true`` through the real ``salt-call`` (masterless, so the
job is written offline to ``minion.d/_schedule.conf``, which a minion daemon
reads when it starts): the job runs ``state.highstate`` with no arguments, and
that highstate (salt/top.sls) enforces the policy, as ``sshd -T`` shows.
"""

import pytest
import salt.utils.yaml

from tests.functional.test_formula import sandbox  # noqa: F401 - the same sshd tree
from tests.functional.test_sshd_scenarios import effective
from tests.support.salt_call import LocalMinion, states_by_id


@pytest.fixture
def config(sandbox):
    return sandbox / "etc-ssh" / "sshd_config"


def persisted(minion):
    path = minion.dir / "minion.d" / "_schedule.conf"
    return (salt.utils.yaml.safe_load(path.read_text()) or {}).get("schedule") or {}


@pytest.mark.parametrize("highstate, function, args", [
    (True, "state.highstate", None),
    (False, "state.apply", ["idlelock"]),
])
def test_schedule_job_function(tmp_path, config, highstate, function, args):
    pillar = {"timeout": 77, "sshd": {"config": str(config), "manage_service": False},
              "shell": {"enabled": False},
              "schedule": {"highstate": highstate, "minutes": 5, "splay": 0}}
    minion = LocalMinion(tmp_path / "minion", pillar)

    ret = states_by_id(minion.call("state.apply", "idlelock.schedule"))
    assert ret["idlelock-schedule"]["result"] is True, ret

    job = persisted(minion)["idlelock"]
    assert job["function"] == function
    assert job.get("args") == args
    assert job["minutes"] == 5 and job["maxrunning"] == 1
    if highstate:
        # What the job runs: the highstate of salt/top.sls enforces idlelock.
        result = states_by_id(minion.call(function))
        assert result["idlelock-sshd"]["result"] is True
        assert effective(str(config))["channeltimeout"] == "session:*=77"
