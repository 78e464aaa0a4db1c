"""
Every OpenSSH version gate, on both sides of its boundary.

Each gate is a release where sshd changed behaviour (sshd release notes,
https://www.openssh.com/releasenotes.html): ClientAliveCountMax 0 disables
ClientAlive disconnection from 8.2, ChannelTimeout and UnusedConnectionTimeout
appear in 9.2, the ``global`` channel type in 9.7, and ChannelTimeout inside
Match takes effect from 10.5. A gate that moves by one minor release gives
wrong advice on exactly the versions at its edge.
"""

import pytest

import idlelock_audit
import idlelock_policy as policy

COUNTMAX_WARNING = "ClientAliveCountMax 0 disables"


@pytest.mark.parametrize("version, warned", [
    ((8, 1, 0), False), ((8, 2, 0), True), ((8, 3, 1), True), ((9, 2, 1), True), (None, False),
])
@pytest.mark.parametrize("count", [0, "none"])
def test_countmax_zero_warning_starts_at_8_2(version, warned, count, defaults):
    raw = {"sshd": {"client_alive_count_max": count, "channel_timeout": "unmanaged",
                    "unused_connection_timeout": "unmanaged"}}
    _, errors, warnings = policy.resolve(raw, defaults, version)
    assert errors == []
    assert any(COUNTMAX_WARNING in w for w in warnings) is warned


@pytest.mark.parametrize("version, has", [((9, 1, 1), False), ((9, 2, 0), True), ((10, 0, 2), True)])
def test_channel_timeout_starts_at_9_2(version, has, defaults):
    resolved, errors, warnings = policy.resolve({"timeout": 60}, defaults, version)
    assert errors == []
    assert (resolved["sshd"]["channel_timeout"] == ["session:*=60"]) is has
    assert (resolved["sshd"]["unused_connection_timeout"] == 60) is has
    assert any("idle logout rests on the shell timeout" in w for w in warnings) is not has
    _, errors, _ = policy.resolve({"sshd": {"unused_connection_timeout": 60}}, defaults, version)
    assert (errors == []) is has


@pytest.mark.parametrize("version, accepted", [((9, 6, 1), False), ((9, 7, 0), True)])
def test_global_channel_type_starts_at_9_7(version, accepted, defaults):
    raw = {"sshd": {"channel_timeout": ["session:*=60", "global=60"]}}
    _, errors, _ = policy.resolve(raw, defaults, version)
    assert (errors == []) is accepted


MATCH_BLOCK = {"match": "Match User deploy", "source": "sshd_config:9",
               "connection": {"user": "deploy"},
               "sets": {"ChannelTimeout": {"value": "session:*=60", "source": "sshd_config:10"}},
               "effective": {"channeltimeout": "session:*=60", "clientaliveinterval": "0",
                             "clientalivecountmax": "3"}}


@pytest.mark.parametrize("version, ignored", [((10, 4, 1), True), ((10, 5, 0), False)])
def test_channel_timeout_in_match_counts_from_10_5(version, ignored):
    facts = {"openssh": version, "matches": [MATCH_BLOCK],
             "sshd": {"effective": {"channeltimeout": None, "clientaliveinterval": "0",
                                    "clientalivecountmax": "3"}, "sources": {}}}
    result = idlelock_audit.judge(facts, "policy", {"timeout_max": 600}, 600)
    checks = {f["check"]: f for f in result["findings"]}
    assert ("sshd ChannelTimeout (Match User deploy)" in checks) is ignored
    # Ignored, the Match context is the global one (where nothing closes an idle
    # session); honoured, ChannelTimeout closes the matched sessions.
    assert ("idle logout (Match User deploy)" in result["passed"]) is not ignored


@pytest.mark.parametrize("version, closes", [((8, 1, 0), True), ((8, 2, 0), False)])
def test_audit_countmax_zero_drops_connections_before_8_2_only(version, closes):
    facts = {"openssh": version,
             "sshd": {"effective": {"clientaliveinterval": "300", "clientalivecountmax": "0"},
                      "sources": {}}}
    result = idlelock_audit.judge(facts, "policy", {"timeout_max": 600}, 600)
    assert ("idle logout" in result["passed"]) is closes
