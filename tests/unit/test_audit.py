"""
The pure audit judge: the audit scenario folder for every profile, and
profile data validation.
"""

import pytest

import idlelock_audit
import idlelock_policy
from tests.support import scenarios
from tests.support.scenarios import PROFILES, found

NO_LOGIND = {"stop_idle_session_sec": None, "supported": False,
             "reason": "systemd is not the init system here"}


def resolved_policy(scenario, defaults):
    policy, errors, _ = idlelock_policy.resolve(
        scenario.get("policy", {}), defaults, tuple(scenario["openssh"]))
    assert errors == []
    return policy


def scanner_view(scenario):
    """The files a text scanner reads, from the scenario's sshd tree and /etc files."""
    main = "/sandbox/sshd_config"
    texts = {main: scenario.get("files", {}).get("sshd_config")}
    texts.update({f"/etc/{rel}": text for rel, text in scenario.get("etc", {}).items()
                  if rel == "profile" or rel.startswith("profile.d/")})
    return {"main": main, "texts": texts}


def scanner_findings(result):
    """``{SSG rule: pass|fail}`` as the scanner-view findings say."""
    failing = {f["rule"].removeprefix("SSG ") for f in result["findings"]
               if f["check"].startswith("scanner view: ")}
    return {rule: "fail" if rule in failing else "pass" for rule in result.get("scanner", {})}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("scenario", scenarios.params("audit"))
def test_audit_scenario(scenario, profile, defaults):
    policy = resolved_policy(scenario, defaults)
    facts = dict(scenario["facts"], openssh=tuple(scenario["openssh"]),
                 scanner_view=scanner_view(scenario))
    facts.setdefault("logind", NO_LOGIND)
    thresholds = idlelock_audit.profile_thresholds(profile, policy, facts["logind"]["supported"])

    result = idlelock_audit.judge(facts, profile, thresholds, policy["timeout"])

    want = scenario["expect"][profile]
    assert found(result) == sorted(want["findings"])
    assert result["compliant"] is want["compliant"]
    assert result["profile"] == profile
    if "scanner" in want:
        assert result["scanner"] == want["scanner"]
        assert scanner_findings(result) == want["scanner"]
    by_check = {f["check"]: f for f in result["findings"]}
    for check, source in want.get("sources", {}).items():
        assert source in by_check[check]["source"]
    for finding in result["findings"]:
        assert finding["fix"] and finding["expected"] is not None
    assert not set(by_check) & set(result["passed"])


def test_idle_logout_spells_out_why_nothing_closes_the_session(defaults):
    scenario = dict(scenarios.load("audit"))["countmax_zero_without_channel_timeout"]
    policy = resolved_policy(scenario, defaults)
    facts = dict(scenario["facts"], openssh=(9, 2), logind=NO_LOGIND)
    result = idlelock_audit.judge(facts, "stig", policy["profiles"]["stig"], 600)
    idle = next(f for f in result["findings"] if f["check"] == "idle logout")
    assert "ClientAliveCountMax 0 disables ClientAlive disconnection on OpenSSH 9.2" in idle["actual"]
    assert "no ChannelTimeout session:* is set" in idle["actual"]
    assert "no TMOUT in bash login shells" in idle["actual"]
    assert "ChannelTimeout session:*=600" in idle["fix"]


def test_a_site_profile_in_pillar_brings_its_own_thresholds_and_rules(defaults):
    site = {"profiles": {"acme": {"tmout_max": 300, "readonly": True,
                                  "rules": {"tmout": ["ACME-7"]}}}, "profile": "acme",
            "timeout": 300}
    policy, errors, _ = idlelock_policy.resolve(site, defaults, (9, 2))
    assert errors == []
    facts = {"openssh": (9, 2), "shell": {"shell": "bash", "value": "600", "readonly": True,
                                          "exported": True, "sources": {}, "conflicts": []}}
    result = idlelock_audit.judge(facts, "acme", idlelock_audit.profile_thresholds("acme", policy),
                                  300)
    assert [(f["check"], f["rule"], f["expected"]) for f in result["findings"]] == [
        ("shell TMOUT", "ACME-7", "<= 300"), ("idle logout", "idlelock:timeout",
                                                  "an idle interactive session is closed within 300 s")]


@pytest.mark.parametrize("profiles, needle", [
    ({"policy": {}}, "'policy' is reserved"),
    ({"acme": {"rules": {"tmout": ["bad\nid"]}}}, "bad rule ID"),
    ({"acme": {"rules": {"nonsense": ["X-1"]}}}, "bad entry 'nonsense'"),
    ({"acme": {"rules": {"tmout": [{"id": "X-1", "tmout_maxx": 5}]}}}, "unknown threshold"),
])
def test_bad_profile_data_is_refused(profiles, needle, defaults):
    _, errors, _ = idlelock_policy.resolve({"profiles": profiles}, defaults, (9, 2))
    assert len(errors) == 1 and needle in errors[0], errors


def test_shipped_profiles_pass_the_schema(defaults):
    assert idlelock_policy.PROFILE_KEYS and idlelock_policy._profiles(defaults["profiles"])
