"""
What a site reads back from a policy, to the character: each refusal's full
text, each warning's, and the exact values ``auto`` and a profile resolve to.
A refusal that loses what it accepts, or a profile limit that stops bounding
``auto``, is a change a site notices; these cases hold each one.
"""

import copy

import pytest

import idlelock_policy as policy

V84, V92, V97, V103, V106 = (8, 4, 1), (9, 2, 1), (9, 7, 1), (10, 3, 1), (10, 6, 1)
CHANNEL_LIST = "a list of type=seconds entries such as session:*=600"
UNKNOWN_TYPE = ("; use session:*, session:shell, session:command, session:subsystem:NAME, "
                "direct-tcpip, forwarded-tcpip, x11-connection, agent-connection, tun-connection")
SCANNER = ("a mapping of SSG rule (sshd_set_idle_timeout, sshd_set_keepalive, accounts_tmout) "
           "to its thresholds")
EXPECTED = "idlelock:profiles: {given} is not accepted; expected "
PROFILE_DEFAULTS = "a mapping of sshd and shell keys to values"
GROUPS = "a list of group names (letters, digits, '_', '.', '-')"


def refused(key, value, accepted):
    return f"idlelock:{key}: {value!r} is not accepted; expected {accepted}"


@pytest.mark.parametrize("raw, error", [
    # Each validator's own words for what it accepts.
    ({"sshd": {"enabled": "yes"}}, refused("sshd:enabled", "yes", "true or false")),
    ({"exempt_groups": "wheel"}, refused("exempt_groups", "wheel", GROUPS)),
    ({"exempt_groups": ["wheel", "two words"]},
     refused("exempt_groups", ["wheel", "two words"], GROUPS)),
    ({"sshd": {"client_alive_count_max": "3m"}},
     refused("sshd:client_alive_count_max", "3m", "auto, none, unmanaged, or a whole number "
             "0..100 (no units)")),
    ({"sshd": {"client_alive_interval": "5 m"}},
     refused("sshd:client_alive_interval", "5 m", "auto, none, unmanaged, or seconds: an integer "
             "0..604800 or an sshd time such as 5m")),
    ({"environment": "p#1"},
     refused("environment", "p#1", "a short label (letters, digits, ' ._/:@+-')")),
    ({"environment": 3}, refused("environment", 3, "a short label (letters, digits, ' ._/:@+-')")),
    ({"schedule": {"seconds": 604801}},
     refused("schedule:seconds", 604801, "a whole number 0..604800 (no units)")),
    ({"schedule": {"hours": 169}}, refused("schedule:hours", 169, "a whole number 0..168 (no units)")),
    ({"schedule": {"splay": -1}}, refused("schedule:splay", -1, "a whole number 0..604800 (no units)")),
    ({"schedule": {"splay": True}},
     refused("schedule:splay", True, "a whole number 0..604800 (no units)")),
    # parse_seconds: every way out names the same range.
    ({"timeout": "x"}, refused("timeout", "x", "seconds: an integer 1..604800 or an sshd time "
                               "such as 5m")),
    ({"timeout": True}, refused("timeout", True, "seconds: an integer 1..604800 or an sshd time "
                                "such as 5m")),
    ({"timeout": 1.5}, refused("timeout", 1.5, "seconds: an integer 1..604800 or an sshd time "
                               "such as 5m")),
    ({"timeout": 604801}, refused("timeout", 604801, "seconds: an integer 1..604800 or an sshd "
                                  "time such as 5m")),
    ({"timeout": "8d"}, refused("timeout", "8d", "seconds: an integer 1..604800 or an sshd time "
                                "such as 5m")),
    # ChannelTimeout: the shape, the one type that does nothing, unknown types.
    ({"sshd": {"channel_timeout": ["session:*"]}},
     refused("sshd:channel_timeout", ["session:*"], f"auto, none, unmanaged, or {CHANNEL_LIST}")),
    ({"sshd": {"channel_timeout": [600]}},
     refused("sshd:channel_timeout", [600], f"auto, none, unmanaged, or {CHANNEL_LIST}")),
    ({"sshd": {"channel_timeout": []}},
     refused("sshd:channel_timeout", [], f"auto, none, unmanaged, or {CHANNEL_LIST}")),
    ({"sshd": {"channel_timeout": "session:*=600"}},
     refused("sshd:channel_timeout", "session:*=600", f"auto, none, unmanaged, or {CHANNEL_LIST}")),
    ({"sshd": {"channel_timeout": ["session=600"]}},
     refused("sshd:channel_timeout", ["session=600"], "auto, none, unmanaged, or 'session=' is "
             "accepted by sshd but closes nothing; use 'session:*='")),
    ({"sshd": {"channel_timeout": {"bogus": 3}}},
     refused("sshd:channel_timeout", {"bogus": 3}, "auto, none, unmanaged, or unknown channel "
             "type 'bogus'" + UNKNOWN_TYPE)),
    ({"sshd": {"channel_timeout": ["session:*=0"]}},
     refused("sshd:channel_timeout", ["session:*=0"], "auto, none, unmanaged, or seconds: an "
             "integer 1..604800 or an sshd time such as 5m")),
    # A section that is not a mapping, and raw data that is not one.
    ({"sshd": 5}, "idlelock:sshd: 5 is not accepted; expected a mapping"),
    ("timeout: 5", "idlelock: 'timeout: 5' is not accepted; expected a mapping"),
    # A text scanner's limits.
    ({"profiles": {"acme": {"scanner": 5}}},
     EXPECTED.format(given={"acme": {"scanner": 5}}) + f"{SCANNER}"),
    ({"profiles": {"acme": {"scanner": {"bogus": {"tmout_max": 5}}}}},
     EXPECTED.format(given={"acme": {"scanner": {"bogus": {"tmout_max": 5}}}})
     + f"{SCANNER}; bad entry 'bogus'"),
    ({"profiles": {"acme": {"scanner": {"accounts_tmout": {}}}}},
     EXPECTED.format(given={"acme": {"scanner": {"accounts_tmout": {}}}})
     + f"{SCANNER}; bad entry 'accounts_tmout'"),
    ({"profiles": {"acme": {"scanner": {"accounts_tmout": 600}}}},
     EXPECTED.format(given={"acme": {"scanner": {"accounts_tmout": 600}}})
     + f"{SCANNER}; bad entry 'accounts_tmout'"),
    ({"profiles": {"acme": {"scanner": {"accounts_tmout": {"timeout_max": 5}}}}},
     EXPECTED.format(given={"acme": {"scanner": {"accounts_tmout": {"timeout_max": 5}}}})
     + f"{SCANNER}; accounts_tmout takes tmout_min, tmout_max"),
    # A profile's defaults: only sshd and shell, each value checked as in pillar.
    ({"profiles": {"acme": {"defaults": 5}}},
     EXPECTED.format(given={"acme": {"defaults": 5}}) + f"{PROFILE_DEFAULTS}"),
    ({"profiles": {"acme": {"defaults": {"logind": {"enabled": True}}}}},
     EXPECTED.format(given={"acme": {"defaults": {"logind": {"enabled": True}}}})
     + f"{PROFILE_DEFAULTS}"),
    ({"profiles": {"acme": {"defaults": {"shell": {"tmout": "x", "readonly": 1}}}}},
     EXPECTED.format(given={"acme": {"defaults": {"shell": {"tmout": "x", "readonly": 1}}}})
     + f"{PROFILE_DEFAULTS}; defaults:shell:tmout: 'x' is not accepted; expected seconds: an "
     "integer 0..604800 or an sshd time such as 5m; defaults:shell:readonly: 1 is not accepted; "
     "expected true or false"),
])
def test_a_refusal_reads_word_for_word(raw, error, defaults):
    _, errors, _ = policy.resolve(raw, defaults, V92)
    assert errors == [error]


def test_every_bad_key_is_named_not_only_the_first(defaults):
    raw = {"bogus": 1, "sshd": {"enabled": "yes"}, "bogus2": 2, "timeout": "x"}
    _, errors, _ = policy.resolve(raw, defaults, V92)
    known = ("known keys here: environment, exempt_groups, logind, profile, profiles, "
             "proof_max_age, root, schedule, shell, sshd, timeout")
    assert errors == [
        f"idlelock:bogus: unknown key; {known}",
        "idlelock:sshd:enabled: 'yes' is not accepted; expected true or false",
        f"idlelock:bogus2: unknown key; {known}",
        refused("timeout", "x", "seconds: an integer 1..604800 or an sshd time such as 5m"),
    ]


@pytest.mark.parametrize("raw, path, value", [
    ({"schedule": {"seconds": 604800, "minutes": 0}}, ("schedule", "seconds"), 604800),
    ({"schedule": {"splay": 0}}, ("schedule", "splay"), 0),
    ({"schedule": {"hours": 168}}, ("schedule", "hours"), 168),
    ({"sshd": {"client_alive_count_max": 100}}, ("sshd", "client_alive_count_max"), 100),
    ({"sshd": {"channel_timeout": ["session:*=1"]}}, ("sshd", "channel_timeout"), ["session:*=1"]),
    ({"sshd": {"channel_timeout": {"session:*": "10m", "direct-tcpip": 60}}},
     ("sshd", "channel_timeout"), ["session:*=600", "direct-tcpip=60"]),
    ({"proof_max_age": 0}, ("proof_max_age",), 0),
    ({"sshd": {"client_alive_interval": "auto"}}, ("sshd", "client_alive_interval"), 300),
    ({"sshd": {"client_alive_interval": 0}}, ("sshd", "client_alive_interval"), 0),
])
def test_values_at_the_edges_resolve_exactly(raw, path, value, defaults):
    assert_resolved(raw, path, value, defaults)


def assert_resolved(raw, path, value, defaults):
    resolved, errors, _ = policy.resolve(raw, defaults, V92)
    assert errors == []
    for part in path:
        resolved = resolved[part]
    assert resolved == value


def test_parse_seconds_counts_zero_by_default():
    """The module reads proof_max_age with the default minimum: 0 means "prove every run"."""
    assert policy.parse_seconds(0) == 0
    assert policy.parse_seconds("0") == 0


# ---------------------------------------------------------------- OpenSSH version
def test_explicit_channel_timeout_names_the_managed_version(defaults):
    for version, shown in [(V84, "8.4"), (None, "unknown")]:
        _, errors, _ = policy.resolve({"sshd": {"unused_connection_timeout": 60}}, defaults, version)
        assert errors == [
            "idlelock:sshd:unused_connection_timeout: 60 is not accepted; UnusedConnectionTimeout "
            f"needs OpenSSH >= 9.2 and the managed sshd is {shown}; use auto or unmanaged"
        ]


def test_global_channel_type_refusal_reads_word_for_word(defaults):
    raw = {"sshd": {"channel_timeout": ["session:*=60", "global=60"]}}
    _, errors, _ = policy.resolve(raw, defaults, V92)
    assert errors == [
        "idlelock:sshd:channel_timeout: ['session:*=60', 'global=60'] is not accepted; 'global=' "
        "needs OpenSSH >= 9.7 (the managed sshd is 9.2); use 'session:*=' for interactive sessions"
    ]


def test_old_openssh_warnings_read_word_for_word(defaults):
    resolved, errors, warnings = policy.resolve({"sshd": {"client_alive_count_max": 0}},
                                                defaults, V84)
    assert errors == []
    assert warnings == [
        "ClientAliveCountMax 0 disables ClientAlive disconnection since OpenSSH 8.2: dead peers "
        "are never dropped",
        "OpenSSH 8.4: no ChannelTimeout session:* is set, so sshd cannot close an idle but live "
        "session; idle logout rests on the shell timeout",
    ]
    # The states show the resolved policy's warnings (idlelock_enforce reads this key).
    assert resolved["warnings"] == warnings


@pytest.mark.parametrize("version, shown", [(V103, "10.3"), (None, "unknown")])
def test_sshd_cannot_exempt_warning_reads_word_for_word(version, shown, defaults):
    raw = {"exempt_groups": ["ops", "dba"], "sshd": {"channel_timeout": ["session:*=600"]}}
    _, _, warnings = policy.resolve(raw, defaults, version)
    assert (
        f"OpenSSH {shown} ignores ChannelTimeout in Match (applied from 10.5), so sshd cannot "
        "exempt exempt_groups (ops, dba): their idle SSH sessions close after 600 s like "
        "everyone's, and the shell guard is the only exemption"
    ) in warnings


# ---------------------------------------------------------------- profiles
def site(**profile):
    return {"profile": "mine", "profiles": {"mine": profile}}


@pytest.mark.parametrize("raw, path, value", [
    # auto never exceeds the profile's own limit, nor its scanner's.
    (dict(site(tmout_max=300), timeout=600), ("shell", "tmout"), 300),
    ({"profile": "cis", "timeout": 900}, ("shell", "tmout"), 600),
    (dict(site(scanner={"accounts_tmout": {"tmout_max": "2m"}}), timeout=600),
     ("shell", "tmout"), 120),
    (dict(site(client_alive_interval_max=120), timeout=600), ("sshd", "client_alive_interval"), 120),
    (dict(site(scanner={"sshd_set_idle_timeout": {"client_alive_interval_max": 60}}), timeout=600),
     ("sshd", "client_alive_interval"), 60),
    # A site profile's defaults apply where pillar sets nothing.
    (site(defaults={"sshd": {"client_alive_count_max": 2}}), ("sshd", "client_alive_count_max"), 2),
    (site(defaults={"shell": {"form": "declare"}}), ("shell", "form"), "declare"),
])
def test_a_profile_bounds_and_fills_the_resolved_values(raw, path, value, defaults):
    assert_resolved(raw, path, value, defaults)


def test_the_defaults_profile_applies_when_pillar_names_none(defaults):
    shipped = dict(copy.deepcopy(defaults), profile="stig")
    resolved, errors, _ = policy.resolve({}, shipped, V92)
    assert errors == []
    assert resolved["profile"] == "stig"
    assert (resolved["sshd"]["layout"], resolved["shell"]["form"]) == ("main", "declare")


@pytest.mark.parametrize("raw, error", [
    # Bounds shown as the profile gives them: a minimum, a maximum, or none ("∞").
    ({"profile": "stig", "sshd": {"client_alive_count_max": 3}},
     "idlelock:sshd:client_alive_count_max: 3 is weaker than profile 'stig', which requires 1..1"),
    ({"profile": "cis", "sshd": {"client_alive_count_max": 0}},
     "idlelock:sshd:client_alive_count_max: 0 is weaker than profile 'cis', which requires 1..∞"),
    ({"profile": "stig", "sshd": {"client_alive_interval": 900}},
     "idlelock:sshd:client_alive_interval: 900 is weaker than profile 'stig', which requires "
     "1..600"),
    ({"profile": "cis", "shell": {"tmout": 1000}},
     "idlelock:shell:tmout: 1000 is weaker than profile 'cis', which requires 1..900"),
    # A disabled sshd is not judged, and the shell still is.
    ({"profile": "cis", "sshd": {"enabled": False, "client_alive_count_max": 0},
      "shell": {"tmout": 0}},
     "idlelock:shell:tmout: 0 is weaker than profile 'cis', which requires 1..900"),
])
def test_weaker_than_profile_reads_word_for_word(raw, error, defaults):
    _, errors, _ = policy.resolve(raw, defaults, V92)
    assert errors == [error]


@pytest.mark.parametrize("raw", [
    # What idlelock does not write is not judged.
    {"profile": "stig", "sshd": {"enabled": False, "client_alive_interval": 0,
                                 "client_alive_count_max": 3}},
    {"profile": "cis", "shell": {"enabled": False, "tmout": 0, "readonly": False}},
    {"profile": "stig", "sshd": {"client_alive_interval": "unmanaged",
                                 "client_alive_count_max": "unmanaged"}},
])
def test_what_idlelock_does_not_manage_is_not_judged(raw, defaults):
    _, errors, _ = policy.resolve(raw, defaults, V92)
    assert errors == []


def test_judge_profile_false_skips_the_profile_refusal(defaults):
    raw = {"profile": "stig", "timeout": 900}
    assert policy.resolve(raw, defaults, V92, judge_profile=False)[1] == []
    _, errors, _ = policy.resolve(dict(raw, sshd={"enabled": "yes"}), defaults, V92,
                                  judge_profile=False)
    assert errors == ["idlelock:sshd:enabled: 'yes' is not accepted; expected true or false"]


def test_redefining_built_in_profiles_is_one_error_naming_each(defaults):
    raw = {"profile": "mine", "profiles": {
        "cis": {"defaults": {"sshd": {"channel_timeout": ["session:*=60"]}}},
        "stig": {"timeout_max": 60}, "mine": {"timeout_max": 900}}}
    # On an sshd without ChannelTimeout: the redefined cis's defaults would be refused too,
    # were they taken; and the site's own profile stays known.
    _, errors, _ = policy.resolve(raw, defaults, V84)
    assert errors == ["idlelock:profiles: 'cis', 'stig' is built in and cannot be redefined; "
                      "give a site profile its own name (e.g. cis-site) and set profile: to it"]
    _, errors, _ = policy.resolve(dict(raw, profile="cis"), defaults, V84)
    assert errors == ["idlelock:profiles: 'cis', 'stig' is built in and cannot be redefined; "
                      "give a site profile its own name (e.g. cis-site) and set profile: to it"]


# ---------------------------------------------------------------- exempt_groups
def test_a_profile_default_exempts_groups_through_the_shell_alias(defaults):
    raw = site(defaults={"shell": {"exempt_groups": ["dba"]}})
    resolved, errors, _ = policy.resolve(raw, defaults, V106)
    assert errors == []
    assert resolved["exempt_groups"] == resolved["shell"]["exempt_groups"] == ["dba"]
    assert resolved["sshd"]["exempt"] is True
    # Pillar's own list still wins over the profile's.
    resolved, errors, _ = policy.resolve(dict(raw, exempt_groups=["ops"]), defaults, V106)
    assert errors == []
    assert resolved["exempt_groups"] == resolved["shell"]["exempt_groups"] == ["ops"]


# ---------------------------------------------------------------- rendering
def test_short_timeouts_name_one_second_and_skip_what_sshd_leaves_unmanaged(defaults):
    resolved, errors, _ = policy.resolve({"timeout": 1}, defaults, V84)
    assert errors == []
    assert policy.short_timeouts(resolved, "sshd") == []
    assert policy.short_timeouts(resolved, "shell") == [
        "shell:tmout 1: 1 s is under 60 s, so every idle session, the administrator's included, "
        "is closed within 1 s (a typo for 10?)"
    ]


def test_schedule_unavailable_under_salt_ssh_reads_word_for_word():
    assert policy.schedule_unavailable(False) == ""
    assert policy.schedule_unavailable(True) == (
        "salt-ssh: no salt-minion runs on this host, so no minion schedule can re-apply "
        "idlelock here; nothing was added. Schedule it on the master instead (a master "
        "schedule or cron running: salt-ssh '<target>' state.apply idlelock)")


def test_route_drops_salt_job_data_wherever_it_sits():
    kwargs = {"__pub_jid": "1", "tmout": 60, "__pub_fun": "idlelock.apply", "timeout": 300}
    assert policy.route(kwargs, "shell") == {"shell": {"tmout": 60}, "timeout": 300}


def test_merge_changes_neither_side():
    base, override = {"sshd": {"enabled": True}}, {"sshd": {"x": [1]}, "profiles": {"a": {"b": [2]}}}
    kept = copy.deepcopy((base, override))
    merged = policy.merge(base, override)
    merged["sshd"]["x"].append(9)
    merged["profiles"]["a"]["b"].append(9)
    merged["sshd"]["enabled"] = False
    assert (base, override) == kept


def test_a_rejected_value_is_shown_whole_up_to_the_limit_and_cut_past_it(defaults):
    label = "a short label (letters, digits, ' ._/:@+-')"
    whole = "x" * (policy._SHOWN - 2)  # its repr, quotes included, is exactly _SHOWN long
    _, errors, _ = policy.resolve({"environment": whole}, defaults, V92)
    assert errors == [f"idlelock:environment: '{whole}' is not accepted; expected {label}"]
    _, errors, _ = policy.resolve({"environment": whole + "y"}, defaults, V92)
    cut = "'" + "x" * (policy._SHOWN - 4) + "..."
    assert errors == [f"idlelock:environment: {cut} is not accepted; expected {label}"]
