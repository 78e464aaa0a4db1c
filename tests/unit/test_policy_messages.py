"""
The exact error a site gets for bad profile and path data: the key, the value
and what is accepted, to the character (README: "Unknown keys are refused, so a
typo never falls back to a default silently").
"""

import pytest

import idlelock_policy as policy

PROFILES = "idlelock:profiles: {given} is not accepted; expected a mapping of profile name to thresholds"
RULES = ("idlelock:profiles: {given} is not accepted; expected a mapping of check "
         "(" + ", ".join(policy.AUDIT_CHECKS) + ") to a list of rule IDs or "
         "{{id: ID, <threshold>: value}}")


@pytest.mark.parametrize("raw, error", [
    ({"shell": {"zsh_file": "zprofile"}},
     "idlelock:shell:zsh_file: 'zprofile' is not accepted; expected an absolute path of "
     "letters, digits, '/' and '_.+@%,:=~-' (no spaces, quotes, shell metacharacters or '..'), "
     "or empty"),
    ({"profiles": 5}, PROFILES.format(given=5)),
    ({"profiles": {"Bad Name": {}}},
     PROFILES.format(given="{'Bad Name': {}}") + "; bad profile name 'Bad Name'"),
    ({"profiles": {5: {}}}, PROFILES.format(given="{5: {}}") + "; bad profile name 5"),
    ({"profiles": {"policy": {}}},
     PROFILES.format(given="{'policy': {}}") + "; 'policy' is reserved: idlelock.audit derives "
     "it from the resolved policy"),
    ({"profiles": {"acme": 5}}, PROFILES.format(given="{'acme': 5}") + "; 'acme' is not a mapping"),
    ({"profiles": {"acme": {"bogus": 1}}},
     PROFILES.format(given="{'acme': {'bogus': 1}}") + "; unknown threshold acme:bogus, known: "
     + ", ".join(sorted(policy.PROFILE_KEYS))),
    ({"profiles": {"acme": {"rules": 5}}}, RULES.format(given="{'acme': {'rules': 5}}")),
    ({"profiles": {"acme": {"rules": {"tmout": []}}}},
     RULES.format(given="{'acme': {'rules': {'tmout': []}}}") + "; bad entry 'tmout'"),
    ({"profiles": {"acme": {"rules": {"tmout": "X-1"}}}},
     RULES.format(given="{'acme': {'rules': {'tmout': 'X-1'}}}") + "; bad entry 'tmout'"),
])
def test_bad_profile_and_path_data_names_what_is_accepted(raw, error, defaults):
    _, errors, _ = policy.resolve(raw, defaults, (9, 2))
    assert errors == [error]


def test_schedule_job_without_a_returner_key():
    job = policy.schedule_job({"highstate": False, "minutes": 5})
    assert "returner" not in job and job["minutes"] == 5 and "splay" not in job


@pytest.mark.parametrize("raw, version, error", [
    ({"sshd": {"channel_timeout": ["session:*=60"]}}, (8, 4),
     "idlelock:sshd:channel_timeout: ['session:*=60'] is not accepted; ChannelTimeout needs "
     "OpenSSH >= 9.2 and the managed sshd is 8.4; use auto or unmanaged"),
    ({"profile": "cis", "shell": {"readonly": False}}, (9, 2),
     "idlelock:shell:readonly: False is weaker than profile 'cis', which requires a readonly, "
     "exported TMOUT"),
    ({"profile": "pci"}, (9, 2),
     "idlelock:profile: 'pci' is not accepted; expected one of cis, none, stig"),
    ({"root": "/a/.."}, (9, 2),
     "idlelock:root: '/a/..' is not accepted; expected an absolute path of letters, digits, "
     "'/' and '_.+@%,:=~-' (no spaces, quotes, shell metacharacters or '..')"),
])
def test_refusals_word_for_word(raw, version, error, defaults):
    _, errors, _ = policy.resolve(raw, defaults, version)
    assert errors == [error]


def test_a_rejected_pillar_mapping_reads_as_the_yaml_written(defaults):
    """Pillar comes as OrderedDicts (Salt's YAML renderer): the error shows plain mappings."""
    odict = pytest.importorskip("salt.utils.odict")
    raw = {"profiles": odict.OrderedDict(acme=odict.OrderedDict(bogus=[1, (2, 3)]))}
    _, errors, _ = policy.resolve(raw, defaults, (9, 2))
    assert errors == [PROFILES.format(given="{'acme': {'bogus': [1, [2, 3]]}}")
                      + "; unknown threshold acme:bogus, known: "
                      + ", ".join(sorted(policy.PROFILE_KEYS))]


def test_a_long_rejected_value_is_cut(defaults):
    raw = {"environment": "x" * 500}
    _, errors, _ = policy.resolve(raw, defaults, (9, 2))
    shown = errors[0].split(": ", 1)[1].split(" is not accepted")[0]
    assert shown == repr("x" * 500)[:157] + "..."
