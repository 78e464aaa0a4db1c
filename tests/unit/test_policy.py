"""Policy validation and resolution: every key, good and bad values, auto per version."""

import pytest

import idlelock_defaults
import idlelock_policy as policy

V84, V92, V97, V100 = (8, 4, 1), (9, 2, 1), (9, 7, 1), (10, 0, 2)
V103, V106 = (10, 3, 1), (10, 6, 1)

INJECTIONS = ["300\nPermitRootLogin yes", "300 # comment", "300; rm -rf /", "$(reboot)", "`id`"]
# A `$` anchor matches before a trailing newline: only a full-string match refuses these.
TRAILING_NEWLINE = ["600\n", "10m\n"]
# Digits Python's int() and \d take but sshd, bash and systemd refuse (full-width, Arabic-Indic,
# Devanagari, superscript) and a separator int() allows: only ASCII 0-9 is a number to them.
NOT_ASCII_DIGITS = ["\uff16\uff10\uff10", "\u0663\u0660\u0660", "\u0969m", "\u00b2", "6_00"]
# Paths end up in shell start-up files (the zsh hook sources the profile file).
SHELL_PATHS = ["/etc/profile.d/x;touch /tmp/pwned;.sh", "/etc/profile.d/$(id).sh",
               "/etc/profile.d/`id`.sh", "/etc/profile.d/a b.sh", "/etc/profile.d/it's.sh",
               "/etc/profile.d/x.sh\n", "/etc/profile.d/x|y.sh", "/etc/profile.d/x&.sh",
               "/etc/profile.d/*.sh", "/etc/profile.d/x>y"]

# key path -> (accepted values, refused values)
KEYS = {
    "timeout": ([3, 600, "10m", "1h30m"],
                [0, -1, True, 10**9, "10 minutes", 1.5] + INJECTIONS + TRAILING_NEWLINE
                + NOT_ASCII_DIGITS),
    "environment": (["prod", "eu-west/prod"], ["a\nb", "x" * 65, 3, "p#1", "prod\n"]),
    "profile": (["none", "cis", "stig"], ["pci", "", 1, "CIS", "cis\n"]),
    "root": (["/", "/mnt/image"], ["relative", "/a/../b", "/a\nb", 5, "/mnt/image\n", "/mnt/a b",
                                   "/mnt/$(id)", "/mnt/.."]),
    "proof_max_age": ([0, 3600, "6h"], [-1, "6 hours", True, "1h;", "6h\n"] + NOT_ASCII_DIGITS),
    "sshd:enabled": ([True, False], ["yes", 1, None]),
    "sshd:client_alive_interval": (
        ["auto", "none", "unmanaged", 0, 300, "5m"],
        [-5, "300s ", "5 m", True] + INJECTIONS + TRAILING_NEWLINE + NOT_ASCII_DIGITS,
    ),
    "sshd:client_alive_count_max": (["auto", "none", "unmanaged", 0, 1, 3], ["3m", -1, 101, "1", 1.0]),
    "sshd:channel_timeout": (
        ["auto", "none", "unmanaged", ["session:*=600"], {"session:shell": "10m"},
         ["session:*=600", "direct-tcpip=60", "x11-connection=1h"]],
        [["session=600"], ["bogus=3"], ["session:*=0"], ["session:*=600\nPermitRootLogin yes"],
         "session:*=600", [], ["session:*"], {}, ["session:*\n=600"], ["session:*=600\n"],
         {"session:*\n": 600}, {"session:*": "600\n"}, {"session:*": "\uff16\uff10\uff10"},
         ["session:*=\u0663\u0660\u0660"]],
    ),
    "sshd:unused_connection_timeout": (["auto", "none", "unmanaged", 0, 600], [-1, "x"] + INJECTIONS),
    "sshd:config": (["/etc/ssh/sshd_config"], ["sshd_config", "/etc/ssh/x#y", "/etc/ssh/sshd_config\n",
                                               "/etc/ssh/sshd config"]),
    "sshd:binary": (["/usr/sbin/sshd"], ["sshd", None, "/usr/sbin/sshd\n", "/usr/sbin/sshd;id"]),
    "sshd:service": (["ssh", "sshd", "openssh-server@1.service", ""],
                     ["ssh d", "ssh;reboot", "a\nb", "ssh\n"]),
    "sshd:socket": (["ssh.socket", "sshd.socket", ""], ["ssh socket", "ssh.socket;reboot", "a\nb",
                                                       "ssh.socket\n"]),
    "sshd:manage_service": ([True, False], ["false"]),
    "sshd:layout": (["dropin", "main"], ["Main", "main\n", "", "block", 1]),
    "shell:enabled": ([True, False], ["on"]),
    "shell:tmout": (["auto", 0, 600, "10m"], [-1, "600; rm -rf /", "$(reboot)", "`id`", "6\n0"]
                    + NOT_ASCII_DIGITS),
    "shell:readonly": ([True, False], [1]),
    "shell:profile_file": (["/etc/profile.d/idlelock.sh", "/etc/profile.d/00_site-idle.v2.sh"],
                           ["idlelock.sh", "/etc/profile.d/a b\n"] + SHELL_PATHS),
    "shell:csh_file": (["/etc/profile.d/idlelock.csh"], ["/etc/profile.d/\x00"] + SHELL_PATHS),
    "exempt_groups": (
        [[], ["wheel", "db-admins", "svc_backup"]],
        ["wheel", ["two words"], ["qu'ote"], ['"x"'], ["$(id)"], ["a\nb"], ["wheel\n"], [1],
         ["a,b"], ["!wheel"], ["adm*"]],
    ),
    "shell:exempt_groups": (
        [[], ["wheel", "db-admins", "svc_backup"]],
        ["wheel", ["two words"], ["qu'ote"], ['"x"'], ["$(id)"], ["a\nb"], ["wheel\n"], [1],
         ["a,b"], ["!wheel"], ["adm*"]],
    ),
    "shell:takeover": ([True, False], ["yes"]),
    "shell:form": (["posix", "declare"], ["typeset", "posix\n", ""]),
    "shell:zsh_file": (["", "/etc/zsh/zprofile"], ["zprofile", "/etc/zsh/a;b\n"] + SHELL_PATHS),
    "shell:bashrc_file": (["", "/etc/bash.bashrc"], ["bash.bashrc", "/etc/bashrc\n"] + SHELL_PATHS),
    "logind:enabled": ([True, False], [0]),
    "logind:takeover": ([True, False], ["yes"]),
    "logind:stop_idle_session_sec": (["auto", 600, "10m"], [-3, "x;y"] + TRAILING_NEWLINE
                                     + NOT_ASCII_DIGITS),
    "logind:conf_file": (["/etc/systemd/logind.conf.d/idlelock.conf"],
                         ["logind.conf", "/etc/systemd/logind.conf.d/x;y.conf"]),
    "schedule:enabled": ([True, False], ["no"]),
    "schedule:minutes": ([1, 30], [-1, "30m", True]),
    "schedule:hours": ([1], ["1h"]),
    "schedule:seconds": ([5], [5.5]),
    "schedule:splay": ([0, 120], ["2m"]),
    "schedule:highstate": ([True, False], ["true"]),
    "schedule:returner": (["", "syslog", "mysql,smtp"], ["a b", "x\ny", "syslog\n"]),
}


def nested(path, value):
    data = value
    for part in reversed(path.split(":")):
        data = {part: data}
    return data


def cases(accepted):
    for path, (good, bad) in KEYS.items():
        for value in good if accepted else bad:
            yield pytest.param(path, value, id=f"{path}={value!r}")


@pytest.mark.parametrize("path,value", list(cases(accepted=True)))
def test_accepted(path, value, defaults):
    _, errors, _ = policy.resolve(nested(path, value), defaults, V92)
    assert errors == []


@pytest.mark.parametrize("path,value", list(cases(accepted=False)))
def test_refused_with_key_value_and_what_is_accepted(path, value, defaults):
    _, errors, _ = policy.resolve(nested(path, value), defaults, V92)
    assert len(errors) == 1
    assert errors[0].startswith(f"idlelock:{path}: {value!r} is not accepted; expected ")


def test_every_schema_key_is_covered():
    def leaves(schema, prefix=""):
        for key, rule in schema.items():
            if isinstance(rule, dict):
                yield from leaves(rule, f"{prefix}{key}:")
            elif key != "profiles":
                yield prefix + key

    assert set(leaves(policy.SCHEMA)) == set(KEYS)


def test_unknown_key_is_refused_not_defaulted(defaults):
    _, errors, _ = policy.resolve({"sshd": {"client_alive_intreval": 60}}, defaults, V92)
    assert errors == [
        "idlelock:sshd:client_alive_intreval: unknown key; known keys here: binary, "
        "channel_timeout, client_alive_count_max, client_alive_interval, config, enabled, layout, "
        "manage_service, service, socket, unused_connection_timeout"
    ]


def test_session_channel_type_is_refused_with_the_working_form(defaults):
    _, errors, _ = policy.resolve({"sshd": {"channel_timeout": ["session=300"]}}, defaults, V92)
    assert "use 'session:*='" in errors[0]


@pytest.mark.parametrize("version,accepted", [(V92, False), (V97, True)])
def test_global_channel_type_needs_9_7(version, accepted, defaults):
    raw = {"sshd": {"channel_timeout": ["session:*=60", "global=60"]}}
    _, errors, _ = policy.resolve(raw, defaults, version)
    assert (errors == []) is accepted
    if not accepted:
        assert "'global=' needs OpenSSH >= 9.7" in errors[0]


@pytest.mark.parametrize(
    "version,channel,unused",
    [(V84, "unmanaged", "unmanaged"), (V92, ["session:*=600"], 600), (V100, ["session:*=600"], 600)],
)
def test_auto_follows_the_openssh_version(version, channel, unused, defaults):
    resolved, errors, _ = policy.resolve({}, defaults, version)
    assert errors == []
    assert resolved["sshd"]["channel_timeout"] == channel
    assert resolved["sshd"]["unused_connection_timeout"] == unused
    assert resolved["sshd"]["client_alive_interval"] == 300


def test_auto_interval_never_exceeds_the_timeout(defaults):
    resolved, _, _ = policy.resolve({"timeout": 3}, defaults, V92)
    assert resolved["sshd"]["client_alive_interval"] == 3
    assert resolved["sshd"]["channel_timeout"] == ["session:*=3"]
    assert resolved["shell"]["tmout"] == 3


def test_old_openssh_warns_that_idle_logout_rests_on_the_shell(defaults):
    _, errors, warnings = policy.resolve({}, defaults, V84)
    assert errors == []
    assert any("sshd cannot close an idle but live session" in w for w in warnings)


def test_explicit_channel_timeout_on_old_openssh_is_refused(defaults):
    _, errors, _ = policy.resolve({"sshd": {"channel_timeout": ["session:*=60"]}}, defaults, V84)
    assert "ChannelTimeout needs OpenSSH >= 9.2 and the managed sshd is 8.4" in errors[0]


@pytest.mark.parametrize("version,warned", [(V84, True), ((8, 1, 0), False)])
def test_countmax_zero_warns_from_8_2(version, warned, defaults):
    _, _, warnings = policy.resolve({"sshd": {"client_alive_count_max": 0}}, defaults, version)
    assert any("ClientAliveCountMax 0 disables" in w for w in warnings) is warned


@pytest.mark.parametrize(
    "raw,message",
    [
        ({"profile": "stig", "timeout": 900}, "idlelock:timeout: 900 is weaker than profile 'stig'"),
        ({"profile": "stig", "sshd": {"client_alive_count_max": 3}}, "client_alive_count_max: 3"),
        ({"profile": "stig", "sshd": {"client_alive_interval": 0}}, "client_alive_interval: 0"),
        ({"profile": "cis", "sshd": {"client_alive_count_max": 0}}, "client_alive_count_max: 0"),
        ({"profile": "cis", "shell": {"tmout": 0}}, "idlelock:shell:tmout: 0"),
        ({"profile": "cis", "shell": {"readonly": False}}, "shell:readonly"),
        ({"profile": "stig", "sshd": {"client_alive_interval": "none"}}, "client_alive_interval: 0"),
    ],
)
def test_policy_weaker_than_profile_is_refused(raw, message, defaults):
    _, errors, _ = policy.resolve(raw, defaults, V92)
    assert any(message in e for e in errors), errors


@pytest.mark.parametrize("profile", ["cis", "stig"])
def test_stricter_than_profile_passes(profile, defaults):
    raw = {"profile": profile, "timeout": 120, "shell": {"tmout": 60}}
    _, errors, _ = policy.resolve(raw, defaults, V92)
    assert errors == []


def test_a_site_adds_its_own_profile(defaults):
    raw = {"profiles": {"bank": {"timeout_max": 300}}, "profile": "bank", "timeout": 600}
    _, errors, _ = policy.resolve(raw, defaults, V92)
    assert errors == ["idlelock:timeout: 600 is weaker than profile 'bank', which requires 0..300"]


@pytest.mark.parametrize("sshd, directives", [
    ({"client_alive_interval": "none", "channel_timeout": "none",
      "unused_connection_timeout": "unmanaged"},
     {"ClientAliveInterval": "0", "ClientAliveCountMax": "1", "ChannelTimeout": "none"}),
    # Each keyword's own "off", and a list as sshd reads it: space-separated.
    ({"client_alive_count_max": "none", "unused_connection_timeout": "none",
      "channel_timeout": ["session:*=600", "direct-tcpip=60"]},
     {"ClientAliveInterval": "300", "ClientAliveCountMax": "0",
      "ChannelTimeout": "session:*=600 direct-tcpip=60", "UnusedConnectionTimeout": "none"}),
])
def test_sshd_directives_render_none_and_skip_unmanaged(sshd, directives, defaults):
    resolved, errors, _ = policy.resolve({"sshd": sshd}, defaults, V92)
    assert errors == []
    assert policy.sshd_directives(resolved["sshd"]) == directives


@pytest.mark.parametrize("raw,warned", [
    ({"timeout": 6}, ["sshd:channel_timeout session:*=6: 6 s is under 60 s",
                      "sshd:unused_connection_timeout 6: 6 s is under 60 s",
                      "shell:tmout 6: 6 s is under 60 s",
                      "logind:stop_idle_session_sec 6: 6 s is under 60 s"]),
    ({"timeout": 600, "shell": {"tmout": 30}}, ["shell:tmout 30: 30 s is under 60 s"]),
    ({"timeout": 600, "logind": {"stop_idle_session_sec": 9}},
     ["logind:stop_idle_session_sec 9: 9 s is under 60 s"]),
    ({"timeout": 60}, []),
    ({"timeout": 600, "shell": {"tmout": 0}}, []),  # 0: off, not short
])
def test_a_timeout_under_a_minute_is_accepted_but_each_section_warns(raw, warned, defaults):
    resolved, errors, _ = policy.resolve(raw, defaults, V92)
    assert errors == []
    found = [w for section in ("sshd", "shell", "logind")
             for w in policy.short_timeouts(resolved, section)]
    assert len(found) == len(warned)
    for expected, warning in zip(warned, found):
        assert warning.startswith(expected), warning


@pytest.mark.parametrize("kwargs, prefer, want", [
    ({"timeout": 300, "tmout": 60}, "sshd", {"timeout": 300, "shell": {"tmout": 60}}),
    ({"enabled": True, "config": "/c"}, "sshd", {"sshd": {"enabled": True, "config": "/c"}}),
    ({"enabled": True}, "logind", {"logind": {"enabled": True}}),
    ({"conf_file": "/x", "profile_file": "/y"}, None,
     {"logind": {"conf_file": "/x"}, "shell": {"profile_file": "/y"}}),
    ({"bogus": 1, "__pub_jid": "1"}, "shell", {"shell": {"bogus": 1}}),
    ({"bogus": 1}, None, {"bogus": 1}),
    # The top-level list for the sshd state, its alias for the shell state.
    ({"exempt_groups": ["ops"]}, "sshd", {"exempt_groups": ["ops"]}),
    ({"exempt_groups": ["ops"]}, "shell", {"shell": {"exempt_groups": ["ops"]}}),
])
def test_keyword_arguments_go_where_the_schema_has_them(kwargs, prefer, want):
    assert policy.route(kwargs, prefer) == want


def test_per_os_data_is_applied_in_the_resolution(defaults):
    for family, data in idlelock_defaults.OS_FAMILY.items():
        resolved, errors, _ = policy.resolve({}, policy.defaults_for(family), V92)
        assert errors == []
        for section, values in data.items():
            assert {key: resolved[section][key] for key in values} == values, family
    # A family without data gets the defaults, which pass the schema on their own.
    assert policy.defaults_for("Plan9") == defaults
    assert policy.resolve({}, defaults, V92)[1] == []


SSHD_CANNOT_EXEMPT = "so sshd cannot exempt exempt_groups (ops): their idle SSH sessions close"


@pytest.mark.parametrize("raw", [{"exempt_groups": ["ops"]}, {"shell": {"exempt_groups": ["ops"]}},
                                 {"exempt_groups": ["ops"], "shell": {"exempt_groups": ["ops"]}}],
                         ids=["top-level", "shell-alias", "both-equal"])
def test_exempt_groups_is_one_list_under_both_names(raw, defaults):
    resolved, errors, _ = policy.resolve(raw, defaults, V106)
    assert errors == []
    assert resolved["exempt_groups"] == resolved["shell"]["exempt_groups"] == ["ops"]
    assert resolved["sshd"]["exempt"] is True


def test_exempt_groups_and_a_different_alias_are_refused(defaults):
    raw = {"exempt_groups": ["ops"], "shell": {"exempt_groups": ["dba"]}}
    _, errors, _ = policy.resolve(raw, defaults, V106)
    assert errors == ["idlelock:shell:exempt_groups: ['dba'] is not accepted next to "
                      "idlelock:exempt_groups ['ops']; it is an alias of that list: set one"]


@pytest.mark.parametrize("version,exempt", [(V92, False), (V100, False), (V103, False),
                                            ((10, 5, 1), True), (V106, True)])
def test_sshd_exempts_only_where_channel_timeout_works_in_match(version, exempt, defaults):
    resolved, errors, warnings = policy.resolve({"exempt_groups": ["ops"]}, defaults, version)
    assert errors == []
    assert resolved["sshd"]["exempt"] is exempt
    assert any(SSHD_CANNOT_EXEMPT in w for w in warnings) is not exempt


@pytest.mark.parametrize("raw", [{}, {"exempt_groups": ["ops"], "sshd": {"channel_timeout": "none"}},
                                 {"exempt_groups": ["ops"], "sshd": {"enabled": False}}])
def test_no_sshd_exemption_and_no_warning_where_sshd_closes_nothing(raw, defaults):
    resolved, errors, warnings = policy.resolve(raw, defaults, V100)
    assert errors == []
    assert not resolved["sshd"].get("exempt")
    assert not any("cannot exempt" in w for w in warnings)


def test_a_site_profile_resolves_to_canonical_values(defaults):
    raw = {"profile": "mine", "profiles": {"mine": {
        "timeout_max": "15m", "defaults": {"shell": {"tmout": "10m"},
                                           "sshd": {"channel_timeout": ["session:*=10m"]}},
        "scanner": {"accounts_tmout": {"tmout_max": "10m"}}}}}
    resolved, errors, _ = policy.resolve(raw, defaults, V92)
    assert errors == []
    mine = resolved["profiles"]["mine"]
    assert mine["timeout_max"] == 900 and mine["scanner"]["accounts_tmout"]["tmout_max"] == 600
    assert resolved["shell"]["tmout"] == 600
    assert resolved["sshd"]["channel_timeout"] == ["session:*=600"]


@pytest.mark.parametrize("name", ["cis", "stig", "none"])
def test_a_built_in_profile_cannot_be_redefined_from_pillar(name, defaults):
    raw = {"profile": name, "timeout": 3600, "profiles": {name: {"timeout_max": 99999}}}
    _, errors, _ = policy.resolve(raw, defaults, V92)
    assert errors and errors[0].startswith(f"idlelock:profiles: '{name}' is built in")


@pytest.mark.parametrize("text", NOT_ASCII_DIGITS + ["+600", " 600", "600\u3000", "", "6 00", None,
                                                     600])
def test_decimal_is_ascii_digits_only(text):
    """The one reading of a number in sshd -T output, getent fields and OVAL matches."""
    assert policy.decimal(text) is None
    assert policy.decimal("0600") == 600
    assert policy.decimal("9" * 9000) == 10 ** 9000 - 1  # more digits than int() takes
