"""
What the audit judges against, and the per-host timeouts it reports: the
``policy`` profile as a resolved pillar makes it, an unknown profile's error,
and the ``mechanisms`` of the fleet report's host details (systemd time spans
in seconds, the shortest interactive ChannelTimeout).
"""

import pytest

import idlelock_audit
import idlelock_policy

BASE = {"timeout_max": 600, "client_alive_interval_min": 1, "client_alive_interval_max": 300,
        "client_alive_count_max_min": 1, "client_alive_count_max_max": 1,
        "tmout_min": 1, "tmout_max": 600, "readonly": True, "exported": True}


def policy_of(pillar, defaults):
    policy, errors, _ = idlelock_policy.resolve(pillar, defaults, (9, 2))
    assert errors == []
    return policy


@pytest.mark.parametrize("pillar,supported,want", [
    # The shipped defaults: ranges up to the policy's own values, TMOUT exported.
    ({"timeout": 600}, False, BASE),
    # logind's value counts only where this host's logind honours it...
    ({"timeout": 600}, True, BASE),
    ({"timeout": 600, "logind": {"enabled": True, "stop_idle_session_sec": 300}}, False, BASE),
    ({"timeout": 600, "logind": {"enabled": True, "stop_idle_session_sec": 300}}, True,
     dict(BASE, stop_idle_session_sec_max=300)),
    # 0 and none mean "off" and must stay off; 1 is a ceiling like any other value.
    ({"timeout": 600, "sshd": {"client_alive_interval": 0, "client_alive_count_max": "none"},
      "shell": {"tmout": 1}}, False,
     dict(BASE, client_alive_interval_min=0, client_alive_interval_max=0,
          client_alive_count_max_min=0, client_alive_count_max_max=0, tmout_min=1, tmout_max=1)),
    ({"timeout": 900, "sshd": {"client_alive_count_max": 0, "client_alive_interval": 1},
      "shell": {"tmout": 0}}, False,
     dict(BASE, timeout_max=900, client_alive_interval_max=1, client_alive_count_max_min=0,
          client_alive_count_max_max=0, tmout_min=0, tmout_max=0)),
])
def test_the_policy_profile_is_what_state_apply_would_enforce(pillar, supported, want, defaults):
    assert idlelock_audit.profile_thresholds("policy", policy_of(pillar, defaults),
                                             supported) == want


def test_logind_does_not_count_unless_the_caller_says_it_is_supported(defaults):
    policy = policy_of({"timeout": 600, "logind": {"enabled": True}}, defaults)
    assert "stop_idle_session_sec_max" not in idlelock_audit.profile_thresholds("policy", policy)


def test_an_unknown_profile_names_the_known_ones(defaults):
    with pytest.raises(ValueError) as error:
        idlelock_audit.profile_thresholds("acme", policy_of({"timeout": 600}, defaults))
    assert str(error.value) == "unknown profile 'acme'; known: cis, none, stig, policy"
    # A policy without profiles at all still knows the policy's own.
    with pytest.raises(ValueError, match=r"^unknown profile 'cis'; known: policy$"):
        idlelock_audit.profile_thresholds("cis", {})


LOGIND = {"supported": True, "stop_idle_session_sec": "10min"}


@pytest.mark.parametrize("sshd,logind,want", [
    ({"channeltimeout": "session:*=600", "clientaliveinterval": "300",
      "clientalivecountmax": "1"}, LOGIND,
     {"ChannelTimeout": 600, "ClientAliveInterval": 300, "ClientAliveCountMax": 1,
      "TMOUT": 900, "StopIdleSessionSec": 600}),
    # Only an interactive session's entry closes an idle login: agent forwarding's does not.
    ({"channeltimeout": "agent-connection=60 session:*=900 *=1200"}, None,
     {"ChannelTimeout": 900, "ClientAliveInterval": None, "ClientAliveCountMax": None,
      "TMOUT": 900, "StopIdleSessionSec": None}),
    ({"channeltimeout": "none"}, dict(LOGIND, supported=False),
     {"ChannelTimeout": None, "ClientAliveInterval": None, "ClientAliveCountMax": None,
      "TMOUT": 900, "StopIdleSessionSec": None}),
])
def test_mechanisms_are_each_timeout_in_seconds(sshd, logind, want):
    shell = {"shell": "bash", "value": "900"}
    assert idlelock_audit.mechanisms({"effective": sshd}, shell, logind) == want


@pytest.mark.parametrize("value,seconds", [
    ("600", 600), ("600s", 600), (" 45s ", 45), ("10min", 600), ("10m", 600), ("2h", 7200),
    (120, 120), ("infinity", None), (None, None),
])
def test_logind_time_spans_are_read_as_systemd_does(value, seconds):
    # What the fleet report shows for the host, and what the audit compares.
    assert idlelock_audit.mechanisms(None, None, {"supported": True,
                                                  "stop_idle_session_sec": value})[
        "StopIdleSessionSec"] == seconds
