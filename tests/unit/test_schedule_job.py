"""The schedule job: its interval as given, its function, its returner, bad intervals."""

import pytest

import idlelock_policy as policy


def resolved(defaults, schedule):
    result, errors, _ = policy.resolve({"schedule": schedule}, defaults, (9, 2, 1))
    return result["schedule"], errors


def test_default_job_applies_idlelock_half_hourly(defaults):
    schedule, errors = resolved(defaults, {})
    assert not errors
    assert policy.schedule_job(schedule) == {
        "name": "idlelock",
        "function": "state.apply",
        "job_args": ["idlelock"],
        "minutes": 30,
        "splay": 120,
        "maxrunning": 1,
        "persist": True,
        "offline": False,
    }


@pytest.mark.parametrize(
    "given, units, seconds",
    [
        ({"seconds": 5}, {"seconds": 5}, 5),
        ({"hours": 2}, {"hours": 2}, 7200),
        ({"minutes": 1, "seconds": 30}, {"minutes": 1, "seconds": 30}, 90),
    ],
)
def test_a_given_interval_replaces_the_default_one(given, units, seconds, defaults):
    schedule, errors = resolved(defaults, given)
    assert not errors
    job = policy.schedule_job(schedule)
    assert {unit: job[unit] for unit in policy.SCHEDULE_UNITS if unit in job} == units
    assert policy.schedule_interval(schedule) == seconds


def test_a_zero_interval_is_refused_unless_disabled(defaults):
    _, errors = resolved(defaults, {"minutes": 0})
    assert errors == [
        "idlelock:schedule: an interval of 0 seconds is not accepted; expected "
        "seconds, minutes or hours adding up to at least 1 second"
    ]
    _, errors = resolved(defaults, {"minutes": 0, "enabled": False})
    assert not errors


def test_highstate_runs_state_highstate_without_arguments(defaults):
    schedule, _ = resolved(defaults, {"highstate": True})
    job = policy.schedule_job(schedule)
    assert job["function"] == "state.highstate"
    assert "job_args" not in job


@pytest.mark.parametrize(
    "returner, expected",
    [("", None), ("syslog", "syslog"), ("redis,syslog", ["redis", "syslog"])],
)
def test_returner_is_a_name_or_a_list(returner, expected, defaults):
    schedule, _ = resolved(defaults, {"returner": returner})
    assert policy.schedule_job(schedule).get("returner") == expected


def test_no_splay_means_no_splay_key(defaults):
    schedule, _ = resolved(defaults, {"splay": 0})
    assert "splay" not in policy.schedule_job(schedule, offline=True)
    assert policy.schedule_job(schedule, offline=True)["offline"] is True


def test_salt_ssh_has_no_minion_schedule_and_says_where_it_goes():
    assert policy.schedule_unavailable(salt_ssh=False) == ""
    reason = policy.schedule_unavailable(salt_ssh=True)
    assert reason.startswith("salt-ssh: no salt-minion runs on this host")
    assert "nothing was added" in reason and "salt-ssh '<target>' state.apply idlelock" in reason
